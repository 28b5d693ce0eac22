"""A64 decoder for the instructions that trap to a hypervisor.

Covers single-register loads/stores (ARM ARM C4.1.66 "Loads and Stores": unsigned offset,
pre/post-index, unscaled, unprivileged, register offset, load-acquire/store-release), HVC,
SMC, MSR/MRS (register) and WFI/WFE.  Anything else raises ModelError.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from harness.model.sysreg import A64SysReg
from harness.model.values import AccessWidth, ModelError


class LsForm(enum.Enum):
    """Addressing form of a load/store (determines writeback and hence ESR_EL2.ISV)."""

    UNSIGNED_OFFSET = "unsigned offset"
    PRE_INDEX = "pre-index"
    POST_INDEX = "post-index"
    UNSCALED = "unscaled"  # LDUR/STUR
    UNPRIVILEGED = "unprivileged"  # LDTR/STTR
    REGISTER_OFFSET = "register offset"
    ORDERED = "acquire/release"  # LDAR/STLR

    @property
    def writeback(self) -> bool:
        """Pre/post-index update the base register."""
        return self in (LsForm.PRE_INDEX, LsForm.POST_INDEX)


@dataclass(frozen=True, slots=True)
class LoadStore:
    """A single general-purpose-register load or store."""

    word: int
    is_load: bool
    width: AccessWidth  # bytes moved to/from memory
    signed: bool  # LDRS*: sign-extend into the destination
    rt: int  # 31 = XZR/WZR
    dest64: bool  # destination (loads) / source (stores) is an X register
    form: LsForm
    mnemonic: str
    rn: int  # base register; 31 = SP
    offset: int  # immediate byte offset (scaled, sign-extended); 0 for register offsets
    rm: int | None  # register offset: the index register (31 = XZR), else None
    extend: str  # register offset: "uxtw", "lsl", "sxtw" or "sxtx"; "" otherwise
    shift: int  # register offset: the index is shifted left by this (S = 1: log2 size)

    @property
    def acquire_release(self) -> bool:
        """LDAR/STLR family (ESR_EL2.ISS.AR)."""
        return self.form is LsForm.ORDERED


@dataclass(frozen=True, slots=True)
class Hvc:
    """`HVC #imm16` (exception class 0x16)."""

    word: int
    imm16: int


@dataclass(frozen=True, slots=True)
class Smc:
    """`SMC #imm16` (exception class 0x17 when HCR_EL2.TSC traps it)."""

    word: int
    imm16: int


@dataclass(frozen=True, slots=True)
class SysRegAccess:
    """MSR (register) / MRS: a system register move (exception class 0x18 when trapped)."""

    word: int
    reg: A64SysReg
    rt: int
    is_read: bool  # MRS


@dataclass(frozen=True, slots=True)
class WaitFor:
    """WFI or WFE (exception class 0x01 when HCR_EL2.TWI/TWE traps it)."""

    word: int
    is_wfe: bool


@dataclass(frozen=True, slots=True)
class BranchRegister:
    """BR/BLR Xn: an indirect branch; a stage-2 fault on the fetch at the target is an
    Instruction Abort from a lower EL (EC 0x20) taken with ELR at the target."""

    word: int
    rn: int
    link: bool


A64Insn: TypeAlias = LoadStore | Hvc | Smc | SysRegAccess | WaitFor | BranchRegister


@dataclass(frozen=True, slots=True)
class DataAbortIss:
    """ESR_EL2.ISS of a stage-2 data abort (EC 0x24) when ISV is 1 (ARM ARM D13.2.39).

    SAS = log2(access size), SSE = sign-extend, SRT = Rt, SF = 64-bit register,
    AR = acquire/release, WnR = write.
    """

    sas: int
    sse: bool
    srt: int
    sf: bool
    ar: bool
    wnr: bool

    def value(self) -> int:
        """The ISS bits (ISV set; DFSC, FnV, EA, S1PTW, CM left 0)."""
        return (
            1 << 24
            | self.sas << 22
            | int(self.sse) << 21
            | self.srt << 16
            | int(self.sf) << 15
            | int(self.ar) << 14
            | int(self.wnr) << 6
        )


def effective_address(access: LoadStore, reg: Callable[[int], int | None]) -> int | None:
    """The address `access` touches given register values (`reg(n)`, None if unknown), or
    None when a register it needs is unknown or the base is SP (ARM ARM C6.2, the
    pseudocode of LDR/STR: post-index accesses the base, pre-index and offset forms base +
    offset, register offsets base + (extend(Xm/Wm) << shift), all modulo 2^64)."""
    if access.rn == 31:
        return None
    base = reg(access.rn)
    if base is None:
        return None
    if access.form is LsForm.POST_INDEX:
        return base
    if access.rm is None:
        return (base + access.offset) & _U64
    index = 0 if access.rm == 31 else reg(access.rm)
    if index is None:
        return None
    if access.extend == "uxtw":
        index &= 0xFFFF_FFFF
    elif access.extend == "sxtw":
        index = (index & 0xFFFF_FFFF) - ((index & 0x8000_0000) << 1)
    return (base + (index << access.shift)) & _U64


def data_abort_iss(access: LoadStore) -> DataAbortIss | None:
    """The syndrome hardware reports for `access`, or None when ISV is 0.

    ISV is 1 only for single general-purpose-register loads/stores without writeback
    (ARM ARM D13.2.39, ISV field description); pre/post-index forms give ISV 0, leaving the
    hypervisor to decode the instruction itself.
    """
    if access.form.writeback:
        return None
    return DataAbortIss(
        sas=access.width.value.bit_length() - 1,
        sse=access.signed,
        srt=access.rt,
        sf=access.dest64,
        ar=access.acquire_release,
        wnr=not access.is_load,
    )


_WIDTHS = (AccessWidth.Byte, AccessWidth.Word, AccessWidth.Dword, AccessWidth.Qword)
_SUFFIX = ("B", "H", "", "")
_U64 = (1 << 64) - 1
# Register-offset option field (ARM ARM C6.2 "LDR (register)"): 010 UXTW, 011 LSL (UXTX),
# 110 SXTW, 111 SXTX; option<1> = 0 is unallocated.
_EXTEND = {0b010: "uxtw", 0b011: "lsl", 0b110: "sxtw", 0b111: "sxtx"}


def _ls_kind(size: int, opc: int, word: int) -> tuple[bool, bool, bool, str]:
    """(is_load, signed, dest64, mnemonic stem) from size/opc (ARM ARM C4.1.66 tables)."""
    if opc == 0:
        return False, False, size == 3, "STR" + _SUFFIX[size]
    if opc == 1:
        return True, False, size == 3, "LDR" + _SUFFIX[size]
    if opc == 2 and size < 3:
        return True, True, True, "LDRS" + ("B", "H", "W")[size]
    if opc == 3 and size < 2:
        return True, True, False, "LDRS" + ("B", "H")[size]
    if opc == 2 and size == 3:
        raise ModelError(f"A64 {word:#010x}: PRFM (prefetch) does not access memory")
    raise ModelError(f"A64 {word:#010x}: unallocated load/store size/opc {size}/{opc}")


def _decode_load_store(word: int) -> LoadStore:
    size = word >> 30
    if (word >> 26) & 1:
        raise ModelError(
            f"A64 {word:#010x}: SIMD&FP load/store; its data abort has ISV=0 and the exit "
            "contract's `reg` can only name a general-purpose register"
        )
    opc = (word >> 22) & 3
    rt = word & 31
    rm: int | None = None
    extend, shift = "", 0
    if (word >> 24) & 3 == 1:
        form = LsForm.UNSIGNED_OFFSET
        offset = ((word >> 10) & 0xFFF) << size  # imm12, scaled by the access size
    elif (word >> 21) & 1 == 0:
        form = (LsForm.UNSCALED, LsForm.POST_INDEX, LsForm.UNPRIVILEGED, LsForm.PRE_INDEX)[
            (word >> 10) & 3
        ]
        imm9 = (word >> 12) & 0x1FF
        offset = imm9 - ((imm9 & 0x100) << 1)  # signed, unscaled
    elif (word >> 10) & 3 == 2:
        form = LsForm.REGISTER_OFFSET
        if not (word >> 14) & 1:  # option<1> == 0 is unallocated
            raise ModelError(f"A64 {word:#010x}: unallocated register-offset extend option")
        rm, offset = (word >> 16) & 31, 0
        extend = _EXTEND[(word >> 13) & 7]
        shift = size if (word >> 12) & 1 else 0
    elif (word >> 10) & 3 == 0:
        raise ModelError(f"A64 {word:#010x}: atomic memory operation, not a plain load/store")
    else:
        raise ModelError(f"A64 {word:#010x}: LDRAA/LDRAB (pointer-authenticated load)")
    if form.writeback and size == 3 and opc == 2:
        raise ModelError(f"A64 {word:#010x}: unallocated (no writeback form of PRFM)")
    is_load, signed, dest64, stem = _ls_kind(size, opc, word)
    if form is LsForm.UNPRIVILEGED:
        stem = stem.replace("LDR", "LDTR").replace("STR", "STTR")
    elif form is LsForm.UNSCALED:
        stem = stem.replace("LDR", "LDUR").replace("STR", "STUR")
    return LoadStore(word, is_load, _WIDTHS[size], signed, rt, dest64, form, stem,
                     (word >> 5) & 31, offset, rm, extend, shift)


def _decode_ordered(word: int) -> LoadStore:
    # Load/store ordered: size 001000 o2=1 L o1=0 Rs o0=1 Rt2 Rn Rt (LDAR/STLR only).
    size = word >> 30
    is_load = bool((word >> 22) & 1)
    if (word >> 21) & 1 or not (word >> 15) & 1:
        raise ModelError(f"A64 {word:#010x}: LDLAR/STLLR/CAS are not modelled")
    stem = ("LDAR" if is_load else "STLR") + _SUFFIX[size]
    return LoadStore(word, is_load, _WIDTHS[size], False, word & 31, size == 3,
                     LsForm.ORDERED, stem, (word >> 5) & 31, 0, None, "", 0)  # fmt: skip


def decode(insn: bytes | int) -> A64Insn:
    """Decode one A64 instruction (4 little-endian bytes, or the 32-bit word)."""
    if isinstance(insn, bytes | bytearray):
        if len(insn) != 4:
            raise ModelError(f"A64 instructions are 4 bytes, got {len(insn)}")
        word = int.from_bytes(insn, "little")
    else:
        word = insn
    if not 0 <= word <= 0xFFFF_FFFF:
        raise ModelError(f"A64 word {word:#x} does not fit 32 bits")
    # Exception generation: 11010100 opc LL=..; HVC = opc 000, LL 10; SMC = LL 11.
    if word & 0xFFE0_001F == 0xD400_0002:
        return Hvc(word, (word >> 5) & 0xFFFF)
    if word & 0xFFE0_001F == 0xD400_0003:
        return Smc(word, (word >> 5) & 0xFFFF)
    if word in (0xD503_207F, 0xD503_205F):
        return WaitFor(word, word == 0xD503_205F)
    if word & 0xFFDF_FC1F == 0xD61F_0000:  # BR (bit 21 clear) / BLR (set), Rn in [9:5]
        return BranchRegister(word, (word >> 5) & 31, bool(word & (1 << 21)))
    # System register move: 1101010100 L 1 o0 op1 CRn CRm op2 Rt (op0 = 2 + o0).
    if word & 0xFFD0_0000 == 0xD510_0000:
        reg = A64SysReg(
            op0=(word >> 19) & 3,
            op1=(word >> 16) & 7,
            crn=(word >> 12) & 15,
            crm=(word >> 8) & 15,
            op2=(word >> 5) & 7,
        )
        return SysRegAccess(word, reg, word & 31, bool((word >> 21) & 1))
    if (word >> 27) & 7 == 7 and (word >> 25) & 1 == 0:
        return _decode_load_store(word)
    if (word >> 24) & 0x3F == 0x08 and (word >> 23) & 1:
        return _decode_ordered(word)
    raise ModelError(f"A64 {word:#010x}: not an instruction the model knows how to trap")
