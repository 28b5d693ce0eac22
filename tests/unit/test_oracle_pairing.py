"""Pairing logged exits with the traps that caused them, on real runs (console and trap log of
the same boot, tests/unit/data/oracle/) and on small hand-made streams."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.check.compare import by_vcpu
from harness.model.arch import Arch
from harness.model.schemas import schema
from harness.oracle.context import TrapContext
from harness.oracle.expect import Outcome
from harness.oracle.pairing import Kind, PairingReport, Rules, pair
from harness.oracle.records import RvTrap, Trap
from harness.oracle.traplog import parse_trap_dir
from harness.parse import parse_log

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

DATA = Path(__file__).parent / "data" / "oracle"
G = S02
RISCV_GUEST = ((0x8020_0000, 0x8100_0000),)
NO_WINDOW = Rules()
RISCV = Rules(guest_pc=RISCV_GUEST)


def run(case: str, arch: Arch, gprs: list[dict[int, int]], rules: Rules = NO_WINDOW
        ) -> PairingReport:
    traps = parse_trap_dir(DATA / case / "trap-log", arch)
    records = parse_log((DATA / case / "console.log").read_bytes(), G, "aarch64").records

    def context(vcpu: int, index: int | None, trap: Trap) -> TrapContext:
        regs = gprs[index] if index is not None and index < len(gprs) else {}
        return TrapContext(G, regs, stage1_off=True)

    return pair(traps, by_vcpu(records, {0: 0}), {0: 0}, rules, context)


def test_aarch64_store_byte_reports_the_whole_register_as_data() -> None:
    # payload.S: x2 = 0x1122334455667788, strb w2; then the runtime's SYSTEM_OFF (x0).
    report = run("aarch64_mmio-store-b", Arch.AARCH64,
                 [{2: 0x1122_3344_5566_7788}, {0: 0x8400_0008}])
    assert [p.kind for p in report.pairs] == [Kind.PAIRED, Kind.PAIRED]
    first, second = report.pairs
    assert first.judgement is not None and first.judgement.outcome is Outcome.DIFFER
    assert first.judgement.problems[0] == "data: expected 0x88, got 0x1122334455667788"
    assert second.judgement is not None and second.judgement.outcome is Outcome.AGREE
    assert first.describe().startswith("vCPU 0 paired (trap log line 324, console line")


def test_riscv_first_guest_pairs_store_hypercall_and_shutdown() -> None:
    hypercall = {17: 0x48_5643, 16: 0x4AB1, 10: 0x1111, 11: 0x2222, 12: 0x3333, 13: 0x4444,
                 14: 0x5555, 15: 0x6666}
    report = run("riscv64_first-guest", Arch.RISCV64,
                 [{11: 0xDEAD_BEEF}, hypercall, {17: 0x5352_5354, 16: 0, 10: 0}],
                 Rules(guest_pc=RISCV_GUEST))
    variants = [p.record.exit.VARIANT for p in report.pairs if p.record is not None]
    assert variants[-3:] == ["MmioWrite", "Hypercall", "SystemDown"]
    assert not report.unpaired and not report.differences


def test_without_the_guest_window_riscv_interrupts_are_left_out() -> None:
    report = run("riscv64_first-guest", Arch.RISCV64, [], Rules())
    assert all(p.trap is None or not p.trap.is_async for p in report.pairs)


def test_x86_first_guest_hypercall_and_power_off() -> None:
    regs = {0: 0x4AB1, 7: 0x1111, 6: 0x2222, 2: 0x3333, 1: 0x4444, 8: 0, 9: 0}
    report = run("x86_64-svm_first-guest", Arch.X86_64, [regs, {0: 0x2000}])
    outcomes = [p.judgement.outcome for p in report.pairs if p.judgement is not None]
    assert len(report.pairs) == 2 and outcomes[1] is Outcome.AGREE


def rv(line: int, cause: int, epc: int = 0x8020_2000, tval: int = 0,
       is_async: bool = False) -> RvTrap:
    return RvTrap(line, 0, is_async, cause, epc, tval, "d")


def synthetic(traps: Sequence[Trap], console: bytes, rules: Rules = RISCV
              ) -> PairingReport:
    records = parse_log(console, G, "aarch64").records
    return pair({0: traps}, by_vcpu(records, {0: 0}), {0: 0}, rules,
                lambda v, i, t: TrapContext(G, stage1_off=True))


def rec(line_s: str) -> bytes:
    return f"\x1b[37m[  0.100000 0:5 axvm::vm:527] \x1b[90m{line_s}\x1b[m\n\x1b[m".encode()


def test_a_trap_without_an_exit_and_an_exit_without_a_trap_are_reported() -> None:
    one_trap = synthetic([rv(1, 22, tval=0x1050_0073), rv(2, 22, tval=0x1050_0073)],
                         rec("Halt"))
    assert [p.kind for p in one_trap.pairs] == [Kind.PAIRED, Kind.TRAP_WITHOUT_EXIT]
    no_trap = synthetic([], rec("Halt"))
    assert [p.kind for p in no_trap.pairs] == [Kind.EXIT_WITHOUT_TRAP]


def test_a_silent_rule_consumes_no_exit() -> None:
    rules = Rules(RISCV_GUEST, silent=lambda t: isinstance(t, RvTrap) and t.tval == 0x1020_0073)
    report = synthetic([rv(1, 22, tval=0x1020_0073), rv(2, 22, tval=0x1050_0073)],
                       rec("Halt"), rules)
    assert [p.kind for p in report.pairs] == [Kind.SILENT, Kind.PAIRED]
    assert report.pairs[1].judgement is not None
    assert report.pairs[1].judgement.outcome is Outcome.AGREE


def test_an_exit_for_the_wrong_cause_followed_by_the_same_trap_is_marked_retried() -> None:
    # riscv64 seen live: a store fault logged as `Nothing`, then the store trapped again.
    store = [rv(1, 23, tval=0x0C00_1F00), rv(2, 23, tval=0x0C00_1F00)]
    report = synthetic(store, rec("Nothing") + rec(
        "MmioWrite {\n    addr: GPA:0xc001f00,\n    width: Dword,\n    data: 0x1,\n}"))
    first = report.pairs[0]
    assert first.retried and first.judgement is not None
    assert first.judgement.outcome is Outcome.DIFFER
    assert "trapped again" in first.describe()


def test_vs_interrupts_and_hs_traps_outside_the_guest_are_not_the_guests() -> None:
    rules = Rules(RISCV_GUEST)
    assert not rules.is_guest(rv(1, 6, is_async=True))  # VSTIP: delivered to VS (hideleg)
    assert not rules.is_guest(rv(1, 5, epc=0xFFFF_FFC0_8020_0000, is_async=True))
    assert rules.is_guest(rv(1, 5, is_async=True))
    assert not rules.is_guest(rv(1, 9, epc=0xFFFF_FFC0_8020_0000))  # HS ecall to OpenSBI
