"""The Rust toolchain used to build axvisor, detected once and recorded in every manifest.

Preferred: Debian's rustc-web (a complete toolchain with std sources) driven with
RUSTC_BOOTSTRAP=1 and -Zbuild-std, because rustup here has no rust-src and cannot fetch one
(../shared/FACTS.md §3). A user can point AXHARNESS_RUSTC / AXHARNESS_CARGO at another
toolchain (e.g. the nightly upstream pins); it must have rust-src.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InfraError


@dataclass(frozen=True, slots=True)
class Toolchain:
    rustc: Path
    cargo: Path
    rustc_version: str  # first line of `rustc -vV`
    cargo_version: str
    llvm_version: str
    kind: str  # "debian-rustc-web" or "custom"
    objcopy: Path

    def env(self) -> dict[str, str]:
        """Environment for cargo: the chosen rustc, and nightly features on a stable build."""
        return {"RUSTC": str(self.rustc), "RUSTC_BOOTSTRAP": "1"}

    def describe(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "rustc": str(self.rustc),
            "rustc_version": self.rustc_version,
            "cargo_version": self.cargo_version,
            "llvm_version": self.llvm_version,
        }


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise InfraError(f"cannot run {' '.join(cmd)}: {exc}") from exc
    return out.stdout


def detect() -> Toolchain:
    rustc = Path(os.environ.get("AXHARNESS_RUSTC", "/usr/bin/rustc"))
    cargo = Path(os.environ.get("AXHARNESS_CARGO", "/usr/bin/cargo"))
    kind = "custom" if "AXHARNESS_RUSTC" in os.environ else "debian-rustc-web"
    missing = [str(p) for p in (rustc, cargo) if not p.is_file()]
    if missing:
        raise InfraError(
            f"Rust toolchain not found ({', '.join(missing)}); run ci/install-host-deps.sh as "
            "root (installs Debian's rustc-web cargo-web rust-web-src lld-22) or set "
            "AXHARNESS_RUSTC/AXHARNESS_CARGO"
        )
    vv = _version([str(rustc), "-vV"])
    sysroot = _version([str(rustc), "--print", "sysroot"]).strip()
    src = Path(sysroot) / "lib/rustlib/src/rust/library/core/Cargo.toml"
    if not src.is_file():
        raise InfraError(
            f"{rustc} has no std sources ({src} missing): build-std needs them; install "
            "rust-web-src (Debian) or a toolchain with rust-src"
        )
    llvm = next((ln.split(":", 1)[1].strip() for ln in vv.splitlines()
                 if ln.startswith("LLVM version")), "unknown")
    objcopy = shutil.which("llvm-objcopy-22") or shutil.which("llvm-objcopy") or \
        shutil.which("rust-objcopy")
    if objcopy is None:
        raise InfraError("no llvm-objcopy found (install rust-web-llvm or llvm)")
    return Toolchain(
        rustc=rustc,
        cargo=cargo,
        rustc_version=vv.splitlines()[0],
        cargo_version=_version([str(cargo), "--version"]).strip(),
        llvm_version=llvm,
        kind=kind,
        objcopy=Path(objcopy),
    )


# Debian packages with the libclang that bindgen loads (clang-sys) and clang's own headers.
LIBCLANG_PACKAGES = "libclang1-22 libclang-common-22-dev"


@dataclass(frozen=True, slots=True)
class LibClang:
    """The libclang a build script's bindgen loads: LIBCLANG_PATH and the version it had."""

    dir: Path
    version: str  # the major version of the LLVM directory or library it was found in


def _llvm_major(path: Path) -> int:
    m = re.search(r"llvm-(\d+)", str(path))
    return int(m.group(1)) if m else 0


def find_libclang() -> LibClang:
    """$LIBCLANG_PATH if set, else the newest /usr/lib/llvm-N/lib with a libclang and clang's
    resource headers (stddef.h, which bindgen needs to parse C headers)."""
    env = os.environ.get("LIBCLANG_PATH")
    dirs = [Path(env)] if env else sorted(Path("/usr/lib").glob("llvm-*/lib"), key=_llvm_major,
                                          reverse=True)
    for d in dirs:
        libs = [p for p in d.glob("libclang*.so*") if not p.name.startswith("libclang-cpp")]
        headers = list(d.glob("clang/*/include/stddef.h"))
        if libs and headers:
            return LibClang(dir=d, version=str(_llvm_major(d) or sorted(libs)[0].name))
    where = f"LIBCLANG_PATH={env}" if env else "/usr/lib/llvm-*/lib"
    raise InfraError(
        f"no libclang with clang's headers in {where}; bindgen (ax-posix-api's build script) "
        f"needs it: run ci/install-host-deps.sh as root, or install {LIBCLANG_PACKAGES}"
    )
