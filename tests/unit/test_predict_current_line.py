"""Predictions under the current line's contract (axvm 0.8): the same trapping instruction,
predicted once, carried to ArmVmExit / RiscvVmExit / X86VmExit by the schema's [[change]]
entries, each change applied named in a note. Expected values by hand from axvm 0.8.5's
sources (cited per test) and the manuals."""

from __future__ import annotations

import pytest

from harness.model.arch import Arch
from harness.model.exits import (
    ABSENT,
    CpuDown,
    DeactivateInterrupt,
    GicCpuInterfaceRead,
    GicCpuInterfaceWrite,
    Halt,
    Hypercall,
    IoWrite,
    MmioRead,
    Nothing,
    SendIPI,
    SendIPIHartMask,
    SendIPISgi1r,
    SysRegRead,
    SysRegWrite,
    SystemDown,
    WaitForInterrupt,
)
from harness.model.isa.asm import assemble, missing_tools
from harness.model.predict import GuestTrap, configured, predict, prediction
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr, ModelError, Port, SysRegAddr

A8, G2, G1 = schema("axvm-0.8"), schema("axvcpu-0.2"), schema("axvcpu-0.1")
ARGS = {1: 0x11, 2: 0x22, 3: 0x33, 4: 0x44, 5: 0x55, 6: 0x66}


def a64(src: str, gprs: dict[int, int], gpa: int | None = None) -> GuestTrap:
    if missing_tools("aarch64"):
        pytest.skip(str(missing_tools("aarch64")))
    return GuestTrap(Arch.AARCH64, assemble("aarch64", src), gprs, gpa)


def rv(src: str, gprs: dict[int, int], gpa: int | None = None) -> GuestTrap:
    if missing_tools("riscv64"):
        pytest.skip(str(missing_tools("riscv64")))
    return GuestTrap(Arch.RISCV64, assemble("riscv64", src), gprs, gpa)


@pytest.mark.parametrize(("fid", "canonical"), [
    (0x8400_0008, SystemDown()), (0x8400_0002, CpuDown(0)),
])
def test_a_psci_call_is_a_hypercall_with_the_raw_registers(fid: int, canonical: object) -> None:
    # axvm 0.8.5 src/arch/aarch64/policy/exception.rs:229-247: nr = x0, args = x1..x6
    trap = a64("hvc #0", {0: fid, **ARGS})
    assert predict(trap, G2) == canonical
    got = prediction(trap, A8)
    assert got.exit == Hypercall(fid, (0x11, 0x22, 0x33, 0x44, 0x55, 0x66))
    assert got.canonical == canonical and got.undecided == frozenset()
    assert [(n.old, n.new) for n in got.notes] == [(type(canonical).__name__, "Hypercall")]
    assert "exception.rs:229-247" in str(got.notes[0])


def test_a_psci_call_whose_argument_registers_are_unknown_leaves_args_undecided() -> None:
    # the runtime's own SYSTEM_OFF sets only x0: x1..x6 hold whatever the payload left
    got = prediction(a64("hvc #0", {0: 0x8400_0008}), A8)
    assert isinstance(got.exit, Hypercall) and got.exit.nr == 0x8400_0008
    assert got.undecided == {"args"}


def test_cpu_on_picks_the_change_of_its_calling_convention() -> None:
    got = prediction(a64("smc #0", {0: 0xC400_0003, 1: 1, 2: 0x8020_0000, 3: 0x42,
                                    4: 0, 5: 0, 6: 0}), A8)
    assert got.exit == Hypercall(0xC400_0003, (1, 0x8020_0000, 0x42, 0, 0, 0))
    assert "SMC64" in got.notes[0].what


def test_psci_version_over_hvc_is_answered_inside_but_a_plain_hypercall_is_not() -> None:
    # exception.rs:78-80,112-121
    assert predict(a64("hvc #0", {0: 0x8400_0000, **ARGS}), A8) == Nothing()
    assert predict(a64("hvc #0", {0: 0x8400_0000, **ARGS}), G2) == \
        Hypercall(0x8400_0000, (0x11, 0x22, 0x33, 0x44, 0x55, 0x66))
    assert predict(a64("hvc #0", {0: 0x4AB1, **ARGS}), A8) == \
        Hypercall(0x4AB1, (0x11, 0x22, 0x33, 0x44, 0x55, 0x66))


def test_wfi_traps_as_wait_for_interrupt() -> None:
    assert predict(a64("wfi", {}), A8) == WaitForInterrupt()


def test_wfi_is_no_exit_where_the_line_leaves_hcr_el2_twi_clear() -> None:
    # ARM ARM D1.19.2: WFI traps to EL2 only with HCR_EL2.TWI; arm_vcpu 0.2.2 src/vcpu.rs:192-200
    # never sets it, so the same guest instruction completes in the guest on the axvcpu line.
    assert predict(a64("wfi", {}), G2) == Halt()  # had it trapped
    got = configured(prediction(a64("wfi", {}), G2), Arch.AARCH64, G2)
    assert configured(prediction(a64("wfi", {}), A8), Arch.AARCH64, A8).exit == WaitForInterrupt()
    assert got.exit is None and got.canonical is not None and got.canonical.VARIANT == "Halt"
    assert [(n.old, n.new) for n in got.notes] == [("Halt", "")]
    assert "HCR_EL2.TWI" in got.notes[0].what


