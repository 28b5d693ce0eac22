"""How one fuzz program is judged: the known divergences applied, the diffs none of them
explains, and the signature of a new failure that minimisation must keep."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.check.compare import ExitDiff
from harness.check.known import (
    ExitActions,
    KnownDivergence,
    action_of,
    apply_known,
    explaining,
    in_scope,
)
from harness.check.verdict import Verdict
from harness.run.case import CaseResult


@dataclass(frozen=True, slots=True)
class Signature:
    """How a program fails; minimisation keeps it. For a divergence: the first exit that no
    known divergence covers, by (diff kind, variant, differing fields) — not by position."""

    verdict: str  # divergence, crash, timeout, error
    kind: str = ""  # fields, variant, missing, unexpected, panic-missing, end-missed, …
    variant: str = ""
    fields: tuple[str, ...] = ()
    detail: str = ""  # crash/error text with addresses blanked

    def describe(self) -> str:
        if self.verdict == "divergence":
            what = f"{self.kind} {self.variant}".strip()
            return f"divergence: {what}" + (f" [{', '.join(self.fields)}]" if self.fields else "")
        return f"{self.verdict}: {self.detail}" if self.detail else self.verdict

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "kind": self.kind, "variant": self.variant,
                "fields": list(self.fields), "detail": self.detail}



# --------------------------------------------------------------------------

_HEX = re.compile(r"0x[0-9a-fA-F]+")
# Where a text points into a run's files: which run (the case directory) and where in its
# console (line, column) differ between a program and its minimisation candidates.
_PLACE = re.compile(r"(?:[^\s:]*/)?console\.log:[0-9]+:[0-9]+|console line [0-9]+")


def _normal(text: str) -> str:
    """`text` with addresses and places blanked, cut to 200 characters: what a failure says,
    not where this run of it was."""
    return _PLACE.sub("console.log:…", _HEX.sub("0x…", text))[:200]


def uncovered(case: CaseResult, known: Sequence[KnownDivergence],
              actions: ExitActions | None = None) -> tuple[ExitDiff, ...]:
    """The case's diffs that no known divergence explains; `actions`: the action behind each
    expected exit (harness.fuzz.attribution), without which no entry applies to a program."""
    version = str(case.image.get("axvisor", ""))
    usable, _ = in_scope(case, known)  # an entry about a crate the image modified: not here
    return tuple(d for d in case.diffs if not explaining(
        case.arch, version, d, usable, scenario=case.scenario, action=action_of(d, actions)))


def judge(raw: CaseResult, known: Sequence[KnownDivergence], actions: ExitActions | None = None
          ) -> tuple[CaseResult, tuple[ExitDiff, ...], Signature | None]:
    """(case with known divergences applied, new diffs, signature of a new failure or None)."""
    case = apply_known(raw, known, actions=actions)
    new = uncovered(raw, known, actions)
    if raw.verdict is Verdict.DIVERGENCE and raw.detail.startswith("expected axvisor to panic"):
        return case, new, Signature("divergence", "panic-missing")
    if raw.verdict is Verdict.DIVERGENCE and raw.detail.startswith("expected axvisor to stop"):
        return case, new, Signature("divergence", "vm-error-missing")
    if raw.verdict is Verdict.DIVERGENCE and raw.end_failed:  # known diffs do not hide it
        return case, new, Signature("divergence", "end-missed",
                                    detail=_normal(raw.detail.split(":")[0]))
    v = case.verdict
    if v is Verdict.DIVERGENCE:
        if not new:  # a divergence with no diff of its own (e.g. a missing end): keep its text
            return case, new, Signature("divergence", "other", detail=_normal(case.detail))
        d = new[0]
        return case, new, Signature("divergence", d.kind, d.variant,
                                    tuple(sorted(f.field for f in d.fields)))
    if v in (Verdict.CRASH, Verdict.ERROR):
        first = case.detail.splitlines()[0] if case.detail else ""
        return case, new, Signature(v.value, detail=_normal(first))
    if v is Verdict.TIMEOUT:
        return case, new, Signature("timeout")
    return case, new, None
