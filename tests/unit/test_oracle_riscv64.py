"""The RISC-V syndrome rules: scause with stval (and htval/htinst when a caller has them), on
instruction encodings assembled by hand from the Zicsr / privileged instruction layouts
(fields spelt out next to each value), never from the code under test."""

from __future__ import annotations

from harness.model.exits import MmioRead, SysRegRead, SysRegWrite
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr, MappingFlags, SysRegAddr
from harness.oracle.context import TrapContext
from harness.oracle.expect import Outcome, judge
from harness.oracle.predict import expect
from harness.oracle.records import RvTrap

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

G = S02
PLIC = 0x0C00_1F00


def trap(cause: int, tval: int = 0, is_async: bool = False, epc: int = 0x8020_2000) -> RvTrap:
    return RvTrap(line=1, cpu=0, is_async=is_async, cause=cause, epc=epc, tval=tval, desc="d")


def ctx(**kw: object) -> TrapContext:
    return TrapContext(G, stage1_off=kw.pop("stage1_off", True), **kw)  # type: ignore[arg-type]


def csr(csr_no: int, rs1: int, funct3: int, rd: int) -> int:
    return csr_no << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | 0x73


def test_hand_assembled_csr_encodings() -> None:
    assert csr(0x680, 0, 2, 10) == 0x6800_2573  # csrr a0, hgatp (what the scenario logs)
    assert csr(0x180, 11, 1, 0) == 0x1805_9073  # csrw satp, a1


def test_virtual_instruction_csr_read_of_hgatp() -> None:
    exp = expect(trap(22, csr(0x680, 0, 2, 10)), ctx())
    assert judge(exp, SysRegRead(SysRegAddr(0x680), 10)).outcome is Outcome.AGREE
    assert judge(exp, SysRegRead(SysRegAddr(0x680), 11)).outcome is Outcome.DIFFER
    assert exp.variants == ("SysRegRead", "Nothing")


def test_satp_write_under_vtvm_takes_its_value_from_rs1() -> None:
    exp = expect(trap(22, csr(0x180, 11, 1, 0)), ctx(gprs={11: 0x8000_0000_0008_0400}))
    assert "VTVM" in exp.rule
    value = SysRegWrite(SysRegAddr(0x180), 0x8000_0000_0008_0400)
    assert judge(exp, value).outcome is Outcome.AGREE
    assert "value" in expect(trap(22, csr(0x180, 11, 1, 0)), ctx()).candidates[0].undecided


def test_csrrwi_writes_its_immediate() -> None:
    exp = expect(trap(22, csr(0x180, 5, 5, 0)), ctx())  # csrwi satp, 5
    assert exp.candidates[0].fields == {"addr": 0x180, "value": 5}


def test_read_modify_write_csr_has_no_single_exit() -> None:
    exp = expect(trap(22, csr(0x180, 11, 2, 10)), ctx())  # csrrs a0, satp, a1
    assert not exp.candidates and "read-modify-write" in exp.outside


def test_counter_read_hidden_by_hcounteren() -> None:
    exp = expect(trap(22, csr(0xC01, 0, 2, 10)), ctx())  # rdtime a0
    assert exp.candidates[0].fields == {"addr": 0xC01, "reg": 10}


def test_vtw_wfi_is_halt_and_vtsr_sret_and_vtvm_sfence_are_handled() -> None:
    assert expect(trap(22, 0x1050_0073), ctx()).variants == ("Halt",)  # wfi
    assert expect(trap(22, 0x1020_0073), ctx()).variants == ("Nothing",)  # sret
    sfence = 0b0001001 << 25 | 0x73  # sfence.vma x0, x0
    assert sfence == 0x1200_0073
    assert expect(trap(22, sfence), ctx()).variants == ("Nothing",)
    sinval = 0b0001011 << 25 | 10 << 15 | 0x73  # sinval.vma a0, x0
    assert expect(trap(22, sinval), ctx()).variants == ("Nothing",)


def test_hypervisor_load_in_vs_mode_is_reflected_to_the_guest() -> None:
    hlv_w = 0b0110100 << 25 | 11 << 15 | 4 << 12 | 10 << 7 | 0x73  # hlv.w a0, (a1)
    assert hlv_w == 0x6805_C573
    assert expect(trap(22, hlv_w), ctx()).variants == ("Nothing",)


def test_virtual_instruction_with_zero_stval_leaves_everything_open() -> None:
    exp = expect(trap(22, 0), ctx())
    assert set(exp.variants) == {"Halt", "Nothing", "SysRegRead", "SysRegWrite"}


def test_load_guest_page_fault_decides_address_and_reg_width_only() -> None:
    exp = expect(trap(21, PLIC), ctx())
    cand = exp.candidates[0]
    assert dict(cand.fields) == {"addr": PLIC, "reg_width": "Qword"}
    assert {"width", "reg", "signed_ext"} <= set(cand.undecided)


