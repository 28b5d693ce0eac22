"""Judge one captured run of a scenario with the syndrome oracle.

Two questions per run: does every exit axvisor logged match the trap that caused it (the
pairing report), and does the syndrome oracle agree with the instruction-level predictor
(harness.model.predict) on every trap of the payload (the agreement rows)? The payload's trap
sites supply what the syndrome lacks: the registers before each trapping instruction. The
payload runs with its own translation off, so logged fault addresses are guest-physical.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.check.compare import by_vcpu
from harness.images.build import Image
from harness.images.recipe import ImageRecipe, render_vm_config
from harness.model.arch import Arch
from harness.model.exits import ExitReason
from harness.oracle.capture import Capture
from harness.oracle.context import TrapContext
from harness.oracle.expect import Judgement, Outcome, judge
from harness.oracle.pairing import PairingReport, Rules, pair
from harness.oracle.predict import expect
from harness.oracle.records import Trap, syndrome
from harness.oracle.traplog import TrapLogError, parse_trap_dir
from harness.parse import parse_log
from harness.run import axvisor_console
from harness.run.expect import expected_exits
from harness.scenarios.actions import Spin
from harness.scenarios.catalogue import Scenario
from harness.schema import Schema


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


def _runs(traps: Mapping[int, Sequence[Trap]], rules: Rules, pinned: Mapping[int, int]
          ) -> dict[int, list[list[Trap]]]:
    """Per vCPU, its synchronous guest traps in order, an instruction's immediate repeats (the
    hypervisor re-ran it: an unhandled fault, or riscv64's exit reported for the wrong cause)
    grouped with it: one group per executed trap site."""
    runs: dict[int, list[list[Trap]]] = {}
    for cpu, ts in traps.items():
        groups = runs.setdefault(pinned.get(cpu, cpu), [])
        for t in ts:
            if not rules.is_guest(t) or t.is_async:
                continue
            if groups and syndrome(groups[-1][-1]) == syndrome(t):
                groups[-1].append(t)
            else:
                groups.append([t])
    return runs


def judge_capture(cap: Capture, image: Image, recipe: ImageRecipe, scenario: Scenario,
                  schema: Schema) -> RunVerdict:
    """Pair the run's exits with its traps and check the oracle against the model."""
    if cap.trap_log is None:
        raise TrapLogError("the run was captured without a trap log")
    arch = Arch(image.arch)
    traps = parse_trap_dir(cap.trap_log, arch)
    console = cap.console
    if cap.detail.startswith("stuck: "):
        console = axvisor_console.without_last_record(console)
    records = parse_log(console, schema, image.arch).records
    pinned = recipe.guest.vcpu_of_cpu
    backend = recipe.backend

    rules = Rules(guest_pc=guest_windows(recipe))
    runs = _runs(traps, rules, pinned)
    registers: dict[tuple[int, int], dict[int, int]] = {}  # (cpu, log line) -> the site's gprs
    for vcpu, groups in runs.items():
        sites = [t for t in cap.payload.traps if t.site.vcpu == vcpu]
        for site, group in zip(sites, groups, strict=False):
            registers.update({(t.cpu, t.line): dict(site.site.gprs) for t in group})

    def context(vcpu: int, index: int | None, trap: Trap) -> TrapContext:
        return TrapContext(schema, registers.get((trap.cpu, trap.line), {}), stage1_off=True)

    report = pair(traps, by_vcpu(records, pinned), pinned, rules, context)
    spin = next((i for i, a in enumerate(scenario.actions) if isinstance(a, Spin)), None)
    predicted = expected_exits(
        image, cap.payload, schema, backend, spin_at=spin,
        last_action=len(scenario.actions) - 1 if scenario.ends_at_last_action else None)
    rows: list[Agreement] = []
    unmatched = 0
    for vcpu, exits in predicted.items():
        groups = runs.get(vcpu, [])
        for i, exit in enumerate(exits):
            if i >= len(groups):
                unmatched += 1
                continue
            first = groups[i][0]
            exp = expect(first, context(vcpu, i, first))
            rows.append(Agreement(vcpu, i, first, exit, judge(exp, exit)))
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
