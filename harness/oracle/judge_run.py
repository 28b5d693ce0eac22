"""Judge one captured run of a scenario with the syndrome oracle.

Two questions per run: does every exit axvisor logged match the trap that caused it (the
pairing report), and does the syndrome oracle agree with the instruction-level predictor
(harness.model.predict) on every trap of the payload (the agreement rows)? The payload's trap
sites supply what the syndrome lacks: the registers before each trapping instruction. The
payload runs with its own translation off, so logged fault addresses are guest-physical.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from harness.check.compare import by_vcpu
from harness.guests.payload import ResolvedTrap
from harness.images.build import Image
from harness.images.recipe import ImageRecipe, render_vm_config
from harness.model.arch import Arch
from harness.model.exits import ExitReason, Generation
from harness.oracle.capture import Capture
from harness.oracle.context import TrapContext
from harness.oracle.expect import Judgement, Outcome, judge
from harness.oracle.pairing import PairingReport, Rules, pair
from harness.oracle.predict import expect
from harness.oracle.records import Trap
from harness.oracle.traplog import TrapLogError, parse_trap_dir
from harness.parse import parse_log
from harness.run import axvisor_console
from harness.run.case import expected_exits
from harness.scenarios.actions import Spin
from harness.scenarios.catalogue import Scenario


@dataclass(frozen=True, slots=True)
class Agreement:
    """The oracle's judgement of the instruction-level prediction for one payload trap."""

    vcpu: int
    index: int
    trap: Trap
    predicted: ExitReason
    judgement: Judgement


@dataclass(frozen=True, slots=True)
class RunVerdict:
    report: PairingReport
    agreement: tuple[Agreement, ...]
    unmatched_sites: int  # payload traps the log has no guest trap for (the run ended first)


def guest_windows(recipe: ImageRecipe) -> tuple[tuple[int, int], ...]:
    """[entry, end of its RAM region) of the VM config: where the guest's code runs. The RAM
    below the entry is left out: on RISC-V, OpenSBI sits at the same addresses below the
    kernel (0x8000_0000 + 2 MiB) and its interrupts must not count as the guest's."""
    text = render_vm_config(recipe.guest.vm_config.read_text(), "guest.bin", recipe.guest.entry)
    regions = tomllib.loads(text)["kernel"]["memory_regions"]
    entry = recipe.guest.entry
    return tuple((max(entry, int(r[0])), int(r[0]) + int(r[1])) for r in regions
                 if int(r[0]) <= entry < int(r[0]) + int(r[1]))


def _sites(cap: Capture, vcpu: int) -> list[ResolvedTrap]:
    return [t for t in cap.payload.traps if t.site.vcpu == vcpu]


def judge_capture(cap: Capture, image: Image, recipe: ImageRecipe, scenario: Scenario,
                  gen: Generation) -> RunVerdict:
    """Pair the run's exits with its traps and check the oracle against the model."""
    if cap.trap_log is None:
        raise TrapLogError("the run was captured without a trap log")
    arch = Arch(image.arch)
    traps = parse_trap_dir(cap.trap_log, arch)
    console = cap.console
    if cap.detail.startswith("stuck: "):
        console = axvisor_console.without_last_record(console)
    records = parse_log(console, gen).records
    pinned = recipe.guest.vcpu_of_cpu
    backend = recipe.backend

    def context(vcpu: int, index: int | None, trap: Trap) -> TrapContext:
        sites = _sites(cap, vcpu)
        gprs = dict(sites[index].site.gprs) if index is not None and index < len(sites) else {}
        return TrapContext(gen, gprs, stage1_off=True)

    rules = Rules(guest_pc=guest_windows(recipe))
    report = pair(traps, by_vcpu(records, pinned), pinned, rules, context)
    spin = next((i for i, a in enumerate(scenario.actions) if isinstance(a, Spin)), None)
    predicted = expected_exits(
        image, cap.payload, gen, backend, spin_at=spin,
        last_action=len(scenario.actions) - 1 if scenario.ends_at_last_action else None)
    rows: list[Agreement] = []
    unmatched = 0
    for vcpu, exits in predicted.items():
        guest = [t for cpu, ts in traps.items() if pinned.get(cpu, cpu) == vcpu
                 for t in ts if rules.is_guest(t) and not t.is_async]
        for i, exit in enumerate(exits):
            if i >= len(guest):
                unmatched += 1
                continue
            exp = expect(guest[i], context(vcpu, i, guest[i]))
            rows.append(Agreement(vcpu, i, guest[i], exit, judge(exp, exit)))
    return RunVerdict(report, tuple(rows), unmatched)


def summary(verdict: RunVerdict) -> dict[str, int]:
    """Counts for reports: pairs judged fully / partly / differing / without a rule, unpaired,
    and agreement rows that agree (fully or on the decided fields) or not."""
    r = verdict.report
    rows = verdict.agreement
    return {
        "paired": sum(1 for p in r.pairs if p.judgement is not None),
        "full": r.count(Outcome.AGREE), "partial": r.count(Outcome.PARTIAL),
        "differ": r.count(Outcome.DIFFER), "no_rule": r.count(Outcome.NO_RULE),
        "unpaired": len(r.unpaired),
        "agree_full": sum(1 for a in rows if a.judgement.outcome is Outcome.AGREE),
        "agree_partial": sum(1 for a in rows if a.judgement.outcome is Outcome.PARTIAL),
        "disagree": sum(1 for a in rows if a.judgement.outcome in (Outcome.DIFFER,
                                                                   Outcome.NO_RULE)),
        "unmatched_sites": verdict.unmatched_sites,
    }