def test_transformed_load_in_htinst_decides_width_register_and_sign() -> None:
    lw_a5 = 2 << 12 | 15 << 7 | 0x03  # transformed lw a5 (rs1 = offset 0, imm 0)
    exp = expect(trap(21, PLIC), ctx(htinst=lw_a5))
    good = MmioRead(GuestPhysAddr(PLIC), AccessWidth.Dword, 15, AccessWidth.Qword, True)
    assert judge(exp, good).outcome is Outcome.AGREE
    lhu = 5 << 12 | 15 << 7 | 0x03
    assert expect(trap(21, PLIC), ctx(htinst=lhu)).candidates[0].fields["signed_ext"] is False


def test_a_transformed_compressed_access_in_htinst_is_decoded_like_its_32_bit_form() -> None:
    """§8.6.3: bit 0 of a transformed instruction is 1; bit 1 is 0 when the trapping
    instruction was 16 bits (c.lw, c.sw), the fields being those of the 32-bit equivalent.
    QEMU 10 gives this form for the Linux PLIC driver's c.lw/c.sw (211 of 319 faults)."""
    c_lw_a5 = 2 << 12 | 15 << 7 | 0x01  # c.lw a5: lw's fields, bits 1:0 = 01
    exp = expect(trap(21, PLIC), ctx(htinst=c_lw_a5))
    assert exp.candidates[0].fields == {"addr": PLIC, "reg_width": "Qword", "width": "Dword",
                                        "reg": 15, "signed_ext": True}
    c_sw_a4 = 14 << 20 | 2 << 12 | 0x21  # c.sw a4
    store = expect(trap(23, PLIC), ctx(htinst=c_sw_a4, gprs={14: 0xFFFF_FFFF_8000_0001}))
    assert store.candidates[0].fields == {"addr": PLIC, "width": "Dword", "data": 0x8000_0001}
    pseudo = 0x0000_3000  # §8.6.3 pseudoinstruction (bits 1:0 = 00): an implicit VS-stage read
    assert "width" in expect(trap(21, PLIC), ctx(htinst=pseudo)).candidates[0].undecided


def test_htval_gives_the_gpa_when_vs_translation_is_on() -> None:
    exp = expect(trap(21, 0xFFFF_FFC0_0000_1F04), ctx(stage1_off=False,
                                                       htval=0x0C00_1F04 >> 2))
    assert exp.candidates[0].fields["addr"] == 0x0C00_1F04
    offset_only = expect(trap(21, 0xFFFF_FFC0_0000_1F04), ctx(stage1_off=False))
    assert offset_only.candidates[0].page_offset == 0xF04


def test_store_fault_is_a_store_or_an_amo_until_htinst_says() -> None:
    exp = expect(trap(23, PLIC), ctx())
    assert exp.variants == ("MmioWrite", "NestedPageFault")
    assert exp.candidates[1].fields["access_flags"] == MappingFlags.READ | MappingFlags.WRITE
    sw_a1 = 11 << 20 | 2 << 12 | 0x23  # transformed sw a1
    assert sw_a1 == 0x00B0_2023
    store = expect(trap(23, PLIC), ctx(htinst=sw_a1, gprs={11: 0x1122_3344_5566_7788}))
    assert store.candidates[0].fields == {"addr": PLIC, "width": "Dword", "data": 0x5566_7788}
    amoswap = 0b00001 << 27 | 2 << 12 | 0x2F
    assert expect(trap(23, PLIC), ctx(htinst=amoswap)).variants == ("NestedPageFault",)


def test_instruction_guest_page_fault_is_an_execute_nested_fault() -> None:
    exp = expect(trap(20, 0x9000_0000), ctx())
    assert exp.candidates[0].fields == {"addr": 0x9000_0000, "access_flags": MappingFlags.EXECUTE}


def test_vs_ecall_meaning_comes_from_a7_a6() -> None:
    shutdown = expect(trap(10), ctx(gprs={17: 0x5352_5354, 16: 0, 10: 0}))  # SRST shutdown
    assert shutdown.variants == ("SystemDown",)
    assert "Hypercall" in expect(trap(10), ctx()).variants


def test_vs_level_interrupts_belong_to_the_guest_and_hs_ones_are_asynchronous() -> None:
    vs_timer = expect(trap(6, is_async=True), ctx())
    assert vs_timer.asynchronous and not vs_timer.candidates
    s_ext = expect(trap(9, is_async=True), ctx())
    assert s_ext.asynchronous and s_ext.variants == ("ExternalInterrupt", "Nothing")


def test_causes_hs_mode_raises_itself_have_no_rule() -> None:
    assert not expect(trap(9), ctx()).candidates  # ecall from HS-mode to the SBI firmware
