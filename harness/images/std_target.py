"""A std build for a custom target: the JSON target spec and the empty system libraries.

axvisor ≥ 0.6 is a `std` program for ArceOS: it is built for a `<arch>-unknown-linux-musl`
*custom* target (so std's unix/musl code is compiled) whose libc is ArceOS itself
(ax-posix-api, ax-std's libc_compat), with `-Zbuild-std=std,panic_abort`. Upstream's xtask
ships the target JSON files in its monorepo; here a recipe derives the spec from one of rustc's
own bare-metal targets (`rustc --print target-spec-json`, so the data layout always matches the
LLVM of the rustc in use) and sets or removes the keys it names. The C libraries std asks the
linker for (`-lc`, `-lunwind`, …) are provided by ArceOS crates in the same link, so each is
satisfied by an empty archive in a directory passed with `-L`.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import InfraError

# An ar archive with no members: the global header alone (what `ar crs` writes for none).
EMPTY_ARCHIVE = b"!<arch>\n"


@dataclass(frozen=True, slots=True)
class StdSpec:
    """The [std] table of a recipe."""

    base: str  # rustc's built-in target the spec starts from
    overrides: tuple[tuple[str, Any], ...]  # top-level spec keys set (JSON values)
    remove: tuple[str, ...]  # top-level spec keys dropped
    empty_libs: tuple[str, ...]  # -l<name> satisfied by an empty archive

    def canonical(self) -> dict[str, Any]:
        return {"base": self.base, "spec": dict(self.overrides), "remove": list(self.remove),
                "empty_libs": list(self.empty_libs)}


def builtin_spec(rustc: Path, target: str) -> dict[str, Any]:
    """rustc's own spec of a built-in target, as JSON."""
    env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    try:
        out = subprocess.run([str(rustc), "-Z", "unstable-options", "--print",
                              "target-spec-json", "--target", target], capture_output=True,
                             text=True, check=True, env=env, timeout=60).stdout
        spec: dict[str, Any] = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        raise InfraError(f"{rustc} cannot print the spec of target {target}: {detail}") from None
    return spec


def derive_spec(base: dict[str, Any], std: StdSpec) -> dict[str, Any]:
    """`base` with the recipe's keys removed and set; `metadata.std` says std is built."""
    missing = [k for k in std.remove if k not in base]
    if missing:
        raise InfraError(f"target {std.base} has no spec key(s) {', '.join(missing)} to remove")
    spec = {k: v for k, v in base.items() if k not in std.remove}
    spec.update(dict(std.overrides))
    metadata = dict(spec.get("metadata") or {})
    metadata["std"] = True
    spec["metadata"] = metadata
    return spec


def prepare(rustc: Path, std: StdSpec, target: str, into: Path) -> tuple[Path, Path]:
    """Write `<into>/<target>.json` and the empty archives; (spec path, library dir)."""
    into.mkdir(parents=True, exist_ok=True)
    spec_path = into / f"{target}.json"
    text = json.dumps(derive_spec(builtin_spec(rustc, std.base), std), indent=2,
                      sort_keys=True) + "\n"
    if not spec_path.is_file() or spec_path.read_text() != text:
        spec_path.write_text(text)  # rewritten only on change: cargo fingerprints its mtime
    libs = into / "empty-libs"
    libs.mkdir(exist_ok=True)
    for name in std.empty_libs:
        archive = libs / f"lib{name}.a"
        if not archive.is_file() or archive.read_bytes() != EMPTY_ARCHIVE:
            archive.write_bytes(EMPTY_ARCHIVE)
    return spec_path, libs


def cargo_args(spec_path: Path) -> list[str]:
    """What a std build adds to `cargo build`: the JSON target and the std crates to build."""
    return ["--target", str(spec_path), "-Zjson-target-spec", "-Zbuild-std=std,panic_abort",
            "--config", "profile.release.lto=false",
            "--config", 'profile.release.panic="abort"']
