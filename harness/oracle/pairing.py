"""Pair each exit axvisor logged with the trap that caused it, per vCPU, and judge it.

The rule the pairing rests on, measured on every scenario of the seven images (docs/oracle.md):
axvm logs one exit for every trap that reaches the vCPU's handler, in order, `Nothing` and
interrupts included. So the guest's traps on a CPU and the exits logged on it pair up one to
one, in order. What is not a trap of the guest is left out first, by rule:

* AArch64: only exceptions taken from EL1/EL0 to EL2 (the log names both levels).
* RISC-V: the log names neither the mode a trap came from nor the one it went to. Causes that
  only V=1 can raise (VS ecall, guest-page faults, virtual instruction) are the guest's; an
  interrupt is the guest's when its epc lies in the guest's code window (`Rules.guest_pc`);
  VS-level interrupts go to the guest itself (hideleg) and are left out.
* x86 SVM: every #VMEXIT is the guest's.

`Rules.silent` names traps a hypervisor handles without logging an exit (none for the pinned
axvisor 0.3.0-preview.2 / 0.5.8: their timer, IPI and SBI console traffic is logged as
`Nothing`). A trap left without an exit (a panic, a run stopped mid-way) and an exit without a
trap are reported as such, never dropped. A pair whose next trap is the same syndrome again is
marked `retried`: the hypervisor re-entered the guest without completing the instruction (an
unhandled fault repeating, or an exit reported for the wrong cause and the instruction re-run).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from harness.oracle.expect import Expectation, Judgement, Outcome, judge
from harness.oracle.predict import TrapContext, expect
from harness.oracle.records import RvTrap, Trap, syndrome
from harness.oracle.riscv64 import M_INTERRUPTS, VS_INTERRUPTS
from harness.parse.axlog import ExitRecord


@dataclass(frozen=True, slots=True)
class Rules:
    """Which logged traps are the guest's, and which of those log no exit."""

    guest_pc: tuple[tuple[int, int], ...] = ()  # [lo, hi) windows of guest code (RISC-V)
    silent: Callable[[Trap], bool] = field(default=lambda trap: False)

    def is_guest(self, trap: Trap) -> bool:
        if not isinstance(trap, RvTrap):
            return trap.from_guest
        if trap.is_async:  # M-level interrupts (3, 7, 11) go to M-mode (mideleg)
            return trap.cause not in VS_INTERRUPTS | M_INTERRUPTS and \
                any(lo <= trap.epc < hi for lo, hi in self.guest_pc)
        return trap.from_guest


class Kind(enum.Enum):
    PAIRED = "paired"
    TRAP_WITHOUT_EXIT = "trap without exit"
    EXIT_WITHOUT_TRAP = "exit without trap"
    SILENT = "handled without an exit (rule)"


@dataclass(frozen=True, slots=True)
class Pair:
    vcpu: int
    kind: Kind
    trap: Trap | None = None
    record: ExitRecord | None = None
    expectation: Expectation | None = None
    judgement: Judgement | None = None
    retried: bool = False  # the same instruction trapped again right after this exit

    def describe(self) -> str:
        where = (f"trap log line {self.trap.line}" if self.trap else "") + \
            (f", console line {self.record.first_line}" if self.record else "")
        head = f"vCPU {self.vcpu} {self.kind.value} ({where.lstrip(', ')})"
        again = " (the guest re-ran the instruction: it trapped again)" if self.retried else ""
        if self.judgement is not None and self.judgement.problems:
            return f"{head}: {'; '.join(self.judgement.problems)}{again}"
        return head + again


@dataclass(frozen=True, slots=True)
class PairingReport:
    pairs: tuple[Pair, ...]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for p in self.pairs if p.judgement and p.judgement.outcome is outcome)

    @property
    def unpaired(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs
                     if p.kind in (Kind.TRAP_WITHOUT_EXIT, Kind.EXIT_WITHOUT_TRAP))

    @property
    def differences(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs
                     if p.judgement is not None and p.judgement.outcome is Outcome.DIFFER)


Contexts = Callable[[int, int | None, Trap], TrapContext]
"""(vCPU, index of the trap among that vCPU's synchronous guest traps or None for an
interrupt, trap) -> what else is known of it."""


def pair_vcpu(vcpu: int, traps: Sequence[Trap], records: Sequence[ExitRecord], rules: Rules,
              context: Contexts) -> list[Pair]:
    """One vCPU: its guest traps (already filtered by `rules.is_guest`) against its exits."""
    out: list[Pair] = []
    rec = iter(records)
    sync = 0
    for n, trap in enumerate(traps):
        retried = not trap.is_async and n + 1 < len(traps) and \
            syndrome(traps[n + 1]) == syndrome(trap)
        index = None if trap.is_async else sync
        sync += 0 if trap.is_async else 1
        if rules.silent(trap):
            out.append(Pair(vcpu, Kind.SILENT, trap))
            continue
        exp = expect(trap, context(vcpu, index, trap))
        record = next(rec, None)
        if record is None:
            out.append(Pair(vcpu, Kind.TRAP_WITHOUT_EXIT, trap, expectation=exp))
            continue
        out.append(Pair(vcpu, Kind.PAIRED, trap, record, exp, judge(exp, record.exit),
                        retried))
    out += [Pair(vcpu, Kind.EXIT_WITHOUT_TRAP, record=r) for r in rec]
    return out


def pair(traps_by_cpu: Mapping[int, Sequence[Trap]], records_by_vcpu: Mapping[int,
         Sequence[ExitRecord]], vcpu_of_cpu: Mapping[int, int], rules: Rules,
         context: Contexts) -> PairingReport:
    """Every vCPU's traps against its exits; a trap's CPU names its vCPU through
    `vcpu_of_cpu` (vCPUs are pinned), as a log record's prefix does."""
    guest: dict[int, list[Trap]] = {}
    for cpu, traps in traps_by_cpu.items():
        guest.setdefault(vcpu_of_cpu.get(cpu, cpu), []).extend(
            t for t in traps if rules.is_guest(t))
    pairs: list[Pair] = []
    for v in sorted(set(guest) | set(records_by_vcpu)):
        pairs += pair_vcpu(v, guest.get(v, []), records_by_vcpu.get(v, []), rules, context)
    return PairingReport(tuple(pairs))
