"""RV64 decoder for the instructions that trap to an H-extension hypervisor.

Covers the base loads/stores (Unprivileged spec ch. 2.6 "Load and Store Instructions" and
RV64I ch. 5.3), their compressed forms (C extension, RVC quadrants 0 and 2), the A
extension's AMOs (ch. "A" Extension, AMO encoding with opcode 0x2F), ECALL, WFI and the Zicsr
instructions.  Anything else raises ModelError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from harness.model.values import AccessWidth, ModelError

_WIDTHS = (AccessWidth.Byte, AccessWidth.Word, AccessWidth.Dword, AccessWidth.Qword)


@dataclass(frozen=True, slots=True)
class RvLoad:
    """LB/LH/LW/LD (sign-extending) or LBU/LHU/LWU (zero-extending), or a compressed form."""

    length: int
    width: AccessWidth
    unsigned: bool
    rd: int
    mnemonic: str
    rs1: int  # base register
    offset: int  # the immediate, sign-extended (compressed: zero-extended, scaled)


@dataclass(frozen=True, slots=True)
class RvStore:
    """SB/SH/SW/SD or a compressed form: stores the low `width` bytes of x[rs2]."""

    length: int
    width: AccessWidth
    rs2: int
    mnemonic: str
    rs1: int  # base register
    offset: int  # the immediate, sign-extended (compressed: zero-extended, scaled)


@dataclass(frozen=True, slots=True)
class RvEcall:
    """ECALL from VS-mode (scause 10), the SBI call instruction."""

    length: int = 4


@dataclass(frozen=True, slots=True)
class RvWfi:
    """WFI (a virtual-instruction exception, scause 22, when hstatus.VTW=1)."""

    length: int = 4


@dataclass(frozen=True, slots=True)
class RvCsr:
    """CSRRW/CSRRS/CSRRC and their immediate forms (Zicsr, Unprivileged spec ch. 9).

    `src` is rs1 for register forms and the 5-bit zero-extended immediate otherwise.
    """

    length: int
    csr: int
    rd: int
    op: str  # "rw", "rs", "rc"
    immediate: bool
    src: int


@dataclass(frozen=True, slots=True)
class RvAmo:
    """AMOSWAP/AMOADD/AMOXOR/AMOAND/AMOOR/AMOMIN[U]/AMOMAX[U].W/.D: one read-modify-write of
    `width` bytes at x[rs1] (a fault on it is a store/AMO guest-page fault, scause 23)."""

    length: int
    width: AccessWidth
    rd: int
    rs2: int
    mnemonic: str
    rs1: int = 0  # the address register


@dataclass(frozen=True, slots=True)
class RvJalr:
    """JALR (and JR/C.JR): an indirect jump; a fault on the fetch at the target is an
    instruction guest-page fault (scause 20) with sepc at the target."""

    length: int
    rd: int
    rs1: int
    offset: int = 0  # the target is (x[rs1] + offset) with bit 0 cleared


RvInsn: TypeAlias = RvLoad | RvStore | RvEcall | RvWfi | RvCsr | RvAmo | RvJalr

_AMO_FUNCT5 = {0b00001: "AMOSWAP", 0b00000: "AMOADD", 0b00100: "AMOXOR", 0b01100: "AMOAND",
               0b01000: "AMOOR", 0b10000: "AMOMIN", 0b10100: "AMOMAX", 0b11000: "AMOMINU",
               0b11100: "AMOMAXU"}


def effective_address(access: RvLoad | RvStore | RvAmo | RvJalr,
                      reg: Callable[[int], int | None]) -> int | None:
    """x[rs1] + offset modulo 2^64 (Unprivileged spec §2.6; an AMO has no offset), given
    register values (`reg(n)`, None if unknown; x0 reads 0), or None when the base is
    unknown. A JALR clears bit 0 of it for its target."""
    base = 0 if access.rs1 == 0 else reg(access.rs1)
    offset = 0 if isinstance(access, RvAmo) else access.offset
    return None if base is None else (base + offset) & ((1 << 64) - 1)


def _sext(value: int, bits: int) -> int:
    return value - ((value >> (bits - 1) & 1) << bits)


def insn_length(first_parcel: int) -> int:
    """2 for RVC, 4 for 32-bit encodings; longer encodings are not modelled (spec §1.5)."""
    if first_parcel & 3 != 3:
        return 2
    if first_parcel & 0x1C != 0x1C:
        return 4
    raise ModelError(f"RISC-V parcel {first_parcel:#06x}: instruction longer than 32 bits")


def _decode32(w: int) -> RvInsn:
    opcode = w & 0x7F
    rd = (w >> 7) & 31
    funct3 = (w >> 12) & 7
    rs1 = (w >> 15) & 31
    rs2 = (w >> 20) & 31
    if opcode == 0x03:  # LOAD
        if funct3 == 7:
            raise ModelError(f"RISC-V {w:#010x}: reserved load funct3 7 (LDU is RV128)")
        unsigned = funct3 >= 4
        width = _WIDTHS[funct3 & 3]
        name = "L" + "BHWD"[funct3 & 3] + ("U" if unsigned else "")
        return RvLoad(4, width, unsigned, rd, name, rs1, _sext(w >> 20, 12))
    if opcode == 0x23:  # STORE
        if funct3 > 3:
            raise ModelError(f"RISC-V {w:#010x}: reserved store funct3 {funct3}")
        imm = (w >> 25) << 5 | (w >> 7) & 31
        return RvStore(4, _WIDTHS[funct3], rs2, "S" + "BHWD"[funct3], rs1, _sext(imm, 12))
    if opcode == 0x67 and funct3 == 0:  # JALR
        return RvJalr(4, rd, rs1, _sext(w >> 20, 12))
    if opcode == 0x2F and funct3 in (2, 3):  # AMO
        amo = _AMO_FUNCT5.get(w >> 27)
        if amo is None:  # LR/SC (0b00010/0b00011) and reserved encodings
            raise ModelError(f"RISC-V {w:#010x}: LR/SC or reserved AMO, not modelled")
        width = AccessWidth.Dword if funct3 == 2 else AccessWidth.Qword
        return RvAmo(4, width, rd, rs2, f"{amo}.{'W' if funct3 == 2 else 'D'}", rs1)
    if opcode == 0x73:  # SYSTEM
        if w == 0x0000_0073:
            return RvEcall()
        if w == 0x1050_0073:
            return RvWfi()
        if funct3 in (1, 2, 3, 5, 6, 7):
            op = ("rw", "rs", "rc")[(funct3 & 3) - 1]
            return RvCsr(4, w >> 20, rd, op, bool(funct3 & 4), rs1)
    raise ModelError(f"RISC-V {w:#010x}: not an instruction the model knows how to trap")


def _decode16(h: int) -> RvInsn:
    quadrant = h & 3
    funct3 = h >> 13
    if quadrant == 0 and funct3 in (2, 3, 6, 7):
        # C.LW/C.LD/C.SW/C.SD: rd'/rs2' in [4:2], rs1' in [9:7], registers x8..x15;
        # offset[5:3] = [12:10], and [2|6] (W) or [7:6] (D) = [6:5].
        reg, rs1 = 8 + ((h >> 2) & 7), 8 + ((h >> 7) & 7)
        width = AccessWidth.Dword if funct3 & 1 == 0 else AccessWidth.Qword
        wide = "D" if funct3 & 1 else "W"
        offset = ((h >> 10) & 7) << 3
        if funct3 & 1:
            offset |= ((h >> 5) & 3) << 6
        else:
            offset |= ((h >> 6) & 1) << 2 | ((h >> 5) & 1) << 6
        if funct3 < 4:
            return RvLoad(2, width, False, reg, f"C.L{wide}", rs1, offset)
        return RvStore(2, width, reg, f"C.S{wide}", rs1, offset)
    if quadrant == 2 and funct3 in (2, 3):
        # C.LWSP/C.LDSP: rd in [11:7], rd=0 reserved; offset[5] = [12], then [4:2|7:6] (W)
        # or [4:3|8:6] (D) from [6:2].
        rd = (h >> 7) & 31
        if rd == 0:
            raise ModelError(f"RVC {h:#06x}: C.L*SP with rd=x0 is reserved")
        width = AccessWidth.Dword if funct3 == 2 else AccessWidth.Qword
        if funct3 == 2:
            offset = ((h >> 12) & 1) << 5 | ((h >> 4) & 7) << 2 | ((h >> 2) & 3) << 6
        else:
            offset = ((h >> 12) & 1) << 5 | ((h >> 5) & 3) << 3 | ((h >> 2) & 7) << 6
        return RvLoad(2, width, False, rd, "C.LWSP" if funct3 == 2 else "C.LDSP", 2, offset)
    if quadrant == 2 and funct3 in (6, 7):
        # C.SWSP/C.SDSP: offset [5:2|7:6] (W) or [5:3|8:6] (D) from [12:7].
        rs2 = (h >> 2) & 31
        width = AccessWidth.Dword if funct3 == 6 else AccessWidth.Qword
        if funct3 == 6:
            offset = ((h >> 9) & 15) << 2 | ((h >> 7) & 3) << 6
        else:
            offset = ((h >> 10) & 7) << 3 | ((h >> 7) & 7) << 6
        return RvStore(2, width, rs2, "C.SWSP" if funct3 == 6 else "C.SDSP", 2, offset)
    raise ModelError(f"RVC {h:#06x}: not a compressed load/store the model knows")


def decode(insn: bytes) -> RvInsn:
    """Decode the first instruction of `insn` (little-endian parcels); trailing bytes are
    ignored so a caller may pass a 4-byte window that starts with a compressed instruction."""
    if len(insn) < 2:
        raise ModelError(f"RISC-V instruction needs at least 2 bytes, got {len(insn)}")
    first = int.from_bytes(insn[:2], "little")
    length = insn_length(first)
    if len(insn) < length:
        raise ModelError(f"RISC-V parcel {first:#06x} starts a {length}-byte instruction")
    if length == 2:
        return _decode16(first)
    return _decode32(int.from_bytes(insn[:4], "little"))
