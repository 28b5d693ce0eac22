"""RISC-V exit predictions; expected values derived by hand from the ISA and SBI specs."""

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
    NestedPageFault,
    Nothing,
    SysRegRead,
    SysRegWrite,
    SystemDown,
)
from harness.model.isa.asm import assemble, missing_tools
from harness.model.predict import GuestTrap, free_fields, predict
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr, MappingFlags, ModelError, SysRegAddr

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

_MISSING = missing_tools("riscv64")
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

G1, G2 = S01, S02
B, H, W, D = AccessWidth.Byte, AccessWidth.Word, AccessWidth.Dword, AccessWidth.Qword
DEV = 0x0C00_2004
DATA = 0x8877_6655_4433_2211
A0, A6, A7 = 10, 16, 17


def trap(src: str, gprs: dict[int, int] | None = None, gpa: int | None = None) -> GuestTrap:
    return GuestTrap(Arch.RISCV64, assemble("riscv64", src), gprs or {}, gpa)


def ecall(eid: int, fid: int = 0, *args: int) -> GuestTrap:
    gprs = {A7: eid, A6: fid} | {A0 + i: v for i, v in enumerate(args)}
    return trap(".option norvc\necall", gprs)


@pytest.mark.parametrize(
    ("src", "width", "rd", "signed"),
    [(".option norvc\nlb a0, 0(a1)", B, 10, True),
     (".option norvc\nlh a0, 0(a1)", H, 10, True),
     (".option norvc\nlw a0, 0(a1)", W, 10, True),
     (".option norvc\nlbu t0, 0(a1)", B, 5, False),
     (".option norvc\nlhu t0, 0(a1)", H, 5, False),
     (".option norvc\nlwu t0, 0(a1)", W, 5, False),
     ("c.lw s0, 0(a1)", W, 8, True),
     ("c.lwsp ra, 4(sp)", W, 1, True)],
)  # fmt: skip
def test_narrow_loads_predict_sign_extension_from_the_mnemonic(
    src: str, width: AccessWidth, rd: int, signed: bool
) -> None:
    got = predict(trap(src, gpa=DEV), G2)
    assert got == MmioRead(GuestPhysAddr(DEV), width, rd, D, signed)
    assert free_fields(got, Arch.RISCV64) == frozenset()


@pytest.mark.parametrize(
    "src", [".option norvc\nld a0, 0(a1)", "c.ld a0, 0(a1)", "c.ldsp a0, 0(sp)"]
)
def test_ld_predicts_signed_ext_true_and_marks_it_free(src: str) -> None:
    got = predict(trap(src, gpa=DEV), G2)
    assert got == MmioRead(GuestPhysAddr(DEV), D, 10, D, True)
    assert free_fields(got, Arch.RISCV64) == {"signed_ext"}


def test_load_in_schema_0_1_has_no_signed_ext() -> None:
    got = predict(trap(".option norvc\nlb a0, 0(a1)", gpa=DEV), G1)
    assert got == MmioRead(GuestPhysAddr(DEV), B, 10, D)  # signed_ext ABSENT


@pytest.mark.parametrize(
    ("src", "width", "data"),
    [(".option norvc\nsb a2, 0(a0)", B, 0x11), (".option norvc\nsh a2, 0(a0)", H, 0x2211),
     ("c.sw a2, 0(a0)", W, 0x4433_2211), ("c.sdsp a2, 0(sp)", D, DATA)],
)  # fmt: skip
def test_store_data_is_rs2_truncated_to_the_access(src: str, width: AccessWidth, data: int) -> None:
    assert predict(trap(src, {12: DATA}, gpa=DEV), G2) == MmioWrite(GuestPhysAddr(DEV), width, data)


def test_store_of_x0_writes_zero_without_needing_x0_in_gprs() -> None:
    got = predict(trap(".option norvc\nsw zero, 0(a0)", gpa=DEV), G2)
    assert got == MmioWrite(GuestPhysAddr(DEV), W, 0)


def test_legacy_shutdown_is_system_down() -> None:
    assert predict(ecall(0x08), G2) == SystemDown()


def test_legacy_console_putchar_is_handled_internally() -> None:
    assert predict(ecall(0x01, 0, ord("A")), G2) == Nothing()


