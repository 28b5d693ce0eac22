"""AArch64 exit predictions; expected values derived by hand from the manuals."""

from __future__ import annotations

import pytest

from harness.model.arch import Arch
from harness.model.exits import (
    CpuDown,
    CpuUp,
    Halt,
    Hypercall,
    MmioRead,
    MmioWrite,
    Nothing,
    SendIPI,
    SysRegRead,
    SysRegWrite,
    SystemDown,
)
from harness.model.isa.asm import assemble, missing_tools
from harness.model.predict import GuestTrap, free_fields, predict
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr, ModelError, SysRegAddr

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

_MISSING = missing_tools("aarch64")
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

G1, G2, G6 = S01, S02, S06
B, H, W, X = AccessWidth.Byte, AccessWidth.Word, AccessWidth.Dword, AccessWidth.Qword
DEV = 0x0900_0010
DATA = 0x1122_3344_5566_7788


def trap(src: str, gprs: dict[int, int] | None = None, gpa: int | None = None) -> GuestTrap:
    return GuestTrap(Arch.AARCH64, assemble("aarch64", src), gprs or {}, gpa)


def regs(*values: int) -> dict[int, int]:
    return dict(enumerate(values))


@pytest.mark.parametrize(
    ("src", "width", "reg", "reg_width", "signed"),
    [("ldrsh x3, [x9]", H, 3, X, True),
     ("ldrsh w3, [x9]", H, 3, W, True),
     ("ldrsb w1, [x9, #1]", B, 1, W, True),
     ("ldrsw x2, [x9], #4", W, 2, X, True),
     ("ldr x4, [x9]", X, 4, X, False),
     ("ldr w5, [x9, #4]!", W, 5, W, False),
     ("ldrb w6, [x9, x1]", B, 6, W, False),
     ("ldurh w7, [x9, #-2]", H, 7, W, False),
     ("ldar x8, [x9]", X, 8, X, False),
     ("ldr xzr, [x9]", X, 31, X, False)],
)  # fmt: skip
def test_load_predicts_mmio_read_from_the_syndrome_fields(
    src: str, width: AccessWidth, reg: int, reg_width: AccessWidth, signed: bool
) -> None:
    got = predict(trap(src, gpa=DEV), G2)
    assert got == MmioRead(GuestPhysAddr(DEV), width, reg, reg_width, signed)


def test_load_in_schema_0_1_has_no_signed_ext() -> None:
    got = predict(trap("ldrsh x3, [x9]", gpa=DEV), G1)
    assert got == MmioRead(GuestPhysAddr(DEV), H, 3, X)  # signed_ext ABSENT


@pytest.mark.parametrize(
    ("src", "width", "data"),
    [("strb w2, [x9]", B, 0x88), ("strh w2, [x9, #2]!", H, 0x7788),
     ("str w2, [x9], #4", W, 0x5566_7788), ("stur x2, [x9, #-8]", X, DATA),
     ("stlrb w2, [x9]", B, 0x88)],
)  # fmt: skip
def test_store_data_is_the_register_truncated_to_the_access(
    src: str, width: AccessWidth, data: int
) -> None:
    got = predict(trap(src, {2: DATA}, gpa=DEV), G6)
    assert got == MmioWrite(GuestPhysAddr(DEV), width, data)


def test_store_of_the_zero_register_writes_zero() -> None:
    assert predict(trap("str xzr, [x9]", gpa=DEV), G2) == MmioWrite(GuestPhysAddr(DEV), X, 0)


def test_memory_access_without_gpa_is_an_error() -> None:
    with pytest.raises(ModelError, match="gpa"):
        predict(trap("ldr x0, [x1]"), G2)


def test_psci_cpu_off_is_cpu_down_with_unused_state() -> None:
    got = predict(trap("hvc #0", regs(0x8400_0002, 7)), G2)
    assert got == CpuDown(0)
    assert free_fields(got, Arch.AARCH64) == {"state"}


def test_psci_cpu_on_64_passes_target_entry_and_context() -> None:
    got = predict(trap("hvc #0", regs(0xC400_0003, 0x100, 0x4008_0000, 0xDEAD_BEEF_0000_0001)), G2)
    assert got == CpuUp(0x100, GuestPhysAddr(0x4008_0000), 0xDEAD_BEEF_0000_0001)


def test_psci_cpu_on_32_uses_only_the_w_registers() -> None:
    # SMC32/HVC32 calls pass W1..W3: the upper halves of X1..X3 are not arguments.
    gprs = regs(0x8400_0003, 0xFFFF_0000_0000_0001, 0x1_4008_0000, 0xAB_0000_0002)
    assert predict(trap("hvc #0", gprs), G2) == CpuUp(1, GuestPhysAddr(0x4008_0000), 2)


def test_psci_system_off_is_recognised_from_w0() -> None:
    assert predict(trap("hvc #0", regs(0x8400_0008)), G2) == SystemDown()
    assert predict(trap("hvc #0", regs(0x5_8400_0008)), G2) == SystemDown()


