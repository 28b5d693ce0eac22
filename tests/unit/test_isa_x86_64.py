"""x86-64 decoder: encodings from GNU as (AT&T syntax), expectations from SDM vol. 2."""

from __future__ import annotations

import pytest

from harness.model.isa import x86_64 as isa
from harness.model.isa.asm import assemble, missing_tools
from harness.model.values import AccessWidth, ModelError

_MISSING = missing_tools("x86_64")
needs_as = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

B, W, D = AccessWidth.Byte, AccessWidth.Word, AccessWidth.Dword

# (source, is_in, width, imm8 port or None for DX, string)
PORT_IO = [
    ("inb $0x60, %al", True, B, 0x60, False),
    ("inw $0x60, %ax", True, W, 0x60, False),
    ("inl $0xff, %eax", True, D, 0xFF, False),
    ("inb (%dx), %al", True, B, None, False),
    ("inw (%dx), %ax", True, W, None, False),
    ("inl (%dx), %eax", True, D, None, False),
    ("outb %al, $0x80", False, B, 0x80, False),
    ("outw %ax, $0x80", False, W, 0x80, False),
    ("outl %eax, $0x0", False, D, 0x00, False),
    ("outb %al, (%dx)", False, B, None, False),
    ("outw %ax, (%dx)", False, W, None, False),
    ("outl %eax, (%dx)", False, D, None, False),
    ("insb", True, B, None, True),
    ("outsw", False, W, None, True),
    ("outsl", False, D, None, True),
]


@needs_as
@pytest.mark.parametrize(("src", "is_in", "width", "port", "string"), PORT_IO)
def test_port_io_forms_decode(
    src: str, is_in: bool, width: AccessWidth, port: int | None, string: bool
) -> None:
    code = assemble("x86_64", src)
    got = isa.decode(code)
    assert got == isa.PortIo(len(code), is_in, width, port, string, False)


@needs_as
def test_rep_prefix_is_recorded_on_string_io() -> None:
    code = assemble("x86_64", "rep outsb")
    assert isa.decode(code) == isa.PortIo(len(code), False, B, None, True, True)


@needs_as
def test_rex_prefix_does_not_widen_port_io() -> None:
    # REX.W with OUT: SDM says operand size stays 32 in 64-bit mode.
    code = b"\x48" + assemble("x86_64", "outl %eax, (%dx)")
    assert isa.decode(code) == isa.PortIo(2, False, D, None, False, False)


@needs_as
@pytest.mark.parametrize(("src", "op"), [("rdmsr", isa.Simple.RDMSR), ("wrmsr", isa.Simple.WRMSR),
                                         ("vmcall", isa.Simple.VMCALL),
                                         ("vmmcall", isa.Simple.VMMCALL),
                                         ("hlt", isa.Simple.HLT)])  # fmt: skip
def test_operandless_instructions_decode_with_their_length(src: str, op: isa.Simple) -> None:
    code = assemble("x86_64", src)
    assert isa.decode(code) == isa.Plain(len(code), op)


@needs_as
def test_trailing_bytes_after_the_instruction_are_ignored() -> None:
    code = assemble("x86_64", "outb %al, $0x80\nnop\nnop")
    got = isa.decode(code)
    assert isinstance(got, isa.PortIo) and got.length == 2


@needs_as
@pytest.mark.parametrize("src", ["nop", "movl $1, %eax", "cpuid", "lock addl $1, (%rax)"])
def test_other_instructions_are_refused(src: str) -> None:
    with pytest.raises(ModelError):
        isa.decode(assemble("x86_64", src))


def test_truncated_imm8_port_is_refused() -> None:
    with pytest.raises(ModelError, match="truncated"):
        isa.decode(b"\xe6")


# In a 16-bit code segment the unprefixed E5/E7/ED/EF forms move AX and 66h selects EAX
# (SDM vol. 1 §3.6); GNU as emits exactly that under .code16.
@needs_as
@pytest.mark.parametrize(("src", "width"), [("outb %al, (%dx)", B), ("outw %ax, (%dx)", W),
                                            ("outl %eax, (%dx)", D), ("inw $0x60, %ax", W),
                                            ("inl $0x60, %eax", D)])  # fmt: skip
def test_real_mode_operand_sizes(src: str, width: AccessWidth) -> None:
    code = assemble("x86_64", ".code16\n" + src)
    got = isa.decode(code, code_bits=16)
    assert isinstance(got, isa.PortIo)
    assert (got.width, got.length) == (width, len(code))


@needs_as
def test_same_bytes_decode_to_different_widths_by_code_size() -> None:
    code = assemble("x86_64", ".code16\noutw %ax, (%dx)")
    assert code == b"\xef"
    assert isa.decode(code, 16).width is W  # type: ignore[union-attr]
    assert isa.decode(code, 32).width is D  # type: ignore[union-attr]


def test_rex_bytes_are_not_prefixes_outside_64_bit_code() -> None:
    # 0x48 is DEC EAX in 32-bit code, so 48 EF is two instructions, the first not modelled.
    with pytest.raises(ModelError):
        isa.decode(b"\x48\xef", 32)


def test_unknown_code_size_is_rejected() -> None:
    with pytest.raises(ModelError, match="code size"):
        isa.decode(b"\xf4", 8)


@needs_as
@pytest.mark.parametrize(("src", "length", "is_write", "width"), [
    ("movb %al, (%bx)", 2, True, B),
    ("movw %ax, (%bx)", 2, True, W),
    ("movl %eax, (%bx)", 3, True, D),  # 66h: 32-bit operand in 16-bit code
    ("movb (%bx), %al", 2, False, B),
    ("movl 0x10(%bx), %eax", 4, False, D),  # disp8
    ("movw 0x1234(%bp,%si), %cx", 4, False, W),  # disp16
    ("movb %dl, 0x2000", 4, True, B),  # mod 00 rm 110: direct disp16
])  # fmt: skip
def test_real_mode_movs_to_and_from_memory_decode_with_their_length(
        src: str, length: int, is_write: bool, width: AccessWidth) -> None:
    insn = assemble("x86_64", ".code16\n" + src)
    assert len(insn) == length
    assert isa.decode(insn + b"\x90", 16) == isa.MemMove(length, is_write, width)


@needs_as
@pytest.mark.parametrize("src", [".code16\nmovw %ax, %bx", ".code64\nmovl %eax, (%rbx)"])
def test_register_moves_and_wide_addressing_are_refused(src: str) -> None:
    with pytest.raises(ModelError):
        isa.decode(assemble("x86_64", src), 16 if ".code16" in src else 64)
