"""Assembling guest code with Debian's cross binutils (deterministic, no compiler needed)."""

from __future__ import annotations

import shutil
import struct
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


def assembler_flags(arch: str) -> tuple[str, ...]:
    """The flags `as` gets for `arch` (part of what an assembled payload depends on)."""
    return tuple(_AS_FLAGS[arch])


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
    """Assemble and link at `base`; return the flat binary and the symbol table. Two
    processes (as, ld): the flat binary and the symbols are read from the linked ELF here,
    as objcopy -O binary and nm would give them (tests/unit/test_binutils_elf.py compares)."""
    bu = binutils_for(arch)
    with tempfile.TemporaryDirectory(prefix="axh-as-") as tmp:
        t = Path(tmp)
        if isinstance(source, Path):
            src = source
        else:
            src = t / f"{name}.S"
            src.write_text(source)
        obj, elf, binf = t / "g.o", t / "g.elf", t / "g.bin"
        assemble_cmd, link_cmd, _objcopy = flat_binary_commands(
            arch, (bu.as_, bu.ld, bu.objcopy), str(src), str(obj), str(elf), str(binf),
            f"0x{base:x}")
        res = subprocess.run(assemble_cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise UsageError(f"assembling {src if isinstance(source, Path) else name} for "
                             f"{arch} failed:\n{res.stderr.strip()}")
        res = subprocess.run(link_cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise InfraError(f"{link_cmd[0]} failed for {name}: {res.stderr.strip()}")
        try:
            code, symbols = flat_image(elf.read_bytes(), base)
        except ValueError as exc:
            raise InfraError(f"{link_cmd[0]} wrote an ELF this harness cannot read for "
                             f"{name}: {exc}") from None
        return Assembled(code, base, symbols)


_SHT_SYMTAB, _SHT_NOBITS, _SHF_ALLOC = 2, 8, 0x2
_STT_SECTION, _STT_FILE = 3, 4


def flat_image(elf: bytes, base: int) -> tuple[bytes, dict[str, int]]:
    """What `objcopy -O binary` and `nm` give for a little-endian ELF64 executable linked at
    `base`: the allocated sections with contents, laid out by address from `base` with zeros
    in the gaps, and every named symbol that is not a section, file or mapping symbol."""
    if elf[:6] != b"\x7fELF\x02\x01":
        raise ValueError("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", elf, 0x36)
    for i in range(phnum):  # objcopy places sections by load address: it must be the link one
        p_type, _, _, vaddr, paddr = struct.unpack_from("<IIQQQ", elf, phoff + i * phentsize)
        if p_type == 1 and vaddr != paddr:
            raise ValueError(f"segment {i} loads at 0x{paddr:x}, not its address 0x{vaddr:x}")
    sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize)
                for i in range(shnum)]
    loaded = [(addr, off, size) for _, typ, flags, addr, off, size, *_ in sections
              if flags & _SHF_ALLOC and typ != _SHT_NOBITS and size]
    code = bytearray()
    if loaded:
        start = min(a for a, _, _ in loaded)
        if start != base:
            raise ValueError(f"first section at 0x{start:x}, linked for 0x{base:x}")
        code = bytearray(max(a + n for a, _, n in loaded) - start)
        for addr, off, size in loaded:
            code[addr - start: addr - start + size] = elf[off: off + size]
    symbols: dict[str, int] = {}
    for _, typ, _, _, off, size, link, _, _, entsize in sections:
        if typ != _SHT_SYMTAB:
            continue
        stroff = sections[link][4]
        for o in range(off + entsize, off + size, entsize):  # entry 0 is the null symbol
            st_name, st_info, _, st_shndx, st_value = struct.unpack_from("<IBBHQ", elf, o)
            end = elf.index(b"\0", stroff + st_name)
            sym = elf[stroff + st_name: end].decode()
            if not sym or sym.startswith("$") or st_shndx == 0 \
                    or st_info & 0xF in (_STT_SECTION, _STT_FILE):
                continue
            symbols[sym] = st_value
    return bytes(code), symbols
