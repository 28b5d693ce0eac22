"""The AArch64 syndrome rules, on ESR_EL2 values assembled by hand from the Arm ARM's field
layout (ESR_EL2: EC [31:26], IL [25], ISS [24:0]; each value's fields are spelt out next to it),
never from the code under test."""

from __future__ import annotations

from harness.model.exits import MmioRead, MmioWrite, NestedPageFault, SysRegRead
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr, MappingFlags, SysRegAddr
from harness.oracle.context import TrapContext
from harness.oracle.expect import Outcome, judge
from harness.oracle.predict import expect
from harness.oracle.records import A64Trap

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

G = S02
DEV = 0x0800_0E00


def trap(esr: int, far: int | None = DEV, index: int = 4) -> A64Trap:
    return A64Trap(line=1, cpu=0, index=index, name="t", from_el=1, to_el=2, esr=esr, far=far,
                   elr=0x8020_2000)


def ctx(**kw: object) -> TrapContext:
    return TrapContext(G, stage1_off=kw.pop("stage1_off", True), **kw)  # type: ignore[arg-type]


def test_store_word_isv_gives_width_and_takes_data_from_srt() -> None:
    # EC 0x24 | IL | ISV | SAS=0b10 | SRT=1 | WnR | DFSC 0b000110 (translation, level 2)
    esr = 0x24 << 26 | 1 << 25 | 1 << 24 | 2 << 22 | 1 << 16 | 1 << 6 | 0x06
    assert esr == 0x9381_0046  # the value QEMU logged for `str w1, [x9]`
    exp = expect(trap(esr), ctx(gprs={1: 0x1122_3344_DEAD_BEEF}))
    assert exp.variants == ("MmioWrite",)
    assert dict(exp.candidates[0].fields) == {"addr": DEV, "width": "Dword", "data": 0xDEADBEEF}


def test_store_without_the_register_file_leaves_only_data_open() -> None:
    esr = 0x24 << 26 | 1 << 25 | 1 << 24 | 0 << 22 | 2 << 16 | 1 << 6 | 0x06  # strb w2
    exp = expect(trap(esr), ctx())
    ok = judge(exp, MmioWrite(GuestPhysAddr(DEV), AccessWidth.Byte, 0x88))
    assert ok.outcome is Outcome.PARTIAL and ok.undecided[0].startswith("data")
    wide = judge(exp, MmioWrite(GuestPhysAddr(DEV), AccessWidth.Byte, 0x1122_3344_5566_7788))
    assert wide.outcome is Outcome.DIFFER
    assert "does not fit the Byte access" in wide.problems[0]


def test_store_of_xzr_decides_data_zero_without_registers() -> None:
    esr = 0x24 << 26 | 1 << 25 | 1 << 24 | 3 << 22 | 31 << 16 | 1 << 15 | 1 << 6 | 0x06
    exp = expect(trap(esr), ctx())
    assert exp.candidates[0].fields["data"] == 0 and not exp.candidates[0].undecided


def test_sign_extending_byte_load_into_x_register() -> None:
    # ISV | SAS=0 | SSE | SRT=4 | SF | DFSC 6 (ldrsb x4): signed_ext from SSE, reg_width from SF
    esr = 0x24 << 26 | 1 << 25 | 1 << 24 | 1 << 21 | 4 << 16 | 1 << 15 | 0x06
    assert esr == 0x9324_8006
    exp = expect(trap(esr), ctx())
    good = MmioRead(GuestPhysAddr(DEV), AccessWidth.Byte, 4, AccessWidth.Qword, True)
    assert judge(exp, good).outcome is Outcome.AGREE
    bad = MmioRead(GuestPhysAddr(DEV), AccessWidth.Byte, 4, AccessWidth.Qword, False)
    assert judge(exp, bad).problems == ("signed_ext: expected True, got False",)


def test_schema_0_1_has_no_signed_ext_to_decide() -> None:
    esr = 0x24 << 26 | 1 << 25 | 1 << 24 | 1 << 21 | 4 << 16 | 0x06
    exp = expect(trap(esr), TrapContext(S01, stage1_off=True))
    assert "signed_ext" not in exp.candidates[0].fields