def test_an_sgi_write_carries_the_raw_register_and_older_schemas_decode_or_keep_it() -> None:
    value = 0x0100_0200_0000  # IRM = 1, INTID 2
    trap = a64("msr icc_sgi1r_el1, x8", {8: value})
    assert predict(trap, A8) == SendIPISgi1r(value)
    assert predict(trap, G2) == SendIPI(0, 0, True, False, 2)
    assert predict(trap, G1) == SysRegWrite(SysRegAddr(0x3A3016), value)  # no SendIPI yet


def test_gic_cpu_interface_and_deactivation_have_their_own_kinds() -> None:
    # src/arch/aarch64/policy/vcpu.rs:380-410
    assert predict(a64("mrs x5, icc_pmr_el1", {}), A8) == GicCpuInterfaceRead("PriorityMask", 5)
    assert predict(a64("msr icc_ctlr_el1, x7", {7: 3}), A8) == GicCpuInterfaceWrite("Control", 3)
    assert predict(a64("msr icc_dir_el1, x7", {7: 0xFF12_3456}), A8) == \
        DeactivateInterrupt(0x12_3456)
    assert predict(a64("mrs x5, icc_pmr_el1", {}), G2) == SysRegRead(SysRegAddr(0x30100C), 5)


def test_the_el1_physical_timer_is_emulated_inside() -> None:
    # src/arch/aarch64/policy/vcpu.rs:321-367
    assert predict(a64("mrs x5, cntpct_el0", {}), A8) == Nothing()
    assert predict(a64("msr cntp_ctl_el0, x7", {7: 1}), A8) == Nothing()


def test_a_kind_the_line_removed_is_no_prediction_with_the_note_saying_so() -> None:
    got = prediction(a64("br x9", {9: 0x9000_0000}, 0x9000_0000), A8)
    assert got.exit is None
    assert [(n.old, n.new) for n in got.notes] == [("NestedPageFault", "")]
    with pytest.raises(ModelError, match="has no exit for this trap: gone"):
        predict(a64("br x9", {9: 0x9000_0000}, 0x9000_0000), A8)


def test_riscv_sbi_ipi_gets_a_prediction_only_where_the_contract_has_one() -> None:
    trap = rv("ecall", {17: 0x73_5049, 16: 0, 10: 0b101, 11: 0})
    with pytest.raises(ModelError, match="hart mask"):
        predict(trap, G2)
    assert predict(trap, A8) == SendIPIHartMask(0b101, 0, "SbiV02")


def test_a_legacy_sbi_ipi_is_a_hart_mask_request_whose_mask_the_trap_does_not_show() -> None:
    # SBI v2.0 legacy EID 0x04: a0 points at the mask in guest memory; axvm 0.8.5 reads it there
    # (src/arch/riscv64/policy/sbi_ipi.rs:30-47), base 0, abi Legacy
    trap = rv("ecall", {17: 0x04, 10: 0x8000_0000})
    assert predict(trap, G2) == Nothing()  # the axvcpu line: handled by the vCPU
    got = prediction(trap, A8)
    assert got.exit == SendIPIHartMask(0, 0, "Legacy") and got.undecided == {"hart_mask"}


def test_riscv_hart_stop_is_unchanged_but_the_load_keeps_its_signed_ext() -> None:
    assert predict(rv("ecall", {17: 0x48_534D, 16: 1}), A8) == CpuDown(0)
    got = prediction(rv("lb a0, 0(a1)", {11: 0x0C00_1F00}, 0x0C00_1F00), A8)
    assert got.exit == MmioRead(GuestPhysAddr(0x0C00_1F00), AccessWidth.Byte, 10,
                                AccessWidth.Qword, True)
    assert got.notes == ()  # nothing about it changed


def _x86(code: bytes, gprs: dict[int, int]) -> GuestTrap:
    return GuestTrap(Arch.X86_64, code, gprs, backend="svm", x86_code_bits=16)


def test_x86_msr_read_has_no_reg_and_the_acpi_write_stays_a_port_write() -> None:
    rdmsr = prediction(_x86(b"\x0f\x32", {1: 0x1B}), A8)
    assert rdmsr.exit == SysRegRead(SysRegAddr(0x1B))
    assert isinstance(rdmsr.exit, SysRegRead) and rdmsr.exit.reg is ABSENT
    assert "has no `reg`" in rdmsr.notes[0].what
    out = _x86(b"\xef", {0: 0x2000, 2: 0x604})  # out dx, ax
    assert predict(out, G2) == SystemDown()
    assert predict(out, A8) == IoWrite(Port(0x604), AccessWidth.Word, 0x2000)
