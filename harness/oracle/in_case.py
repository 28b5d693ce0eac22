"""The syndrome oracle as a second opinion on a suite case (`axharness run --trap-log`).

With the trap log on, harness.run.case hands the finished run here: its exits are paired with
the traps QEMU logged and judged from the syndrome, and the oracle is held against the
instruction-level predictor on every payload trap (harness.oracle.judge_run). The result goes
into the case's manifest under "oracle" and, when something is off, a note after the detail.

It never changes the verdict, which stays the reference model's (docs/oracle.md, "Trap log in
the suite"): on our payloads the two predictors agree, so the oracle's differences are the
model's own diffs (already a divergence or a known one), and what the oracle alone sees — an
exit reported for the wrong cause in an upstream race, a trap whose exit was lost — is a finding
for a human, not a reason to make a case flaky. A trap log that is missing or unreadable is the
oracle's error, recorded as such: never a divergence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.guests.payload import BuiltPayload
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.oracle.capture import TRAP_LOG_DIR, Capture
from harness.oracle.judge_run import judge_capture, summary
from harness.oracle.pairing import PairingReport
from harness.qemu.machine import Ending
from harness.scenarios.catalogue import Scenario
from harness.schema import Schema

LISTED = 20  # differing pairs listed in the manifest (the counts cover all)


def _unpaired(report: PairingReport) -> list[str]:
    return [p.describe() for p in report.unpaired][:LISTED]


def judge_case(image: Image, recipe: ImageRecipe, scenario: Scenario, casedir: Path,
               console: bytes, payload: BuiltPayload, ending: Ending, detail: str,
               schema: Schema) -> dict[str, Any]:
    """The oracle's judgement of one finished case, as manifest JSON: counts, the differing
    pairs, the unpaired traps and exits, the payload traps where oracle and model disagree,
    and `note` (empty when all is well). `error` instead when it could not judge."""
    cap = Capture(console, casedir / TRAP_LOG_DIR, payload, ending, detail, 0.0)
    try:
        verdict = judge_capture(cap, image, recipe, scenario, schema)
    except HarnessError as exc:
        return {"error": str(exc), "note": f"oracle: could not judge ({exc})"}
    counts = summary(verdict)
    differing = [p.describe() for p in verdict.report.differences]
    disagree = [f"payload trap {a.vcpu}:{a.index} ({a.predicted.VARIANT}): "
                + "; ".join(a.judgement.problems) for a in verdict.agreement
                if a.judgement.outcome.value in ("differ", "no-rule")]
    notes = []
    if differing:
        notes.append(f"{len(differing)} of {counts['paired']} exit(s) differ from their trap "
                     f"(first: {differing[0]})")
    if counts["unpaired"]:
        notes.append(f"{counts['unpaired']} trap(s)/exit(s) unpaired")
    if disagree:
        notes.append(f"disagrees with the model on {len(disagree)} payload trap(s)")
    return {"summary": counts, "differences": differing[:LISTED],
            "unpaired": _unpaired(verdict.report), "model_disagreements": disagree[:LISTED],
            "note": "oracle: " + ", ".join(notes) if notes else ""}