def test_isv_zero_decides_direction_and_address_only() -> None:
    esr = 0x24 << 26 | 1 << 25 | 0x06  # ISV = 0, WnR = 0: a load (post-index ldr)
    exp = expect(trap(esr), ctx())
    cand = exp.candidates[0]
    assert cand.variant == "MmioRead" and dict(cand.fields) == {"addr": DEV}
    assert {"width", "reg", "reg_width", "signed_ext"} <= set(cand.undecided)
    narrow = MmioRead(GuestPhysAddr(DEV), AccessWidth.Qword, 7, AccessWidth.Dword, False)
    assert "narrower" in judge(exp, narrow).problems[0]


def test_without_stage1_off_or_hpfar_only_the_page_offset_is_checked() -> None:
    esr = 0x24 << 26 | 1 << 25 | 1 << 24 | 2 << 22 | 1 << 16 | 1 << 6 | 0x06
    exp = expect(trap(esr, far=0xFFFF_0000_1234_5E04), ctx(stage1_off=False, gprs={1: 5}))
    assert "addr" in exp.candidates[0].undecided
    same_offset = MmioWrite(GuestPhysAddr(0x0900_0E04), AccessWidth.Dword, 5)
    assert judge(exp, same_offset).outcome is Outcome.PARTIAL
    other = MmioWrite(GuestPhysAddr(0x0900_0E08), AccessWidth.Dword, 5)
    assert "offset 0xe04" in judge(exp, other).problems[0]


def test_hpfar_gives_the_ipa_page_and_far_its_offset() -> None:
    esr = 0x24 << 26 | 1 << 25 | 1 << 24 | 2 << 22 | 1 << 16 | 1 << 6 | 0x06
    hpfar = (0x0900_0000 >> 12) << 4  # FIPA in bits [43:4]
    exp = expect(trap(esr, far=0xFFFF_8000_0000_0E04), ctx(stage1_off=False, hpfar=hpfar,
                                                           gprs={1: 5}))
    assert exp.candidates[0].fields["addr"] == 0x0900_0E04


def test_stage2_fault_on_stage1_walk_is_a_nested_fault_in_the_descriptor_page() -> None:
    # ISV = 0 | S1PTW (bit 7) | WnR = 0 | DFSC 0b000101 (translation, level 1)
    esr = 0x24 << 26 | 1 << 25 | 1 << 7 | 0x05
    hpfar = (0x4000_3000 >> 12) << 4
    exp = expect(trap(esr, far=0xFFFF_0000_0000_0010), ctx(stage1_off=False, hpfar=hpfar))
    assert exp.variants == ("NestedPageFault",) and "S1PTW" in exp.rule
    inside = NestedPageFault(GuestPhysAddr(0x4000_3FF8), MappingFlags(MappingFlags.READ))
    assert judge(exp, inside).outcome is Outcome.PARTIAL
    outside = NestedPageFault(GuestPhysAddr(0x4000_4000), MappingFlags(MappingFlags.READ))
    assert "outside the faulting page" in judge(exp, outside).problems[0]
    as_mmio = MmioRead(GuestPhysAddr(0x4000_3000), AccessWidth.Qword, 0, AccessWidth.Qword,
                       False)
    assert judge(exp, as_mmio).outcome is Outcome.DIFFER


def test_walk_fault_with_wnr_is_a_hardware_update_of_the_descriptor() -> None:
    esr = 0x24 << 26 | 1 << 25 | 1 << 7 | 1 << 6 | 0x09  # S1PTW | WnR | access flag, level 1
    exp = expect(trap(esr), ctx(stage1_off=False))
    assert exp.candidates[0].fields["access_flags"] == MappingFlags.READ | MappingFlags.WRITE


def test_permission_fault_is_a_nested_fault_with_the_decoded_access_as_alternative() -> None:
    # ISV | SAS=0b11 | SRT=2 | SF | WnR | DFSC 0b001111 (permission, level 3)
    esr = 0x24 << 26 | 1 << 25 | 1 << 24 | 3 << 22 | 2 << 16 | 1 << 15 | 1 << 6 | 0x0F
    assert esr == 0x93C2_804F
    exp = expect(trap(esr), ctx(gprs={2: 7}))
    assert exp.variants == ("NestedPageFault", "MmioWrite")
    assert exp.candidates[0].fields["access_flags"] == MappingFlags.WRITE


