"""x86-64 exit predictions; expected values derived by hand from the SDM/APM."""

from __future__ import annotations

import pytest

from harness.model.arch import Arch
from harness.model.exits import (
    CpuUp,
    Halt,
    Hypercall,
    IoRead,
    IoWrite,
    NestedPageFault,
    Nothing,
    SendIPI,
    SysRegRead,
    SysRegWrite,
    SystemDown,
)
from harness.model.isa.asm import assemble, missing_tools
from harness.model.predict import GuestTrap, free_fields, predict
from harness.model.schemas import schema
from harness.model.values import (
    AccessWidth,
    GuestPhysAddr,
    MappingFlags,
    ModelError,
    Port,
    SysRegAddr,
)

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

_MISSING = missing_tools("x86_64")
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

G1, G2 = S01, S02
B, W, D = AccessWidth.Byte, AccessWidth.Word, AccessWidth.Dword
RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9 = range(10)


def trap(src: str, gprs: dict[int, int] | None = None, backend: str = "") -> GuestTrap:
    return GuestTrap(Arch.X86_64, assemble("x86_64", src), gprs or {}, None, backend)


@pytest.mark.parametrize(("src", "width"), [("inb $0x71, %al", B), ("inw $0x71, %ax", W),
                                            ("inl $0x71, %eax", D)])  # fmt: skip
def test_in_with_immediate_port(src: str, width: AccessWidth) -> None:
    assert predict(trap(src), G2) == IoRead(Port(0x71), width)


def test_in_with_dx_port_uses_only_dx() -> None:
    got = predict(trap("inw (%dx), %ax", {RDX: 0xFFFF_FFFF_0001_0CF8}), G2)
    assert got == IoRead(Port(0x0CF8), W)


@pytest.mark.parametrize(("src", "width", "data"),
                         [("outb %al, $0x80", B, 0x88), ("outw %ax, (%dx)", W, 0x7788),
                          ("outl %eax, (%dx)", D, 0x5566_7788)])  # fmt: skip
def test_out_data_is_rax_truncated_to_the_port_width(
    src: str, width: AccessWidth, data: int
) -> None:
    got = predict(trap(src, {RAX: 0x1122_3344_5566_7788, RDX: 0x80}), G2)
    assert got == IoWrite(Port(0x80), width, data)


def test_acpi_pm1a_sleep_write_of_0x2000_is_system_down() -> None:
    assert predict(trap("outw %ax, (%dx)", {RAX: 0x2000, RDX: 0x604}), G2) == SystemDown()


def test_acpi_shutdown_rule_compares_ax_not_the_whole_rax() -> None:
    # The port receives AX; RAX[63:16] never leaves the CPU.
    got = predict(trap("outw %ax, (%dx)", {RAX: 0xABCD_0000_2000, RDX: 0x604}), G2)
    assert got == SystemDown()


@pytest.mark.parametrize(("src", "rax"), [("outw %ax, (%dx)", 0x2001),
                                          ("outl %eax, (%dx)", 0x2000),
                                          ("outb %al, (%dx)", 0x2000)])  # fmt: skip
def test_other_writes_to_the_acpi_port_stay_io_writes(src: str, rax: int) -> None:
    got = predict(trap(src, {RAX: rax, RDX: 0x604}), G2)
    assert isinstance(got, IoWrite) and got.port == Port(0x604)


def test_string_port_io_has_no_exit_variant() -> None:
    with pytest.raises(ModelError, match="string port I/O"):
        predict(trap("rep outsb", {RDX: 0x3F8}), G2)


def test_rdmsr_reads_ecx_and_leaves_reg_free() -> None:
    got = predict(trap("rdmsr", {RCX: 0xFFFF_FFFF_C000_0080}), G2)
    assert got == SysRegRead(SysRegAddr(0xC000_0080), 0)
    assert free_fields(got, Arch.X86_64) == {"reg"}


def test_wrmsr_value_is_edx_eax() -> None:
    gprs = {RCX: 0x1B, RDX: 0xAAAA_AAAA_0000_0001, RAX: 0xBBBB_BBBB_FEE0_0900}
    assert predict(trap("wrmsr", gprs), G2) == SysRegWrite(SysRegAddr(0x1B), 0x1_FEE0_0900)


def _icr(vector: int, mode: int, shorthand: int, dest: int) -> dict[int, int]:
    # x2APIC ICR: vector[7:0], delivery mode[10:8], shorthand[19:18], destination[63:32].
    value = vector | mode << 8 | shorthand << 18 | dest << 32
    return {RCX: 0x830, RAX: value & 0xFFFF_FFFF, RDX: value >> 32}


def test_fixed_ipi_through_the_x2apic_icr_is_send_ipi() -> None:
    assert predict(trap("wrmsr", _icr(0xF0, 0, 0, 3)), G2) == SendIPI(3, 0, False, False, 0xF0)


