"""x86-64 decoder for the instructions that cause VM exits the contract describes.

IN/OUT/INS/OUTS (SDM vol. 2B "IN", "OUT"), RDMSR/WRMSR, VMCALL (0F 01 C1, Intel) and
VMMCALL (0F 01 D9, AMD), HLT, and MOV between a register and memory (88/89/8A/8B, SDM vol.
2B "MOV") with 16-bit addressing, the accesses a real-mode guest makes to guest-physical
memory.  The operand size of IN/OUT follows the code segment (SDM
vol. 1 §3.6 "Operand-size and address-size attributes"): 32 bits in 32- and 64-bit code, 16
in real mode and 16-bit code, and a 66h prefix toggles between the two; REX (64-bit mode only)
never widens port I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias

from harness.model.values import AccessWidth, ModelError

_LEGACY_PREFIXES = frozenset({0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65})


@dataclass(frozen=True, slots=True)
class PortIo:
    """IN/OUT (or INS/OUTS when `string`); `port` is None for the DX forms."""

    length: int
    is_in: bool
    width: AccessWidth
    port: int | None
    string: bool
    rep: bool


class Simple(enum.Enum):
    """Operand-less instructions."""

    RDMSR = "rdmsr"
    WRMSR = "wrmsr"
    VMCALL = "vmcall"
    VMMCALL = "vmmcall"
    HLT = "hlt"


@dataclass(frozen=True, slots=True)
class Plain:
    """One of the `Simple` instructions, with its encoded length (prefixes included)."""

    length: int
    op: Simple


@dataclass(frozen=True, slots=True)
class MemMove:
    """MOV r/m, reg (a store) or MOV reg, r/m (a load) with a memory operand."""

    length: int
    is_write: bool
    width: AccessWidth


@dataclass(frozen=True, slots=True)
class FarJump:
    """JMP ptr16:16 / ptr16:32 (EA): the fetch at the target is the access under test."""

    length: int
    selector: int
    offset: int


X86Insn: TypeAlias = PortIo | Plain | MemMove | FarJump


def _modrm16_length(modrm: int) -> int:
    """Bytes after the opcode taken by a ModRM byte and its displacement under 16-bit
    addressing (SDM vol. 2A table 2-1); a register operand (mod = 3) is not memory."""
    mod, rm = modrm >> 6, modrm & 7
    if mod == 3:
        raise ModelError("MOV between registers does not touch memory")
    if mod == 0:
        return 3 if rm == 6 else 1
    return 2 if mod == 1 else 3


def decode(insn: bytes, code_bits: int = 64) -> X86Insn:
    """Decode the first instruction in `insn` as code of a `code_bits` (16, 32, 64) segment;
    trailing bytes are ignored."""
    if code_bits not in (16, 32, 64):
        raise ModelError(f"x86 code size {code_bits!r}: expected 16, 32 or 64")
    i = 0
    opsize16 = rep = addr16 = False
    while i < len(insn) and insn[i] in _LEGACY_PREFIXES:
        if insn[i] == 0x66:
            opsize16 = True
        elif insn[i] == 0x67:
            addr16 = True
        elif insn[i] in (0xF2, 0xF3):
            rep = True
        elif insn[i] == 0xF0:
            raise ModelError(f"x86 {insn.hex(' ')}: LOCK prefix (#UD on these instructions)")
        i += 1
    if code_bits == 64 and i < len(insn) and 0x40 <= insn[i] <= 0x4F:
        i += 1  # REX: no effect on the operand size of port I/O, RDMSR/WRMSR, VMCALL, HLT
    if i >= len(insn):
        raise ModelError(f"x86 {insn.hex(' ')}: no opcode after prefixes")
    if i >= 15:
        raise ModelError(f"x86 {insn.hex(' ')}: longer than 15 bytes")
    op = insn[i]
    full = AccessWidth.Word if opsize16 != (code_bits == 16) else AccessWidth.Dword

    def need(n: int) -> None:
        if len(insn) < i + n:
            raise ModelError(f"x86 {insn.hex(' ')}: truncated instruction")

    if op in (0xE4, 0xE5, 0xE6, 0xE7):  # IN/OUT with imm8 port
        need(2)
        width = AccessWidth.Byte if op & 1 == 0 else full
        return PortIo(i + 2, op < 0xE6, width, insn[i + 1], False, rep)
    if op in (0xEC, 0xED, 0xEE, 0xEF):  # IN/OUT with DX port
        width = AccessWidth.Byte if op & 1 == 0 else full
        return PortIo(i + 1, op < 0xEE, width, None, False, rep)
    if op in (0x6C, 0x6D, 0x6E, 0x6F):  # INS/OUTS
        width = AccessWidth.Byte if op & 1 == 0 else full
        return PortIo(i + 1, op < 0x6E, width, None, True, rep)
    if op == 0xF4:
        return Plain(i + 1, Simple.HLT)
    if op == 0xEA:  # JMP ptr16:16 (ptr16:32 with a 32-bit operand); #UD in 64-bit mode
        if code_bits == 64:
            raise ModelError(f"x86 {insn.hex(' ')}: far JMP ptr is invalid in 64-bit mode")
        size = 2 if full is AccessWidth.Word else 4
        need(1 + size + 2)
        off = int.from_bytes(insn[i + 1: i + 1 + size], "little")
        sel = int.from_bytes(insn[i + 1 + size: i + 3 + size], "little")
        return FarJump(i + 3 + size, sel, off)
    if op in (0x88, 0x89, 0x8A, 0x8B):  # MOV r/m <-> reg
        if addr16 == (code_bits == 16):  # 32/64-bit addressing (SIB forms) is not modelled
            raise ModelError(f"x86 {insn.hex(' ')}: MOV with 32/64-bit addressing not modelled")
        need(2)
        width = AccessWidth.Byte if op & 1 == 0 else full
        return MemMove(i + 1 + _modrm16_length(insn[i + 1]), op < 0x8A, width)
    if op == 0x0F:
        need(2)
        if insn[i + 1] == 0x32:
            return Plain(i + 2, Simple.RDMSR)
        if insn[i + 1] == 0x30:
            return Plain(i + 2, Simple.WRMSR)
        if insn[i + 1] == 0x01:
            need(3)
            if insn[i + 2] == 0xC1:
                return Plain(i + 3, Simple.VMCALL)
            if insn[i + 2] == 0xD9:
                return Plain(i + 3, Simple.VMMCALL)
    raise ModelError(f"x86 {insn.hex(' ')}: not an instruction the model knows how to trap")