def test_alignment_and_cache_maintenance_faults_report_nothing() -> None:
    assert expect(trap(0x24 << 26 | 1 << 25 | 0x21), ctx()).variants == ("Nothing",)
    cm = 0x24 << 26 | 1 << 25 | 1 << 8 | 1 << 6 | 0x06  # CM (bit 8), WnR set as for DC ops
    assert expect(trap(cm), ctx()).variants == ("Nothing",)


def test_external_abort_has_no_exit_class() -> None:
    exp = expect(trap(0x24 << 26 | 1 << 25 | 0x10), ctx())
    assert not exp.candidates and "external abort" in exp.outside


def test_instruction_abort_is_an_execute_nested_fault_at_far() -> None:
    esr = 0x20 << 26 | 1 << 25 | 0x06  # EC 0x20, IFSC translation level 2
    assert esr == 0x8200_0006
    exp = expect(trap(esr, far=0x9000_0000, index=3), ctx())
    assert dict(exp.candidates[0].fields) == {"addr": 0x9000_0000,
                                              "access_flags": MappingFlags.EXECUTE}


def test_hvc_meaning_comes_from_x0() -> None:
    esr = 0x16 << 26 | 1 << 25  # HVC #0
    assert esr == 0x5A00_0000
    off = expect(trap(esr, far=None, index=11), ctx(gprs={0: 0x8400_0008}))
    assert off.variants[0] == "SystemDown"
    unknown = expect(trap(esr, far=None, index=11), ctx())
    assert set(unknown.variants) == {"Hypercall", "CpuUp", "CpuDown", "SystemDown"}


def test_smc_that_is_not_psci_is_handled_by_the_vcpu() -> None:
    esr = 0x17 << 26 | 1 << 25
    exp = expect(trap(esr, far=None, index=13), ctx(gprs={0: 0x8200_0000}))
    assert exp.variants == ("Nothing",)


def test_mrs_cntpct_reads_into_rt_and_masks_rt_and_direction_from_the_address() -> None:
    # Op0=3 [21:20], Op2=1 [19:17], Op1=3 [16:14], CRn=14 [13:10], Rt=5 [9:5], CRm=0, read
    iss = 3 << 20 | 1 << 17 | 3 << 14 | 14 << 10 | 5 << 5 | 0 << 1 | 1
    esr = 0x18 << 26 | 1 << 25 | iss
    assert esr == 0x6232_F8A1
    exp = expect(trap(esr, far=None, index=1), ctx())
    assert judge(exp, SysRegRead(SysRegAddr(0x32_F800), 5)).outcome is Outcome.AGREE
    assert "Nothing" in exp.variants


def test_msr_sgi1r_is_send_ipi_from_the_written_value() -> None:
    # ICC_SGI1R_EL1: Op0=3, Op1=0, CRn=12, CRm=11, Op2=5, written from x8
    iss = 3 << 20 | 5 << 17 | 0 << 14 | 12 << 10 | 8 << 5 | 11 << 1 | 0
    assert 0x18 << 26 | 1 << 25 | iss == 0x623A_3116
    exp = expect(trap(0x18 << 26 | 1 << 25 | iss, far=None, index=1),
                 ctx(gprs={8: 1 << 24 | 1}))  # INTID 1, target list bit 0
    assert exp.variants[0] == "SendIPI"
    assert exp.candidates[0].fields["target_cpu_aux"] == 1


def test_schema_without_send_ipi_reports_the_sgi1r_write_as_a_register_write() -> None:
    iss = 3 << 20 | 5 << 17 | 0 << 14 | 12 << 10 | 8 << 5 | 11 << 1 | 0
    exp = expect(trap(0x18 << 26 | 1 << 25 | iss, far=None, index=1),
                 TrapContext(S01, {8: 1 << 24 | 1}, stage1_off=True))
    assert exp.variants == ("SysRegWrite", "Nothing")


def test_wfi_and_wfe_are_halt() -> None:
    assert expect(trap(0x01 << 26 | 1 << 25, index=1), ctx()).variants == ("Halt",)
    assert expect(trap(0x01 << 26 | 1 << 25 | 1, index=1), ctx()).variants == ("Halt",)


def test_interrupt_from_the_guest_is_asynchronous() -> None:
    exp = expect(trap(0x0389_0000, far=None, index=5), ctx())  # stale ESR, as QEMU prints
    assert exp.asynchronous and exp.variants == ("ExternalInterrupt", "Nothing")
