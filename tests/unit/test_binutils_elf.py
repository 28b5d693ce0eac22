"""The flat binary and symbols read from the linked ELF in Python are exactly what objcopy -O
binary and nm give (the two processes they replace), for every scenario's payload and every
guest runtime of the three architectures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.guests.binutils import binutils_for, flat_binary_commands, flat_image
from harness.guests.payload import EMITTERS
from harness.paths import repo_root
from harness.scenarios.registry import scenarios_for

BASES = {"aarch64": 0x8020_1000, "riscv64": 0x8020_1000, "x86_64": 0x3000}
BACKEND = {"x86_64": "svm"}


def _reference(arch: str, src: Path, tmp: Path, base: int) -> tuple[bytes, bytes, dict[str, int]]:
    """(ELF, objcopy's flat binary, nm's symbols) of `src` linked at `base`."""
    bu = binutils_for(arch)
    obj, elf, binf = tmp / "g.o", tmp / "g.elf", tmp / "g.bin"
    for cmd in flat_binary_commands(arch, (bu.as_, bu.ld, bu.objcopy), str(src), str(obj),
                                    str(elf), str(binf), hex(base)):
        subprocess.run(cmd, check=True, capture_output=True)
    out = subprocess.run([bu.nm, str(elf)], capture_output=True, text=True, check=True).stdout
    symbols = {p[2]: int(p[0], 16) for p in (ln.split() for ln in out.splitlines())
               if len(p) == 3}
    return elf.read_bytes(), binf.read_bytes(), symbols


def _sources(arch: str, tmp: Path) -> list[Path]:
    runtimes = sorted((repo_root() / "guest-src" / arch).glob("runtime*.S"))
    out = list(runtimes)
    for i, sc in enumerate(scenarios_for(arch)):
        src = tmp / f"s{i}.S"
        src.write_text(EMITTERS[arch](sc.actions, BACKEND.get(arch, "")).asm)
        out.append(src)
    return out


@pytest.mark.parametrize("arch", sorted(BASES))
def test_flat_image_is_what_objcopy_and_nm_give_for_every_payload_and_runtime(
        arch: str, tmp_path: Path) -> None:
    sources = _sources(arch, tmp_path)
    assert len(sources) > 3
    for src in sources:
        elf, flat, symbols = _reference(arch, src, tmp_path, BASES[arch])
        code, mine = flat_image(elf, BASES[arch])
        assert code == flat, src.name
        assert mine == symbols, src.name


def test_an_elf_linked_elsewhere_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "g.S"
    src.write_text(".globl _start\n_start: nop\n")
    elf, _, _ = _reference("aarch64", src, tmp_path, 0x8020_1000)
    with pytest.raises(ValueError, match="linked for 0x80202000"):
        flat_image(elf, 0x8020_2000)
    with pytest.raises(ValueError, match="ELF64"):
        flat_image(b"\x7fELF\x01\x01" + elf[6:], 0x8020_1000)
