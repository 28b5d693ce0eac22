"""Judging one program of a persistent-mode boot from its console slice.

Only programs the policy lets share a boot get here (harness.persist.policy): their one normal
end is "returned to the loader". The prediction is run_case's (harness.run.case.expected_exits)
for the payload's own traps, without the runtime's power-off; the comparison is run_case's
(compare_vcpus). The loader's two boundary hypercalls, whose values are known (program number
and CRC), are checked and set aside; a record of vCPU 0 before the first or after the second
means the slice is not this program's alone. Any verdict but pass is re-run on a fresh boot by
the runner, so the wording of other verdicts here only has to be honest, not identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.check.compare import (
    ASYNC_VARIANTS,
    ExitDiff,
    compare_vcpus,
    differ_detail,
    missing_async,
    record_json,
    vcpu_of,
)
from harness.check.verdict import Verdict
from harness.guests.payload import BuiltPayload
from harness.images.build import Image
from harness.model.arch import Arch
from harness.model.exits import ExitReason, Hypercall
from harness.model.predict import ContractNote
from harness.model.values import ModelError
from harness.parse import ExitRecord, parse_console
from harness.persist.frame import NR_END, NR_START
from harness.run import axvisor_console
from harness.run.expect import expected_exits, expected_json
from harness.scenarios.catalogue import Scenario
from harness.schema import Schema

RUNTIME_LABEL = "axh_rt_"  # the runtime's own trap sites (payload.RUNTIME_SITES)


@dataclass(frozen=True, slots=True)
class Judged:
    verdict: Verdict
    detail: str
    expected: tuple[dict[str, Any], ...]
    observed: tuple[dict[str, Any], ...]
    diffs: tuple[ExitDiff, ...] = ()
    asynchronous: int = 0
    parse_errors: tuple[str, ...] = ()
    contract_notes: tuple[str, ...] = ()
    boundaries: tuple[dict[str, Any], ...] = ()  # the loader's boundary exits, as logged
    runtime_after: int = 0  # exits the runtime adds after the program when it runs alone


@dataclass(frozen=True, slots=True)
class Boundaries:
    records: tuple[ExitRecord, ...]  # the program's (boundary records taken out)
    boundary: frozenset[int]  # ids of the boundary records
    problems: tuple[str, ...]


def program_only(payload: BuiltPayload) -> BuiltPayload:
    """The payload without the runtime's traps: in a persistent boot the program returns to
    the loader, not to the runtime's power-off."""
    return replace(payload, traps=tuple(t for t in payload.traps
                                        if not t.site.label.startswith(RUNTIME_LABEL)))


def split_boundaries(records: Sequence[ExitRecord], n: int, crc: int,
                     pinned: dict[int, int]) -> Boundaries:
    """Set the two boundary hypercalls of program `n` aside, checking their values and that
    no synchronous exit of vCPU 0 lies outside them."""
    want = {NR_START: (n, crc, 0, 0, 0, 0), NR_END: (n, crc, 0, 0, 0, 0)}
    seen: list[int] = []
    kept: list[ExitRecord] = []
    ids: set[int] = set()
    problems: list[str] = []
    for rec in records:
        e = rec.exit
        if isinstance(e, Hypercall) and e.nr in want:
            ids.add(id(rec))
            if tuple(e.args) != want[e.nr]:
                problems.append(f"boundary hypercall {e.nr:#x} (console line {rec.first_line}) "
                                f"with args {[hex(a) for a in e.args]}, not program {n}'s")
            seen.append(e.nr)
            continue
        sync0 = vcpu_of(rec, pinned) == 0 and e.VARIANT not in ASYNC_VARIANTS
        if sync0 and seen != [NR_START]:
            problems.append(f"{e.VARIANT} (console line {rec.first_line}) outside program "
                            f"{n}'s boundary hypercalls")
        kept.append(rec)
    if seen != [NR_START, NR_END]:
        problems.append(f"boundary hypercalls {[hex(s) for s in seen]}, expected start and end")
    return Boundaries(tuple(kept), frozenset(ids), tuple(problems))


def judge_slice(image: Image, scenario: Scenario, payload: BuiltPayload, schema: Schema,
                backend: str, pinned: dict[int, int], console: bytes, n: int, crc: int,
                ended: str | None, source_name: str) -> Judged:
    """`ended`: None when the loader printed AXH:DONE n, else why the slice stopped."""
    notes: list[ContractNote] = []
    undecided: dict[tuple[int, int], frozenset[str]] = {}
    try:
        expected: dict[int, tuple[ExitReason, ...]] = expected_exits(
            image, program_only(payload), schema, backend, notes=notes, undecided=undecided)
    except ModelError as exc:
        return Judged(Verdict.ERROR, f"the reference model cannot predict this scenario: {exc}",
                      (), ())
    # What the case records as expected is the scenario's whole prediction, the runtime's
    # power-off included, as a standalone case records it (expected.json serves `repro`, which
    # boots the program on its own); the slice is compared with the program's part only.
    full_undecided: dict[tuple[int, int], frozenset[str]] = {}
    full = expected_json(expected_exits(image, payload, schema, backend,
                                        undecided=full_undecided), full_undecided)
    cnotes = tuple(str(x) for x in notes)
    parsed = parse_console(console, schema, image.arch, source_name)
    split = split_boundaries(parsed.records, n, crc, pinned)
    # The loader's boundary exits are not the scenario's: observed (observed.jsonl, the
    # case's exits as reports and A/B comparisons index them) is what a standalone run shows
    # before the runtime's power-off; the boundaries go to persistent.json.
    observed = tuple(record_json(r, pinned) for r in parsed.records
                     if id(r) not in split.boundary)
    boundaries = tuple(record_json(r, pinned) for r in parsed.records
                       if id(r) in split.boundary)
    diffs, asynchronous = compare_vcpus(expected, split.records, Arch(image.arch), pinned,
                                        undecided)
    common: dict[str, Any] = {"expected": full, "observed": observed, "diffs": diffs,
                              "boundaries": boundaries, "runtime_after": len(full) - sum(
                                  len(v) for v in expected.values()),
                              "asynchronous": len(asynchronous), "contract_notes": cnotes,
                              "parse_errors": tuple(str(e) for e in parsed.errors)}
    panic = axvisor_console.panic_text(console)
    if panic is not None:
        return Judged(Verdict.CRASH, f"hypervisor panic: {panic}", **common)
    if ended is not None:
        verdict = Verdict.TIMEOUT if ended.startswith(("timeout", "watchdog")) \
            else Verdict.CRASH
        return Judged(verdict, f"the program did not return to the loader: {ended}", **common)
    if parsed.errors:
        return Judged(Verdict.ERROR, f"{len(parsed.errors)} console record(s) did not parse; "
                      f"first: {parsed.errors[0]}", **common)
    if split.problems:
        return Judged(Verdict.ERROR, "persistent mode: " + "; ".join(split.problems), **common)
    if diffs:
        return Judged(Verdict.DIVERGENCE, differ_detail(diffs), **common)
    if absent := missing_async(scenario.expect_async, asynchronous):
        return Judged(Verdict.DIVERGENCE, absent, **common)
    extra = f" (+{len(asynchronous)} asynchronous)" if asynchronous else ""
    vcpus = f" on {len(expected)} vCPUs" if len(expected) > 1 else ""
    # The same words as a standalone pass: the program's exits and its end, checked here as
    # the end boundary (its values known) where a standalone run checks the power-off.
    return Judged(Verdict.PASS, f"{len(full)} exit(s) as predicted{vcpus}{extra}", **common)
