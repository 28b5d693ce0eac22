"""Payload emitters and image patching: the trap sites resolve to the encodings the ISA
manuals give for the instructions the scenarios ask for."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.guests import emit_aarch64, emit_riscv64, emit_x86_64
from harness.guests.binutils import assemble_with_symbols
from harness.guests.payload import BuiltPayload, patch_image
from harness.images.build import Image, find_payload
from harness.scenarios.actions import Hypercall, MmioLoad, MmioStore, PortOut, SystemOff


def trap_words(arch: str, asm: str, labels: list[str]) -> list[bytes]:
    a = assemble_with_symbols(arch, asm, 0x8020_1000 if arch != "x86_64" else 0x3000)
    return [a.code[a.symbols[lb] - a.base: a.symbols[lb + "_end"] - a.base] for lb in labels]


def le32(word: int) -> bytes:
    return word.to_bytes(4, "little")


def test_aarch64_sites_are_the_manual_encodings() -> None:
    p = emit_aarch64.emit_payload((MmioStore(0x0800_0E00, 4, 1, reg=1),
                                   MmioLoad(0x0800_0E00, 2, reg=3, signed=True),
                                   Hypercall(1, (1, 2, 3, 4, 5, 6)), SystemOff("smc")))
    words = trap_words("aarch64", p.asm, [s.label for s in p.sites])
    # STR (immediate, unsigned offset), 32-bit: 0xB9000000 | Rn << 5 | Rt   (ARM ARM C6.2.x)
    assert words[0] == le32(0xB900_0000 | 9 << 5 | 1)
    # LDRSH (immediate, unsigned offset), 64-bit destination: 0x79800000 | Rn << 5 | Rt
    assert words[1] == le32(0x7980_0000 | 9 << 5 | 3)
    assert words[2] == le32(0xD400_0002)  # HVC #0
    assert words[3] == le32(0xD400_0003)  # SMC #0
    assert dict(p.sites[2].gprs)[6] == 6 and dict(p.sites[3].gprs)[0] == 0x8400_0008
    assert p.sites[0].gpa == 0x0800_0E00


def test_riscv64_sites_are_the_manual_encodings() -> None:
    p = emit_riscv64.emit_payload((MmioStore(0x0C00_1F00, 4, 5, reg=11),
                                   MmioStore(0x0C00_1F00, 4, 5, reg=9, form="compressed"),
                                   Hypercall(0x4AB1, (1, 2, 3, 4, 5, 6))))
    words = trap_words("riscv64", p.asm, [s.label for s in p.sites])
    # SW rs2, 0(rs1): imm=0 | rs2 << 20 | rs1 << 15 | 0b010 << 12 | 0b0100011
    assert words[0] == le32(11 << 20 | 31 << 15 | 2 << 12 | 0x23)
    # C.SW rs2', 0(rs1'): 110 | uimm | rs1' | uimm | rs2' | 00, x8 -> 0, x9 -> 1
    assert words[1] == (0b110 << 13 | 0 << 7 | 1 << 2).to_bytes(2, "little")
    assert words[2] == le32(0x0000_0073)  # ECALL
    regs = dict(p.sites[2].gprs)
    assert regs[17] == 0x485643 and regs[16] == 0x4AB1 and regs[15] == 6


def test_x86_16bit_sites_have_no_operand_size_prefix_for_word_port_io() -> None:
    p = emit_x86_64.emit_payload((PortOut(0x604, 2, 0x1234), Hypercall(1, (1, 2, 3, 4, 0, 0))),
                                 "svm")
    words = trap_words("x86_64", p.asm, [s.label for s in p.sites])
    assert words == [b"\xef", b"\x0f\x01\xd9"]  # OUT DX, AX (16-bit code); VMMCALL


def test_registers_the_runtime_owns_are_refused() -> None:
    with pytest.raises(UsageError, match="x19"):
        emit_aarch64.emit_payload((MmioStore(0x0800_0E00, 4, 1, reg=19),))
    with pytest.raises(UsageError, match=r"x8\.\.x15"):
        emit_riscv64.emit_payload((MmioStore(0x0C00_1F00, 4, 1, reg=20, form="compressed"),))
    with pytest.raises(UsageError, match="R8/R9"):
        emit_x86_64.emit_payload((Hypercall(1, (1, 2, 3, 4, 5, 6)),), "svm")


def _image(tmp_path: Path, data: bytes) -> Image:
    kernel = tmp_path / "axvisor.bin"
    kernel.write_bytes(data)
    off, cap = find_payload(kernel)
    return Image("t", "aarch64", "k", tmp_path, kernel, kernel, "v", "0.2.2", "p", off, cap, 0)


def test_patching_writes_the_payload_after_the_marker_and_nothing_else(tmp_path: Path) -> None:
    data = b"A" * 100 + b"AXH-PAYLOAD-AREA" + (64).to_bytes(8, "little") + b"\0" * 64 + b"Z" * 10
    image = _image(tmp_path, data)
    out = tmp_path / "patched.bin"
    patch_image(image, BuiltPayload("", b"\x01\x02\x03", ()), out)
    patched = out.read_bytes()
    assert patched[image.payload_offset: image.payload_offset + 3] == b"\x01\x02\x03"
    assert patched[: image.payload_offset] == data[: image.payload_offset]
    assert patched[image.payload_offset + 3:] == data[image.payload_offset + 3:]
    assert image.kernel.read_bytes() == data  # the cached image is never modified


def test_an_image_with_two_markers_is_refused(tmp_path: Path) -> None:
    marker = b"AXH-PAYLOAD-AREA" + (8).to_bytes(8, "little")
    (tmp_path / "k").write_bytes(marker + b"\0" * 8 + marker)
    with pytest.raises(Exception, match="exactly once"):
        find_payload(tmp_path / "k")


def test_x86_msr_accesses_load_ecx_and_edx_eax_and_trap_on_the_manual_encodings() -> None:
    from harness.scenarios.actions import SysRegRead, SysRegWrite

    p = emit_x86_64.emit_payload((SysRegWrite("efer", 0x1_0000_0500), SysRegRead("0x10")),
                                 "svm")
    words = trap_words("x86_64", p.asm, [s.label for s in p.sites])
    assert words == [b"\x0f\x30", b"\x0f\x32"]  # WRMSR, RDMSR
    assert dict(p.sites[0].gprs) == {1: 0xC000_0080, 0: 0x500, 2: 0x1}  # ECX, EAX, EDX
    assert dict(p.sites[1].gprs) == {1: 0x10}
    with pytest.raises(UsageError, match="unknown MSR 'fsbase'"):
        emit_x86_64.emit_payload((SysRegRead("fsbase"),), "svm")


def test_riscv64_csr_accesses_are_csrrs_and_csrrw_by_name() -> None:
    from harness.scenarios.actions import SysRegRead, SysRegWrite

    p = emit_riscv64.emit_payload((SysRegRead("hgatp", reg=10),
                                   SysRegWrite("hstatus", 7, reg=11)))
    words = trap_words("riscv64", p.asm, [s.label for s in p.sites])
    # CSRRS rd, csr, x0 = csr << 20 | 0 << 15 | 0b010 << 12 | rd << 7 | 0b1110011
    assert words[0] == le32(0x680 << 20 | 2 << 12 | 10 << 7 | 0x73)
    # CSRRW x0, csr, rs1 = csr << 20 | rs1 << 15 | 0b001 << 12 | 0 << 7 | 0b1110011
    assert words[1] == le32(0x600 << 20 | 11 << 15 | 1 << 12 | 0x73)


def test_patching_replaces_a_destination_that_is_a_hard_link_instead_of_writing_through_it(
        tmp_path: Path) -> None:
    data = b"A" * 100 + b"AXH-PAYLOAD-AREA" + (64).to_bytes(8, "little") + b"\0" * 64
    image = _image(tmp_path, data)
    other = tmp_path / "other.bin"
    other.write_bytes(b"keep me")
    out = tmp_path / "patched.bin"
    out.hardlink_to(other)
    sha = patch_image(image, BuiltPayload("", b"\x07", ()), out)
    assert other.read_bytes() == b"keep me"
    assert out.read_bytes()[image.payload_offset] == 7
    assert sha == hashlib.sha256(out.read_bytes()).hexdigest()
