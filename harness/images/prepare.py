"""The steps between an unpacked axvisor crate and `cargo build`, and the checks after it:
patched dependency trees, the cargo command line and environment (core+alloc or a std build
for a custom target), and what the resolved lock and the binary must say about exits."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.digest import sha256_file
from harness.errors import InfraError
from harness.images import std_target
from harness.images.crates_io import fetch_crate, lock_checksum, unpack_crate
from harness.images.recipe import CratePatch, ImageRecipe
from harness.images.toolchain import Toolchain, find_libclang

# What the instrumentation patch writes before each exit record ("sync" exit log).
SYNC_EXIT_TAG = b"AXH-EXIT vm="


def patch_lines(recipe: ImageRecipe, lock: Path, cache: Path,
                apply: Callable[[Path, Path], None]) -> list[str]:
    """`[patch.crates-io]` lines for the recipe's patched crates, each crate unpacked once with
    all its patches applied in recipe order. The trees are shared by every recipe that applies
    the same patches, so their dependents keep one build in the shared target directory."""
    groups: dict[tuple[str, str], list[CratePatch]] = {}
    for p in recipe.crate_patches:
        groups.setdefault((p.crate, p.version), []).append(p)
    lines = []
    for (crate, version), patches in groups.items():
        dep = fetch_crate(crate, version, lock_checksum(lock, crate, version),
                          cache / "downloads")
        digests = [sha256_file(p.patch) for p in patches]
        # One patch keeps the directory name it always had (existing target dirs stay warm).
        tag = digests[0] if len(digests) == 1 else \
            hashlib.sha256("\n".join(digests).encode()).hexdigest()
        shared = cache / "patched" / f"{crate}-{version}-{tag[:12]}"
        dep_tree = shared / f"{crate}-{version}"
        if not (shared / ".applied").is_file():
            shutil.rmtree(shared, ignore_errors=True)
            unpack_crate(dep, shared)
            for p in patches:
                apply(p.patch, dep_tree)
            (shared / ".applied").write_text("".join(f"{p.patch}\n" for p in patches))
        lines.append(f'{crate} = {{ path = "{dep_tree}" }}')
    return lines


@dataclass(frozen=True, slots=True)
class CargoBuild:
    """One `cargo build` of axvisor: its arguments, extra environment and the ELF it makes."""

    argv: list[str]
    env: dict[str, str]
    elf: Path


def cargo_build(recipe: ImageRecipe, tc: Toolchain, target_dir: Path,
                work: Path) -> CargoBuild:
    """The cargo invocation for `recipe`. A std recipe gets its derived target spec and empty
    libraries under `work` (kept between builds, rewritten only when they change)."""
    features = [*recipe.features, f"log/release_max_level_{recipe.log_level}"]
    rustflags = list(recipe.rustflags)
    env: dict[str, str] = {}
    if recipe.std is None:
        target_args = ["--target", recipe.target, "-Zbuild-std=core,alloc"]
    else:
        spec, libs = std_target.prepare(tc.rustc, recipe.std, recipe.target,
                                        work / "std" / recipe.target)
        target_args = std_target.cargo_args(spec)
        rustflags.append(f"-Lnative={libs}")
    if recipe.libclang:
        env["LIBCLANG_PATH"] = str(find_libclang().dir)
    env["RUSTFLAGS"] = " ".join(rustflags)
    argv = [str(tc.cargo), "build", "--release", *target_args, "--bin", "axvisor",
            "--features", ",".join(features), "--target-dir", str(target_dir)]
    return CargoBuild(argv=argv, env=env,
                      elf=target_dir / recipe.target / "release" / "axvisor")


def check_exit_crate(recipe: ImageRecipe, versions: dict[str, list[str]]) -> None:
    """The resolved lock must hold exactly the crate version the exit schema is pinned to."""
    crate, version = recipe.exit_crate
    found = versions.get(crate, [])
    if found != [version]:
        have = ", ".join(found) or "none"
        raise InfraError(
            f"{recipe.path}: the build resolved {crate} {have}, the recipe's schema "
            f"{recipe.schema} is pinned to {crate} {version}; fix the recipe so the model "
            f"uses the right schema"
        )


def check_exit_log(recipe: ImageRecipe, elf: Path) -> None:
    """A "sync" image must contain the instrumentation's record tag, any other must not (the
    recipe's exit_log and its patches disagree otherwise)."""
    has_tag = SYNC_EXIT_TAG in elf.read_bytes()
    if has_tag != (recipe.exit_log == "sync"):
        raise InfraError(
            f"{recipe.path}: exit_log is {recipe.exit_log!r} but the built axvisor "
            f"{'contains' if has_tag else 'lacks'} the {SYNC_EXIT_TAG.decode()!r} record "
            f"writer; add or drop the instrumentation patch"
        )
