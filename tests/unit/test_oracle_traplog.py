"""Parsing QEMU 10.0's trap log into typed records, on real logs captured from the suite's
scenarios (tests/unit/data/oracle/<image>_<scenario>/trap-log/, with the payload that ran)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.model.arch import Arch
from harness.oracle.records import A64Trap, RvTrap, SvmExit
from harness.oracle.traplog import TrapLogError, parse_trap_dir, parse_trap_log

DATA = Path(__file__).parent / "data" / "oracle"


def test_aarch64_guest_traps_are_told_from_the_hypervisors_own_interrupts() -> None:
    traps = parse_trap_dir(DATA / "aarch64_mmio-store-b" / "trap-log", Arch.AARCH64)[0]
    assert all(isinstance(t, A64Trap) for t in traps)
    guest = [t for t in traps if isinstance(t, A64Trap) and t.from_guest]
    assert [(t.name, t.esr, t.far, t.elr) for t in guest] == [
        ("Data Abort", 0x9302_0046, 0x0800_0E00, 0x8020_201C),  # strb w2, [x9]
        ("Hypervisor Call", 0x5A00_0000, None, 0x8020_0034),  # the runtime's SYSTEM_OFF
    ]
    el2_irqs = [t for t in traps if isinstance(t, A64Trap) and t.from_el == 2]
    assert el2_irqs and all(t.is_async for t in el2_irqs)


def test_aarch64_sysreg_trap_and_guest_interrupt() -> None:
    traps = parse_trap_dir(DATA / "aarch64-emu-irq_sysreg-read-cntpct" / "trap-log",
                           Arch.AARCH64)[0]
    guest = [t for t in traps if isinstance(t, A64Trap) and t.from_guest]
    assert (guest[0].index, guest[0].esr) == (1, 0x6232_F8A1)  # mrs x5, cntpct_el0
    assert any(t.is_async for t in guest)  # the IRQ taken from EL1 to EL2 after it


def test_each_thread_file_is_one_cpu_in_order() -> None:
    per_cpu = parse_trap_dir(DATA / "aarch64-smp_psci-cpu-on-then-mmio" / "trap-log",
                             Arch.AARCH64)
    assert sorted(per_cpu) == [0, 1]
    cpu1 = [t for t in per_cpu[1] if isinstance(t, A64Trap) and t.from_guest]
    assert [t.name for t in cpu1] == ["Data Abort", "Data Abort", "Hypervisor Call"]


def test_riscv_records_keep_cause_epc_and_tval() -> None:
    traps = parse_trap_dir(DATA / "riscv64_first-guest" / "trap-log", Arch.RISCV64)[0]
    guest = [t for t in traps if isinstance(t, RvTrap) and t.from_guest]
    assert [(t.cause, t.epc, t.tval) for t in guest] == [
        (23, 0x8020_2020, 0x0C00_1F00),  # sw a1, 0(t6): store guest-page fault
        (10, 0x8020_2064, 0), (10, 0x8020_004C, 0),  # the hypercall, then SRST
    ]
    assert any(isinstance(t, RvTrap) and t.is_async and t.cause == 5 for t in traps)


def test_svm_vmexit_lines() -> None:
    traps = parse_trap_dir(DATA / "x86_64-svm_first-guest" / "trap-log", Arch.X86_64)[0]
    assert traps == [SvmExit(2, 0, 0x81, 0, 0, 0x301E),
                     SvmExit(4, 0, 0x7B, 0x0604_0020, 0x1028, 0x1027)]


def test_cut_aarch64_record_is_an_error_naming_file_and_line() -> None:
    text = "Taking exception 4 [Data Abort] on CPU 0\n...with ESR 0x24/0x93020046\n"
    with pytest.raises(TrapLogError, match=r"^t\.log:1: error: exception record without"):
        parse_trap_log(text, Arch.AARCH64, "t.log")


def test_esr_class_must_match_the_esr() -> None:
    text = "Taking exception 4 [Data Abort] on CPU 0\n...from EL1 to EL2\n" \
           "...with ESR 0x16/0x93020046\n"
    with pytest.raises(TrapLogError, match=r"^t\.log:3: error: ESR class 16"):
        parse_trap_log(text, Arch.AARCH64, "t.log")


def test_unknown_detail_line_inside_a_record_is_an_error() -> None:
    text = "Taking exception 4 [Data Abort] on CPU 0\n...from EL1 to EL2\n...with HPFAR 0x10\n"
    with pytest.raises(TrapLogError, match=r"^t\.log:3: error: unknown exception detail"):
        parse_trap_log(text, Arch.AARCH64, "t.log")


def test_malformed_riscv_and_svm_lines_are_errors() -> None:
    with pytest.raises(TrapLogError, match=r"^r:2: error: malformed riscv_cpu_do_interrupt"):
        parse_trap_log("x\nriscv_cpu_do_interrupt: hart:0, async:2\n", Arch.RISCV64, "r")
    with pytest.raises(TrapLogError, match=r"^s:1: error: malformed vmexit"):
        parse_trap_log("vmexit(81, 0)!\n", Arch.X86_64, "s")


def test_a_cpu_in_two_files_is_an_error(tmp_path: Path) -> None:
    line = "riscv_cpu_do_interrupt: hart:0, async:0, cause:000000000000000a, " \
           "epc:0x0000000080200000, tval:0x0000000000000000, desc=hypervisor_ecall\n"
    (tmp_path / "trap-1.log").write_text(line)
    (tmp_path / "trap-2.log").write_text(line)
    with pytest.raises(TrapLogError, match="CPU 0's records also in"):
        parse_trap_dir(tmp_path, Arch.RISCV64)


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TrapLogError, match="no trap log"):
        parse_trap_dir(tmp_path, Arch.AARCH64)