@pytest.mark.parametrize(("shorthand", "to_self", "to_all"), [(1, True, False),
                                                              (2, True, True),
                                                              (3, False, True)])  # fmt: skip
def test_icr_shorthands_set_self_and_all(shorthand: int, to_self: bool, to_all: bool) -> None:
    got = predict(trap("wrmsr", _icr(0x40, 0, shorthand, 0)), G2)
    assert isinstance(got, SendIPI)
    assert (got.send_to_self, got.send_to_all, got.vector) == (to_self, to_all, 0x40)
    assert {"target_cpu", "target_cpu_aux"} <= free_fields(got, Arch.X86_64)


def test_startup_ipi_is_cpu_up_at_vector_times_4k() -> None:
    got = predict(trap("wrmsr", _icr(0x9A, 6, 0, 2)), G2)
    assert got == CpuUp(2, GuestPhysAddr(0x9_A000), 0)
    assert free_fields(got, Arch.X86_64) == {"arg"}


def test_init_ipi_is_handled_internally_and_nmi_is_not_modelled() -> None:
    assert predict(trap("wrmsr", _icr(0, 5, 0, 1)), G2) == Nothing()
    with pytest.raises(ModelError, match="delivery mode 4"):
        predict(trap("wrmsr", _icr(0, 4, 0, 1)), G2)


def test_fixed_ipi_in_schema_0_1_is_a_plain_msr_write() -> None:
    got = predict(trap("wrmsr", _icr(0xF0, 0, 0, 3)), G1)
    assert got == SysRegWrite(SysRegAddr(0x830), 3 << 32 | 0xF0)


_HC_REGS = {RAX: 7, RDI: 1, RSI: 2, RDX: 3, RCX: 4, R8: 5, R9: 6, RBX: 99}


@pytest.mark.parametrize(("src", "backend"), [("vmcall", "vmx"), ("vmcall", ""),
                                              ("vmmcall", "svm"), ("vmmcall", "")])  # fmt: skip
def test_hypercall_takes_rax_then_rdi_rsi_rdx_rcx_r8_r9(src: str, backend: str) -> None:
    assert predict(trap(src, _HC_REGS, backend), G2) == Hypercall(7, (1, 2, 3, 4, 5, 6))


@pytest.mark.parametrize(("src", "backend"), [("vmcall", "svm"), ("vmmcall", "vmx")])
def test_other_vendors_hypercall_instruction_is_not_a_hypercall(src: str, backend: str) -> None:
    with pytest.raises(ModelError, match="#UD"):
        predict(trap(src, _HC_REGS, backend), G2)


def test_hlt_is_halt() -> None:
    assert predict(trap("hlt"), G2) == Halt()


def real_mode(src: str, gprs: dict[int, int]) -> GuestTrap:
    return GuestTrap(Arch.X86_64, assemble("x86_64", ".code16\n" + src), gprs, None, "svm", 16)


def test_real_mode_acpi_shutdown_is_system_down() -> None:
    assert predict(real_mode("outw %ax, %dx", {RAX: 0x2000, RDX: 0x604}), G2) == SystemDown()


def test_real_mode_outl_is_a_dword_write() -> None:
    got = predict(real_mode("outl %eax, %dx", {RAX: 0x1234_5678, RDX: 0x80}), G2)
    assert got == IoWrite(Port(0x80), D, 0x1234_5678)


def test_code_size_is_rejected_off_x86() -> None:
    with pytest.raises(ModelError, match="x86-only"):
        GuestTrap(Arch.AARCH64, b"\x02\x00\x00\xd4", {}, None, "", 16)


@pytest.mark.parametrize(("src", "flag"), [("movb %al, (%bx)", MappingFlags.WRITE),
                                           ("movl (%bx), %eax", MappingFlags.READ)])
def test_a_real_mode_mov_into_unmapped_memory_is_a_nested_page_fault_of_its_kind(
        src: str, flag: int) -> None:
    insn = assemble("x86_64", ".code16\n" + src)
    got = predict(GuestTrap(Arch.X86_64, insn, {RAX: 0x5A}, 0xA_0000, "svm", 16), G2)
    assert got == NestedPageFault(GuestPhysAddr(0xA_0000), MappingFlags(flag))
    with pytest.raises(ModelError, match="GPA"):
        predict(GuestTrap(Arch.X86_64, insn, {}, None, "svm", 16), G2)


def test_a_far_jump_into_unmapped_memory_is_an_execute_nested_page_fault() -> None:
    insn = assemble("x86_64", ".code16\nljmp $0xa000, $0x0")
    assert insn[0] == 0xEA and len(insn) == 5
    got = predict(GuestTrap(Arch.X86_64, insn, {}, 0xA_0000, "svm", 16), G2)
    assert got == NestedPageFault(GuestPhysAddr(0xA_0000), MappingFlags(MappingFlags.EXECUTE))