def test_srst_shutdown_is_system_down_and_looks_only_at_the_low_32_bits() -> None:
    srst = 0x5352_5354  # "SRST"
    assert predict(ecall(srst, 0, 0, 0), G2) == SystemDown()
    assert predict(ecall(srst, 0, 0xFFFF_FFFF_0000_0000, 0), G2) == SystemDown()


def test_srst_reboot_has_no_exit_variant() -> None:
    with pytest.raises(ModelError, match="reset"):
        predict(ecall(0x5352_5354, 0, 1, 0), G2)


def test_hsm_hart_start_is_cpu_up() -> None:
    hsm = 0x48_534D  # "HSM"
    assert predict(ecall(hsm, 0, 3, 0x8020_0000, 0x42), G2) == CpuUp(
        3, GuestPhysAddr(0x8020_0000), 0x42
    )


def test_hsm_hart_stop_and_suspend() -> None:
    hsm = 0x48_534D
    stop = predict(ecall(hsm, 1), G2)
    assert stop == CpuDown(0) and free_fields(stop, Arch.RISCV64) == {"state"}
    assert predict(ecall(hsm, 3, 0, 0, 0), G2) == Halt()
    assert predict(ecall(hsm, 2, 0), G2) == Nothing()


def test_hvc_extension_is_a_hypercall_numbered_by_a6() -> None:
    eid = int.from_bytes(b"HVC", "big")  # 0x485643
    got = predict(ecall(eid, 9, 10, 11, 12, 13, 14, 15), G2)
    assert got == Hypercall(9, (10, 11, 12, 13, 14, 15))


def test_dbcn_and_unknown_extensions_are_handled_internally() -> None:
    assert predict(ecall(int.from_bytes(b"DBCN", "big"), 2, ord("x")), G2) == Nothing()
    assert predict(ecall(0x0A00_0000, 0), G2) == Nothing()


def test_sbi_ipi_has_no_defined_mapping() -> None:
    with pytest.raises(ModelError, match="hart mask"):
        predict(ecall(0x73_5049, 0, 1, 0), G2)


def test_ecall_without_a7_is_an_error() -> None:
    with pytest.raises(ModelError, match="a7"):
        predict(trap(".option norvc\necall"), G2)


def test_wfi_is_halt() -> None:
    assert predict(trap(".option norvc\nwfi"), G2) == Halt()


def test_csr_read_and_write_forms() -> None:
    assert predict(trap(".option norvc\ncsrr a0, satp"), G2) == SysRegRead(SysRegAddr(0x180), 10)
    got = predict(trap(".option norvc\ncsrw satp, t1", {6: 0x8000_0000_0008_0000}), G2)
    assert got == SysRegWrite(SysRegAddr(0x180), 0x8000_0000_0008_0000)
    assert predict(trap(".option norvc\ncsrwi sscratch, 7"), G2) == SysRegWrite(
        SysRegAddr(0x140), 7
    )


def test_csr_read_modify_write_is_not_predicted() -> None:
    with pytest.raises(ModelError, match="read-modify-write"):
        predict(trap(".option norvc\ncsrrw a0, satp, t1", {6: 1}), G2)


@pytest.mark.parametrize("src", [".option norvc\namoswap.w a3, a2, (t6)",
                                 ".option norvc\namoadd.d a0, a1, (a2)"])
def test_an_amo_fault_is_a_nested_page_fault_that_reads_and_writes(src: str) -> None:
    got = predict(trap(src, gpa=DEV), G2)
    assert got == NestedPageFault(GuestPhysAddr(DEV),
                                  MappingFlags(MappingFlags.READ | MappingFlags.WRITE))


def test_an_amo_without_its_data_address_cannot_be_predicted() -> None:
    with pytest.raises(ModelError, match="GPA"):
        predict(trap(".option norvc\namoswap.w a3, a2, (t6)"), G2)


def test_a_jump_into_unmapped_memory_is_an_execute_nested_page_fault() -> None:
    got = predict(trap(".option norvc\njalr x0, 0(t6)", gpa=0x9000_0000), G2)
    assert got == NestedPageFault(GuestPhysAddr(0x9000_0000), MappingFlags(MappingFlags.EXECUTE))
