"""Assembling guest code with Debian's cross binutils (deterministic, no compiler needed)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InfraError, UsageError

_PREFIX = {
    "aarch64": "aarch64-linux-gnu-",
    "riscv64": "riscv64-linux-gnu-",
    "x86_64": "x86_64-linux-gnu-",
}
_AS_FLAGS = {
    "aarch64": [],
    "riscv64": ["-march=rv64gc_zicsr_zifencei", "-mabi=lp64d"],
    "x86_64": ["--64"],
}


@dataclass(frozen=True, slots=True)
class Binutils:
    arch: str
    as_: str
    ld: str
    objcopy: str
    nm: str

    def version(self) -> str:
        out = subprocess.run([self.as_, "--version"], capture_output=True, text=True, check=False)
        return out.stdout.splitlines()[0] if out.stdout else "unknown"


def binutils_for(arch: str) -> Binutils:
    prefix = _PREFIX[arch]
    tools = [shutil.which(prefix + t) for t in ("as", "ld", "objcopy", "nm")]
    if not all(tools):
        pkg = "binutils-" + prefix.rstrip("-").replace("_", "-")
        raise InfraError(f"{prefix}as/ld/objcopy/nm not found: install Debian's {pkg} "
                         "(ci/install-host-deps.sh does)")
    as_, ld, objcopy, nm = (str(t) for t in tools)
    return Binutils(arch, as_, ld, objcopy, nm)


def flat_binary_commands(arch: str, tools: tuple[str, str, str], src: str, obj: str,
                         elf: str, binf: str, base: str) -> tuple[list[str], ...]:
    """The as / ld / objcopy command lines that turn `src` into a flat binary linked at
    `base` (a number or a shell word): one definition for the harness and for the standalone
    scripts `axharness repro --script` writes."""
    as_, ld, objcopy = tools
    return (
        [as_, *_AS_FLAGS[arch], "-o", obj, src],
        [ld, "-nostdlib", "--no-warn-rwx-segments", f"-Ttext={base}", "-e", "_start",
         "-o", elf, obj],
        [objcopy, "-O", "binary", elf, binf],
    )


def tool_names(arch: str) -> tuple[str, str, str]:
    """as, ld and objcopy by their Debian names (for scripts run elsewhere)."""
    prefix = _PREFIX[arch]
    return prefix + "as", prefix + "ld", prefix + "objcopy"


@dataclass(frozen=True, slots=True)
class Assembled:
    code: bytes  # flat binary, first byte at `base`
    base: int
    symbols: dict[str, int]  # every symbol of the object, by absolute address

    def word_at(self, symbol: str, size: int) -> bytes:
        off = self.symbols[symbol] - self.base
        return self.code[off: off + size]


def assemble(arch: str, source: str | Path, base: int, *, name: str = "guest") -> bytes:
    """Assemble one source (text or file) linked at `base`; return the flat binary."""
    return assemble_with_symbols(arch, source, base, name=name).code


def assemble_with_symbols(arch: str, source: str | Path, base: int, *,
                          name: str = "guest") -> Assembled:
    """Assemble and link at `base`; return the flat binary and the symbol table."""
    bu = binutils_for(arch)
    with tempfile.TemporaryDirectory(prefix="axh-as-") as tmp:
        t = Path(tmp)
        if isinstance(source, Path):
            src = source
        else:
            src = t / f"{name}.S"
            src.write_text(source)
        obj, elf, binf = t / "g.o", t / "g.elf", t / "g.bin"
        assemble_cmd, *link_cmds = flat_binary_commands(
            arch, (bu.as_, bu.ld, bu.objcopy), str(src), str(obj), str(elf), str(binf),
            f"0x{base:x}")
        res = subprocess.run(assemble_cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise UsageError(f"assembling {src if isinstance(source, Path) else name} for "
                             f"{arch} failed:\n{res.stderr.strip()}")
        for cmd in link_cmds:
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if res.returncode != 0:
                raise InfraError(f"{cmd[0]} failed for {name}: {res.stderr.strip()}")
        res = subprocess.run([bu.nm, str(elf)], capture_output=True, text=True, check=False)
        symbols = {}
        for line in res.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3:
                symbols[parts[2]] = int(parts[0], 16)
        return Assembled(binf.read_bytes(), base, symbols)
