"""A64 decoder: encodings from GNU as, expectations from the ARM ARM's field tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.model.isa import aarch64 as isa
from harness.model.isa.asm import assemble, missing_tools
from harness.model.sysreg import A64SysReg
from harness.model.values import AccessWidth, ModelError

_MISSING = missing_tools("aarch64")
needs_as = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

B, H, W, X = AccessWidth.Byte, AccessWidth.Word, AccessWidth.Dword, AccessWidth.Qword
F = isa.LsForm

# (source, is_load, width, signed, rt, dest64, form) -- read off the mnemonic: LDRS* sign-
# extend, an X register makes the destination 64-bit, "!" is pre-index, "], #" post-index.
LOAD_STORE_CASES = [
    ("ldrsh x3, [x9]", True, H, True, 3, True, F.UNSIGNED_OFFSET),
    ("ldrsh w3, [x9]", True, H, True, 3, False, F.UNSIGNED_OFFSET),
    ("ldrsb x0, [x1, #7]", True, B, True, 0, True, F.UNSIGNED_OFFSET),
    ("ldrsw x10, [x11, x12, lsl #2]", True, W, True, 10, True, F.REGISTER_OFFSET),
    ("ldr x1, [x2, #8]", True, X, False, 1, True, F.UNSIGNED_OFFSET),
    ("ldr w5, [x2, #-4]!", True, W, False, 5, False, F.PRE_INDEX),
    ("ldrb w7, [x0], #1", True, B, False, 7, False, F.POST_INDEX),
    ("ldur x4, [x1, #-8]", True, X, False, 4, True, F.UNSCALED),
    ("ldurh w4, [x1, #1]", True, H, False, 4, False, F.UNSCALED),
    ("ldrh w2, [x3, w4, uxtw #1]", True, H, False, 2, False, F.REGISTER_OFFSET),
    ("ldtr x3, [x4]", True, X, False, 3, True, F.UNPRIVILEGED),
    ("ldar w5, [x6]", True, W, False, 5, False, F.ORDERED),
    ("ldarb w1, [x2]", True, B, False, 1, False, F.ORDERED),
    ("ldr xzr, [x0]", True, X, False, 31, True, F.UNSIGNED_OFFSET),
    ("str x30, [sp, #16]", False, X, False, 30, True, F.UNSIGNED_OFFSET),
    ("strb wzr, [x1]", False, B, False, 31, False, F.UNSIGNED_OFFSET),
    ("strh w6, [x7, #2]!", False, H, False, 6, False, F.PRE_INDEX),
    ("stur w8, [x9, #3]", False, W, False, 8, False, F.UNSCALED),
    ("str w1, [x2], #4", False, W, False, 1, False, F.POST_INDEX),
    ("str x1, [x2, x3]", False, X, False, 1, True, F.REGISTER_OFFSET),
    ("stlr x7, [x8]", False, X, False, 7, True, F.ORDERED),
    ("stlrh w3, [x4]", False, H, False, 3, False, F.ORDERED),
]


@needs_as
@pytest.mark.parametrize(("src", "is_load", "width", "signed", "rt", "dest64", "form"),
                         LOAD_STORE_CASES)  # fmt: skip
def test_load_store_fields_match_the_assembled_instruction(
    src: str, is_load: bool, width: AccessWidth, signed: bool, rt: int, dest64: bool, form: F
) -> None:
    got = isa.decode(assemble("aarch64", src))
    assert isinstance(got, isa.LoadStore)
    assert (got.is_load, got.width, got.signed, got.rt, got.dest64, got.form) == (
        is_load, width, signed, rt, dest64, form,
    )  # fmt: skip


@needs_as
@pytest.mark.parametrize(
    "src",
    ["ldp x0, x1, [x2]", "ldr q0, [x1]", "ldr d0, [x1]", "ldxr x0, [x1]",
     "ldadd x0, x1, [x2]", "prfm pldl1keep, [x0]", "add x0, x1, x2", "ret"],
)  # fmt: skip
def test_instructions_outside_the_model_are_refused(src: str) -> None:
    with pytest.raises(ModelError):
        isa.decode(assemble("aarch64", src))


@needs_as
def test_hvc_and_smc_carry_their_immediate() -> None:
    assert isa.decode(assemble("aarch64", "hvc #0x1234")) == isa.Hvc(
        int.from_bytes(assemble("aarch64", "hvc #0x1234"), "little"), 0x1234
    )
    smc = isa.decode(assemble("aarch64", "smc #7"))
    assert isinstance(smc, isa.Smc) and smc.imm16 == 7


@needs_as
def test_mrs_and_msr_decode_to_the_manual_encoding_fields() -> None:
    # CNTPCT_EL0 is op0=3 op1=3 CRn=14 CRm=0 op2=1; ICC_SGI1R_EL1 is 3,0,12,11,5 (IHI 0069).
    mrs = isa.decode(assemble("aarch64", "mrs x5, cntpct_el0"))
    assert isinstance(mrs, isa.SysRegAccess)
    assert (mrs.reg, mrs.rt, mrs.is_read) == (A64SysReg(3, 3, 14, 0, 1), 5, True)
    msr = isa.decode(assemble("aarch64", "msr icc_sgi1r_el1, x2"))
    assert isinstance(msr, isa.SysRegAccess)
    assert (msr.reg, msr.rt, msr.is_read) == (A64SysReg(3, 0, 12, 11, 5), 2, False)
    generic = isa.decode(assemble("aarch64", "msr s3_0_c12_c11_5, x2"))
    assert generic == msr


@needs_as
def test_wfi_and_wfe_are_told_apart() -> None:
    assert isa.decode(assemble("aarch64", "wfi")) == isa.WaitFor(0xD503207F, False)
    assert isa.decode(assemble("aarch64", "wfe")) == isa.WaitFor(0xD503205F, True)


@needs_as
def test_data_abort_iss_of_ldrsh_x3_matches_hand_assembled_syndrome() -> None:
    access = isa.decode(assemble("aarch64", "ldrsh x3, [x9]"))
    assert isinstance(access, isa.LoadStore)
    iss = isa.data_abort_iss(access)
    # ISV[24]=1, SAS[23:22]=01 (halfword), SSE[21]=1, SRT[20:16]=3, SF[15]=1, AR=0, WnR=0.
    assert iss is not None and iss.value() == 0x1000000 | 0x400000 | 0x200000 | 0x30000 | 0x8000


@needs_as
def test_data_abort_iss_of_stlr_sets_ar_and_wnr() -> None:
    access = isa.decode(assemble("aarch64", "stlr w7, [x8]"))
    assert isinstance(access, isa.LoadStore)
    iss = isa.data_abort_iss(access)
    assert iss is not None
    assert (iss.sas, iss.sse, iss.srt, iss.sf, iss.ar, iss.wnr) == (2, False, 7, False, True, True)


@needs_as
@pytest.mark.parametrize("src", ["ldr x0, [x1, #8]!", "str w0, [x1], #4"])
def test_writeback_forms_have_no_valid_syndrome(src: str) -> None:
    access = isa.decode(assemble("aarch64", src))
    assert isinstance(access, isa.LoadStore)
    assert isa.data_abort_iss(access) is None


def test_decode_rejects_wrong_length() -> None:
    with pytest.raises(ModelError, match="4 bytes"):
        isa.decode(b"\x1f\x20\x03")


# An independent encoder, straight from the ARM ARM "Load/store register" layouts, and the
# size/opc table (opc 00 store, 01 zero-extending load, 10 sign-extend to X, 11 sign-extend
# to W; LDRSW is size 10 opc 10; size 11 allows only opc 00/01 here).
_VALID = [(s, o) for s in range(4) for o in range(4)
          if o < 2 or (o == 2 and s < 3) or (o == 3 and s < 2)]  # fmt: skip


def _expect(size: int, opc: int) -> tuple[bool, AccessWidth, bool, bool]:
    is_load = opc != 0
    signed = opc >= 2
    dest64 = opc == 2 or (opc < 2 and size == 3)
    return is_load, AccessWidth.from_size(1 << size), signed, dest64


@given(st.sampled_from(_VALID), st.integers(0, 4095), st.integers(0, 31), st.integers(0, 31))
def test_random_unsigned_offset_encodings_decode_to_their_fields(
    so: tuple[int, int], imm12: int, rn: int, rt: int
) -> None:
    size, opc = so
    word = size << 30 | 0b111 << 27 | 0b01 << 24 | opc << 22 | imm12 << 10 | rn << 5 | rt
    got = isa.decode(word)
    assert isinstance(got, isa.LoadStore)
    assert (got.is_load, got.width, got.signed, got.dest64) == _expect(size, opc)
    assert (got.rt, got.form) == (rt, F.UNSIGNED_OFFSET)
    assert (got.rn, got.offset, got.rm) == (rn, imm12 * (1 << size), None)


@given(st.sampled_from(_VALID), st.integers(0, 511), st.sampled_from([0, 1, 3]),
       st.integers(0, 31), st.integers(0, 31))  # fmt: skip
def test_random_imm9_encodings_decode_to_their_form(
    so: tuple[int, int], imm9: int, idx: int, rn: int, rt: int
) -> None:
    size, opc = so
    word = size << 30 | 0b111 << 27 | opc << 22 | imm9 << 12 | idx << 10 | rn << 5 | rt
    got = isa.decode(word)
    assert isinstance(got, isa.LoadStore)
    assert (got.is_load, got.width, got.signed, got.dest64) == _expect(size, opc)
    form = {0: F.UNSCALED, 1: F.POST_INDEX, 3: F.PRE_INDEX}[idx]
    assert (got.rt, got.form, got.form.writeback) == (rt, form, idx != 0)
    assert (got.rn, got.offset, got.rm) == (rn, imm9 if imm9 < 256 else imm9 - 512, None)


@given(st.sampled_from(_VALID), st.integers(0, 31), st.sampled_from([2, 3, 6, 7]),
       st.booleans(), st.integers(0, 31))  # fmt: skip
def test_random_register_offset_encodings_decode(
    so: tuple[int, int], rm: int, option: int, s: bool, rt: int
) -> None:
    size, opc = so
    word = (size << 30 | 0b111 << 27 | opc << 22 | 1 << 21 | rm << 16 | option << 13
            | int(s) << 12 | 0b10 << 10 | 5 << 5 | rt)  # fmt: skip
    got = isa.decode(word)
    assert isinstance(got, isa.LoadStore)
    assert (got.is_load, got.width, got.signed, got.dest64, got.rt) == (*_expect(size, opc), rt)
    assert got.form is F.REGISTER_OFFSET
    extend = {2: "uxtw", 3: "lsl", 6: "sxtw", 7: "sxtx"}[option]
    assert (got.rn, got.rm, got.extend, got.shift, got.offset) == (5, rm, extend,
                                                                   size if s else 0, 0)


# (source, rn, immediate offset, rm, extend, shift) read off the operand syntax.
ADDRESSING_CASES = [
    ("ldr x1, [x2]", 2, 0, None, "", 0),
    ("ldr x1, [x2, #32760]", 2, 32760, None, "", 0),
    ("ldrb w1, [x30, #4095]", 30, 4095, None, "", 0),
    ("ldur w1, [x2, #-256]", 2, -256, None, "", 0),
    ("strh w1, [x2, #255]", 2, 255, None, "", 0),  # odd: not scaled, so STURH
    ("str x1, [x0, #-8]!", 0, -8, None, "", 0),
    ("ldrsw x1, [x3], #100", 3, 100, None, "", 0),
    ("str w1, [sp, #16]", 31, 16, None, "", 0),
    ("ldr x1, [x2, x3]", 2, 0, 3, "lsl", 0),
    ("ldr x1, [x2, x3, lsl #3]", 2, 0, 3, "lsl", 3),
    ("ldrb w1, [x2, x3, lsl #0]", 2, 0, 3, "lsl", 0),
    ("strh w1, [x2, w3, uxtw #1]", 2, 0, 3, "uxtw", 1),
    ("ldrsb x1, [x2, w3, sxtw]", 2, 0, 3, "sxtw", 0),
    ("str w1, [x2, x4, sxtx #2]", 2, 0, 4, "sxtx", 2),
    ("ldar x1, [x7]", 7, 0, None, "", 0),
]


@needs_as
@pytest.mark.parametrize(("src", "rn", "offset", "rm", "extend", "shift"), ADDRESSING_CASES)
def test_addressing_fields_match_the_assembled_operand(
    src: str, rn: int, offset: int, rm: int | None, extend: str, shift: int
) -> None:
    got = isa.decode(assemble("aarch64", src))
    assert isinstance(got, isa.LoadStore)
    assert (got.rn, got.offset, got.rm, got.extend, got.shift) == (rn, offset, rm, extend, shift)


# (source, registers, the address the ARM ARM pseudocode gives)
EFFECTIVE = [
    ("ldr x1, [x2, #8]", {2: 0x1000}, 0x1008),
    ("ldur x1, [x2, #-8]", {2: 0x1000}, 0xFF8),
    ("ldr x1, [x2, #-8]!", {2: 0x1000}, 0xFF8),
    ("ldr x1, [x2], #-8", {2: 0x1000}, 0x1000),
    ("ldr x1, [x2, x3, lsl #3]", {2: 0x1000, 3: 2}, 0x1010),
    ("ldr x1, [x2, x3]", {2: 0x1000, 3: (1 << 64) - 16}, 0xFF0),
    ("ldrh w1, [x2, w3, uxtw #1]", {2: 0x1000, 3: 0xFFFF_FFFF_0000_0004}, 0x1008),
    ("ldrh w1, [x2, w3, sxtw #1]", {2: 0x1000, 3: 0xFFFF_FFFE}, 0xFFC),
    ("ldr w1, [x2, x3, sxtx]", {2: 0x1000, 3: 0x10}, 0x1010),
    ("ldr x1, [x2, xzr]", {2: 0x1000}, 0x1000),
    ("ldr x1, [x2, #8]", {}, None),
    ("ldr x1, [x2, x3]", {2: 0x1000}, None),
    ("ldr x1, [sp, #8]", {}, None),
    ("ldr x1, [x2, #8]", {2: (1 << 64) - 4}, 4),
]


@needs_as
@pytest.mark.parametrize(("src", "regs", "address"), EFFECTIVE)
def test_the_effective_address_follows_the_addressing_pseudocode(
    src: str, regs: dict[int, int], address: int | None
) -> None:
    got = isa.decode(assemble("aarch64", src))
    assert isinstance(got, isa.LoadStore)
    assert isa.effective_address(got, regs.get) == address
