"""Two results files, case by case: what got worse, what got better, what merely moved.

The nightly job compares each run with the previous one, so the question answered here is
"did anything regress since last time?", not "is everything green?" (the run's own exit code
says that). Divergences are compared by their diff text with the console line number removed:
the boot log's length varies by a few lines from run to run, and a divergence that only moved
in the log has not changed.

A case that ran before and is skipped now got worse unless the new results say it was skipped
because this host lacks a capability its image needs (the case's `host_capability`, written by
harness.report.results from the host probe): a skip for any other reason, or from a results
file without the marker, is a regression. The reason's prose is never read.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.check.verdict import Verdict
from harness.errors import UsageError
from harness.report.results import SCHEMA
from harness.textfile import read_json

COMPARE_SCHEMA = "axharness-compare/1"
_CONSOLE_LINE = re.compile(r" \(console line \d+\)")


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """What a results file says about one case: only what a comparison looks at."""

    case: str
    verdict: Verdict
    detail: str
    diffs: tuple[str, ...]  # ExitDiff.describe() texts, in exit order
    known: frozenset[str]  # ids of the known divergences that matched
    host_capability: str = ""  # a skip: what this host lacks ("kvm-vmx"); "" not recorded

    @property
    def divergence_signature(self) -> tuple[str, ...]:
        """The diff texts without console line numbers (see the module docstring)."""
        return tuple(_CONSOLE_LINE.sub("", d) for d in self.diffs)


@dataclass(frozen=True, slots=True)
class ResultsFile:
    source: str  # the path as the user gave it, for messages
    finished_at: str
    cases: tuple[CaseOutcome, ...]

    def by_id(self) -> dict[str, CaseOutcome]:
        return {c.case: c for c in self.cases}


class ChangeKind(enum.Enum):
    """Kinds of change, in the order a report lists them (regressions first)."""

    NEW_FAILURE = "new failure"
    NOW_XFAIL = "pass → xfail"
    UNEXPLAINED_SKIP = "skip, not for a host capability"
    REMOVED = "removed"
    FIXED = "fixed"
    NOW_PASS = "xfail → pass"
    NEW_PASS = "new pass"
    NEW_SKIP = "new skip"
    VERDICT = "verdict changed"
    DIVERGENCE = "divergence changed"
    ADDED = "added"

    @property
    def is_regression(self) -> bool:
        return self in (ChangeKind.NEW_FAILURE, ChangeKind.NOW_XFAIL,
                        ChangeKind.UNEXPLAINED_SKIP, ChangeKind.REMOVED)


@dataclass(frozen=True, slots=True)
class CaseChange:
    case: str
    kind: ChangeKind
    old: CaseOutcome | None  # None: the case is new
    new: CaseOutcome | None  # None: the case is gone
    note: str  # one line saying what changed

    @property
    def is_regression(self) -> bool:
        return self.kind.is_regression


@dataclass(frozen=True, slots=True)
class Comparison:
    old: ResultsFile
    new: ResultsFile
    changes: tuple[CaseChange, ...]
    unchanged: int

    @property
    def regressions(self) -> tuple[CaseChange, ...]:
        return tuple(c for c in self.changes if c.is_regression)

    def counts(self) -> dict[str, int]:
        by_kind = Counter(c.kind for c in self.changes)
        return {k.value: by_kind[k] for k in ChangeKind if by_kind[k]}


# -- reading ------------------------------------------------------------------------------------

def _str_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: expected a list of strings")
    return tuple(value)


def _case_from_json(obj: object, where: str) -> CaseOutcome:
    if not isinstance(obj, Mapping):
        raise UsageError(f"{where}: expected an object")
    case = obj.get("case")
    if not isinstance(case, str) or not case:
        raise UsageError(f"{where}: missing case id (\"case\")")
    where = f"{where} ({case})"
    try:
        verdict = Verdict(obj.get("verdict"))
    except ValueError:
        raise UsageError(f"{where}: unknown verdict {obj.get('verdict')!r} (known: "
                         f"{', '.join(v.value for v in Verdict)})") from None
    diffs = obj.get("diffs", [])
    if not isinstance(diffs, list):
        raise UsageError(f"{where}: \"diffs\" must be a list")
    texts = []
    for i, d in enumerate(diffs):
        text = d.get("text") if isinstance(d, Mapping) else None
        if not isinstance(text, str):
            raise UsageError(f"{where}: diffs[{i}] has no \"text\"")
        texts.append(text)
    detail = obj.get("detail", "")
    lacking = obj.get("host_capability", "")
    if not isinstance(lacking, str):
        raise UsageError(f"{where}: \"host_capability\" must be a string")
    return CaseOutcome(case=case, verdict=verdict, detail=detail if isinstance(detail, str)
                       else str(detail), diffs=tuple(texts),
                       known=frozenset(_str_list(obj.get("known_divergences", []),
                                                 f"{where}: known_divergences")),
                       host_capability=lacking)


def parse_results(doc: object, source: str) -> ResultsFile:
    """A results document (already JSON-decoded) as typed values; UsageError names `source`."""
    if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA:
        raise UsageError(f"{source}: not an axharness results file (schema {SCHEMA})")
    cases = doc.get("cases")
    if not isinstance(cases, list):
        raise UsageError(f"{source}: \"cases\" must be a list")
    out = [_case_from_json(c, f"{source}: cases[{i}]") for i, c in enumerate(cases)]
    seen: set[str] = set()
    for c in out:
        if c.case in seen:
            raise UsageError(f"{source}: case {c.case} appears twice")
        seen.add(c.case)
    finished = doc.get("finished_at", "")
    return ResultsFile(source, finished if isinstance(finished, str) else "", tuple(out))


def read_results(path: Path) -> ResultsFile:
    """Read and check a results file; every problem is one line naming the file."""
    return parse_results(read_json(path), str(path))


# -- comparing ----------------------------------------------------------------------------------

def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def classify(old: CaseOutcome | None, new: CaseOutcome | None) -> CaseChange | None:
    """The change of one case between two runs, or None when nothing worth reporting moved."""
    if old is None and new is None:
        raise ValueError("classify needs at least one outcome")
    if new is None:
        assert old is not None
        return CaseChange(old.case, ChangeKind.REMOVED, old, None,
                          f"was {old.verdict.value}, no longer run")
    if old is None:
        # A new case that fails is a new failure: the run got worse even though nothing
        # that used to pass broke.
        kind = ChangeKind.NEW_FAILURE if new.verdict.is_failure else ChangeKind.ADDED
        return CaseChange(new.case, kind, None, new,
                          f"new case, {new.verdict.value}: {_first_line(new.detail)}")
    a, b = old.verdict, new.verdict
    if a is b:
        if a in (Verdict.PASS, Verdict.SKIP):
            return None
        if old.divergence_signature != new.divergence_signature or old.known != new.known:
            return CaseChange(new.case, ChangeKind.DIVERGENCE, old, new,
                              _divergence_note(old, new))
        return None
    note = f"{_first_line(new.detail)}"
    if b.is_failure and not a.is_failure:
        kind = ChangeKind.NEW_FAILURE
    elif a is Verdict.PASS and b is Verdict.XFAIL:
        kind = ChangeKind.NOW_XFAIL
        note = f"known divergence {', '.join(sorted(new.known)) or '?'}: {note}"
    elif a is Verdict.XFAIL and b is Verdict.PASS:
        kind = ChangeKind.NOW_PASS
        note = f"known divergence {', '.join(sorted(old.known)) or '?'} no longer diverges"
    elif b is Verdict.PASS:
        kind = ChangeKind.FIXED if a.is_failure else ChangeKind.NEW_PASS
    elif b is Verdict.SKIP and new.host_capability:
        kind = ChangeKind.NEW_SKIP
        note = f"this host lacks {new.host_capability}: {note}"
    elif b is Verdict.SKIP:
        kind = ChangeKind.UNEXPLAINED_SKIP
        note = f"skipped, not for a host capability: {note}"
    else:  # failure → other failure, failure → xfail, skip → xfail
        kind = ChangeKind.VERDICT
    return CaseChange(new.case, kind, old, new, note)


def _divergence_note(old: CaseOutcome, new: CaseOutcome) -> str:
    parts = []
    if old.known != new.known:
        parts.append(f"known divergences {sorted(old.known)} → {sorted(new.known)}")
    gone = [d for d in old.divergence_signature if d not in new.divergence_signature]
    came = [d for d in new.divergence_signature if d not in old.divergence_signature]
    if came:
        parts.append("now: " + "; ".join(came))
    if gone:
        parts.append("was: " + "; ".join(gone))
    if not came and not gone and old.divergence_signature != new.divergence_signature:
        parts.append("same differences in another order")
    return "; ".join(parts)


def compare_results(old: ResultsFile, new: ResultsFile) -> Comparison:
    """Every case of either file, classified; changes sorted by kind, then case id."""
    a, b = old.by_id(), new.by_id()
    changes = []
    unchanged = 0
    for case in sorted(a.keys() | b.keys()):
        change = classify(a.get(case), b.get(case))
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    order = {k: i for i, k in enumerate(ChangeKind)}
    changes.sort(key=lambda c: (order[c.kind], c.case))
    return Comparison(old, new, tuple(changes), unchanged)


# -- presenting ---------------------------------------------------------------------------------

def _verdict(o: CaseOutcome | None) -> str:
    return o.verdict.value if o is not None else "—"


def render_table(cmp: Comparison) -> str:
    """The human report: one row per changed case, then a summary line."""
    lines = [f"old: {cmp.old.source} ({len(cmp.old.cases)} cases"
             f"{', ' + cmp.old.finished_at if cmp.old.finished_at else ''})",
             f"new: {cmp.new.source} ({len(cmp.new.cases)} cases"
             f"{', ' + cmp.new.finished_at if cmp.new.finished_at else ''})", ""]
    if cmp.changes:
        kw = max(len("change"), *(len(c.kind.value) for c in cmp.changes))
        cw = max(len("case"), *(len(c.case) for c in cmp.changes))
        vw = max(len(v.value) for v in Verdict)
        head = f"{'change':{kw}}  {'case':{cw}}  {'old':{vw}}  {'new':{vw}}  what"
        lines += [head, "-" * len(head)]
        for c in cmp.changes:
            mark = "!" if c.is_regression else " "
            lines.append(f"{c.kind.value:{kw}}  {c.case:{cw}}  {_verdict(c.old):{vw}}  "
                         f"{_verdict(c.new):{vw}}  {mark} {c.note}".rstrip())
        lines.append("")
    counts = ", ".join(f"{n} {k}" for k, n in cmp.counts().items())
    lines.append(f"{counts + '; ' if counts else 'no changes; '}{cmp.unchanged} unchanged")
    if cmp.regressions:
        lines.append(f"REGRESSION: {len(cmp.regressions)} case(s) marked ! got worse")
    return "\n".join(lines)


def _outcome_json(o: CaseOutcome | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"verdict": o.verdict.value, "detail": o.detail, "diffs": list(o.diffs),
            "known_divergences": sorted(o.known),
            **({"host_capability": o.host_capability} if o.host_capability else {})}


def comparison_to_json(cmp: Comparison) -> dict[str, Any]:
    return {
        "schema": COMPARE_SCHEMA,
        "old": {"file": cmp.old.source, "finished_at": cmp.old.finished_at,
                "cases": len(cmp.old.cases)},
        "new": {"file": cmp.new.source, "finished_at": cmp.new.finished_at,
                "cases": len(cmp.new.cases)},
        "regression": bool(cmp.regressions),
        "counts": {k.name.lower(): n for k, n in
                   Counter(c.kind for c in cmp.changes).items()},
        "unchanged": cmp.unchanged,
        "changes": [{"case": c.case, "change": c.kind.name.lower(), "label": c.kind.value,
                     "regression": c.is_regression, "note": c.note,
                     "old": _outcome_json(c.old), "new": _outcome_json(c.new)}
                    for c in cmp.changes],
    }


def render_markdown(cmp: Comparison) -> str:
    """The same report as a Markdown table (for CI job summaries)."""
    out = [f"**{'REGRESSION' if cmp.regressions else 'No regression'}** against "
           f"`{cmp.old.source}`: " + (", ".join(f"{n} {k}" for k, n in cmp.counts().items())
                                      or "no changes") + f"; {cmp.unchanged} unchanged", ""]
    if cmp.changes:
        out += ["| change | case | old | new | what |", "|---|---|---|---|---|"]
        for c in cmp.changes:
            note = c.note.replace("|", "\\|")
            flag = " ⚠" if c.is_regression else ""
            out.append(f"| {c.kind.value}{flag} | `{c.case}` | {_verdict(c.old)} | "
                       f"{_verdict(c.new)} | {note} |")
    return "\n".join(out) + "\n"


def kinds_of(changes: Sequence[CaseChange]) -> dict[str, ChangeKind]:
    """case id → kind of change (a convenience for callers and tests)."""
    return {c.case: c.kind for c in changes}