def test_other_hvc_is_a_hypercall_with_x0_and_six_arguments() -> None:
    got = predict(trap("hvc #0", regs(0x1234, 1, 2, 3, 4, 5, 6, 7)), G2)
    assert got == Hypercall(0x1234, (1, 2, 3, 4, 5, 6))


def test_hypercall_without_all_argument_registers_is_an_error() -> None:
    with pytest.raises(ModelError, match="x6"):
        predict(trap("hvc #0", regs(0x1234, 1, 2, 3, 4, 5)), G2)


def test_smc_power_calls_match_hvc_and_other_smc_is_handled_internally() -> None:
    assert predict(trap("smc #0", regs(0x8400_0008)), G2) == SystemDown()
    assert predict(trap("smc #0", regs(0xC200_0001)), G2) == Nothing()


def test_mrs_predicts_sysreg_read_with_masked_iss_address() -> None:
    # CNTPCT_EL0: op0=3, op2=1, op1=3, CRn=14, CRm=0 -> 0x300000|0x20000|0xC000|0x3800.
    assert predict(trap("mrs x7, cntpct_el0"), G2) == SysRegRead(SysRegAddr(0x32F800), 7)


def test_msr_predicts_sysreg_write_of_the_register_value() -> None:
    # CNTP_CTL_EL0: as CNTPCT_EL0 but CRm=2 (bit 2 set in the ISS address).
    got = predict(trap("msr cntp_ctl_el0, x3", {3: 1}), G2)
    assert got == SysRegWrite(SysRegAddr(0x32F804), 1)


def _sgi1r(aff3: int, aff2: int, aff1: int, intid: int, targets: int, irm: int = 0,
           rs: int = 0) -> int:  # fmt: skip
    # IHI 0069 ICC_SGI1R_EL1: TargetList[15:0] Aff1[23:16] INTID[27:24] Aff2[39:32] IRM[40]
    # RS[47:44] Aff3[55:48].
    return (targets | aff1 << 16 | intid << 24 | aff2 << 32 | irm << 40 | rs << 44
            | aff3 << 48)  # fmt: skip


def test_sgi1r_write_is_send_ipi_with_affinity_bytes_and_target_list() -> None:
    got = predict(trap("msr icc_sgi1r_el1, x2", {2: _sgi1r(1, 2, 3, 5, 0b1010)}), G2)
    assert got == SendIPI(0x0102_0300, 0b1010, False, False, 5)
    assert free_fields(got, Arch.AARCH64) == frozenset()


def test_sgi1r_irm_broadcasts_and_frees_the_target_fields() -> None:
    got = predict(trap("msr icc_sgi1r_el1, x2", {2: _sgi1r(0, 0, 0, 3, 0, irm=1)}), G6)
    assert isinstance(got, SendIPI)
    assert (got.send_to_all, got.send_to_self, got.vector) == (True, False, 3)
    assert free_fields(got, Arch.AARCH64) == {"target_cpu", "target_cpu_aux"}


def test_sgi1r_range_selector_shifts_the_aff0_mask() -> None:
    got = predict(trap("msr icc_sgi1r_el1, x2", {2: _sgi1r(0, 0, 1, 0, 0b1, rs=2)}), G2)
    assert got == SendIPI(0x100, 1 << 32, False, False, 0)


def test_sgi1r_range_beyond_aff0_63_is_not_representable() -> None:
    with pytest.raises(ModelError, match="RS=4"):
        predict(trap("msr icc_sgi1r_el1, x2", {2: _sgi1r(0, 0, 0, 0, 1, rs=4)}), G2)


def test_sgi1r_write_in_schema_0_1_is_a_plain_sysreg_write() -> None:
    value = _sgi1r(0, 0, 0, 1, 1)
    got = predict(trap("msr icc_sgi1r_el1, x2", {2: value}), G1)
    assert got == SysRegWrite(SysRegAddr(0x3A3016), value)


@pytest.mark.parametrize("src", ["wfi", "wfe"])
def test_trapped_wait_is_halt(src: str) -> None:
    assert predict(trap(src), G2) == Halt()


def test_full_width_load_leaves_signed_ext_free_but_narrow_load_does_not() -> None:
    wide = predict(trap("ldr x4, [x9]", gpa=DEV), G2)
    narrow = predict(trap("ldrsw x4, [x9]", gpa=DEV), G2)
    assert free_fields(wide, Arch.AARCH64) == {"signed_ext"}
    assert free_fields(narrow, Arch.AARCH64) == frozenset()


def test_unknown_instruction_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="not an instruction"):
        predict(trap("add x0, x1, x2"), G2)


def test_a_branch_into_unmapped_memory_is_an_execute_nested_page_fault() -> None:
    from harness.model.exits import NestedPageFault
    from harness.model.values import MappingFlags

    got = predict(trap("br x9", {9: 0x9000_0000}, gpa=0x9000_0000), S02)
    assert got == NestedPageFault(GuestPhysAddr(0x9000_0000), MappingFlags(MappingFlags.EXECUTE))
    with pytest.raises(ModelError, match="target GPA"):
        predict(trap("blr x3"), S02)
