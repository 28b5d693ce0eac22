"""Two results files, case by case: what got worse, what got better, what merely moved.

The nightly job compares each run with the previous one, so the question answered here is
"did anything regress since last time?", not "is everything green?" (the run's own exit code
says that). Divergences are compared by their structured diffs (position, variant, fields with
expected and observed values; harness.report.outcomes), never by prose: the boot log's length
varies by a few lines from run to run, and a divergence that only moved in the log has not
changed.

A case that ran before and is skipped now got worse unless the new results say it was skipped
because this host lacks a capability its image needs (the case's `host_capability`, written by
harness.report.results from the host probe): a skip for any other reason, or from a results
file without the marker, is a regression. The reason's prose is never read.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.check.verdict import Verdict
from harness.report.outcomes import CaseOutcome, ResultsFile, parse_results, read_results
from harness.report.sides import (
    ExitDelta,
    ProvenanceChange,
    Side,
    check_pairing,
    first_exit_difference,
    provenance_changes,
    provenance_pairs,
    run_changes,
    same_facts,
)

__all__ = ["COMPARE_SCHEMA", "CaseChange", "CaseOutcome", "ChangeKind", "Comparison",
           "ResultsFile", "Side", "classify", "compare_results", "compare_sides",
           "comparison_to_json", "kinds_of", "parse_results", "read_results", "render_markdown",
           "render_table"]

COMPARE_SCHEMA = "axharness-compare/1"


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
    exits: ExitDelta | None = None  # the first exit observed differently, field by field

    @property
    def is_regression(self) -> bool:
        return self.kind.is_regression

    @property
    def is_fix(self) -> bool:
        return self.kind in (ChangeKind.FIXED, ChangeKind.NOW_PASS)


@dataclass(frozen=True, slots=True)
class Comparison:
    old: ResultsFile
    new: ResultsFile
    changes: tuple[CaseChange, ...]
    unchanged: int
    a: Side | None = None  # the sides as chosen (None: old and new, whole files)
    b: Side | None = None
    # per image pair: (title, what differs, what both share)
    provenance: tuple[tuple[str, tuple[ProvenanceChange, ...], tuple[str, ...]], ...] = ()

    @property
    def labels(self) -> tuple[str, str]:
        return (self.a.label, self.b.label) if self.a and self.b else ("old", "new")

    @property
    def by_image(self) -> bool:
        return bool(self.a and self.a.image)

    @property
    def regressions(self) -> tuple[CaseChange, ...]:
        return tuple(c for c in self.changes if c.is_regression)

    def summary(self) -> dict[str, int]:
        """Fixed in the second side, regressed in it, other changes, unchanged."""
        fixed = sum(c.is_fix for c in self.changes)
        return {"fixed": fixed, "regressed": len(self.regressions),
                "other": len(self.changes) - fixed - len(self.regressions),
                "unchanged": self.unchanged}

    def counts(self) -> dict[str, int]:
        by_kind = Counter(c.kind for c in self.changes)
        return {k.value: by_kind[k] for k in ChangeKind if by_kind[k]}


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
    gone = [t for t, k in zip(old.diffs, old.divergence_signature, strict=False)
            if k not in new.divergence_signature]
    came = [t for t, k in zip(new.diffs, new.divergence_signature, strict=False)
            if k not in old.divergence_signature]
    if came:
        parts.append("now: " + "; ".join(came))
    if gone:
        parts.append("was: " + "; ".join(gone))
    if not came and not gone and old.divergence_signature != new.divergence_signature:
        parts.append("same differences in another order")
    return "; ".join(parts)


def compare_results(old: ResultsFile, new: ResultsFile) -> Comparison:
    """Every case of either file, classified; changes sorted by kind, then case id."""
    return compare_sides(Side("old", old), Side("new", new))


def compare_sides(first: Side, second: Side) -> Comparison:
    """The second side against the first, lined up by case id (whole files) or by scenario
    (one image per side); with what differs between the images that produced them."""
    check_pairing(first, second)
    a, b = first.outcomes(), second.outcomes()
    changes = []
    unchanged = 0
    for key in sorted(a.keys() | b.keys()):
        change = classify(a.get(key), b.get(key))
        if change is None:
            unchanged += 1
        else:
            changes.append(replace(change, case=key,
                                   exits=first_exit_difference(a.get(key), b.get(key))))
    order = {k: i for i, k in enumerate(ChangeKind)}
    changes.sort(key=lambda c: (order[c.kind], c.case))
    pairs = (("the runs", *run_changes(first, second)),
             *((title, provenance_changes(fa, fb, first.label, second.label),
                same_facts(fa, fb)) for title, fa, fb in provenance_pairs(first, second)))
    return Comparison(first.file, second.file, tuple(changes), unchanged, first, second, pairs)


# -- presenting ---------------------------------------------------------------------------------

def _verdict(o: CaseOutcome | None) -> str:
    return o.verdict.value if o is not None else "—"


def _side_line(cmp: Comparison, which: int) -> str:
    side = (cmp.a, cmp.b)[which]
    if side is not None:
        return f"{side.label}: {side.describe()}"
    f = (cmp.old, cmp.new)[which]
    return (f"{cmp.labels[which]}: {f.source} ({len(f.cases)} cases"
            f"{', ' + f.finished_at if f.finished_at else ''})")


def provenance_lines(cmp: Comparison) -> list[str]:
    """What differs between the images that produced the two sides, and what they share."""
    la, lb = cmp.labels
    out = []
    for title, changes, same in cmp.provenance:
        out.append(f"what differs between {la} and {lb} ({title}):")
        out += [f"  {c.note}" for c in changes] or ["  nothing recorded differs"]
        if same:
            out.append(f"  same in both: {', '.join(same)}")
    return out


def summary_line(cmp: Comparison) -> str:
    s, lb = cmp.summary(), cmp.labels[1]
    return (f"summary: {s['fixed']} fixed in {lb}, {s['regressed']} regressed in {lb}, "
            f"{s['other']} other change(s), {s['unchanged']} unchanged")


def render_table(cmp: Comparison) -> str:
    """The human report: one row per changed case (with the first exit observed differently
    under it), what differs between the images, then the summary."""
    la, lb = cmp.labels
    lines = [_side_line(cmp, 0), _side_line(cmp, 1), ""]
    if cmp.changes:
        key = "scenario" if cmp.by_image else "case"
        kw = max(len("change"), *(len(c.kind.value) for c in cmp.changes))
        cw = max(len(key), *(len(c.case) for c in cmp.changes))
        vw = max(len(v.value) for v in Verdict)
        head = f"{'change':{kw}}  {key:{cw}}  {la:{vw}}  {lb:{vw}}  what"
        lines += [head, "-" * len(head)]
        for c in cmp.changes:
            mark = "!" if c.is_regression else " "
            lines.append(f"{c.kind.value:{kw}}  {c.case:{cw}}  {_verdict(c.old):{vw}}  "
                         f"{_verdict(c.new):{vw}}  {mark} {c.note}".rstrip())
            if c.exits is not None:
                lines.append(f"{'':{kw}}  {'':{cw}}  {'':{vw}}  {'':{vw}}    {la} → {lb}: "
                             f"{c.exits.describe(la, lb)}")
        lines.append("")
    prov = provenance_lines(cmp)
    lines += [*prov, ""] if prov else []
    counts = ", ".join(f"{n} {k}" for k, n in cmp.counts().items())
    lines.append(f"{counts + '; ' if counts else 'no changes; '}{cmp.unchanged} unchanged")
    lines.append(summary_line(cmp))
    if cmp.regressions:
        lines.append(f"REGRESSION: {len(cmp.regressions)} case(s) marked ! got worse")
    return "\n".join(lines)


def _outcome_json(o: CaseOutcome | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"verdict": o.verdict.value, "detail": o.detail, "diffs": list(o.diffs),
            "known_divergences": sorted(o.known),
            **({"known_notes": list(o.notes)} if o.notes else {}),
            **({"host_capability": o.host_capability} if o.host_capability else {})}


def _side_json(cmp: Comparison, which: int) -> dict[str, Any]:
    f, side = (cmp.old, cmp.new)[which], (cmp.a, cmp.b)[which]
    return {"file": f.source, "finished_at": f.finished_at, "cases": len(f.cases),
            **({"label": side.label, "image": side.image,
                "selected": len(side.outcomes())} if side else {})}


def comparison_to_json(cmp: Comparison) -> dict[str, Any]:
    return {
        "schema": COMPARE_SCHEMA,
        "mode": "images" if cmp.by_image else "runs",
        "old": _side_json(cmp, 0),
        "new": _side_json(cmp, 1),
        "regression": bool(cmp.regressions),
        "counts": {k.name.lower(): n for k, n in
                   Counter(c.kind for c in cmp.changes).items()},
        "unchanged": cmp.unchanged,
        "summary": cmp.summary(),
        "provenance": [{"images": title, "same": list(same),
                        "changes": [{"what": c.what, "a": c.a, "b": c.b, "note": c.note}
                                    for c in changes]}
                       for title, changes, same in cmp.provenance],
        "changes": [{"case": c.case, "change": c.kind.name.lower(), "label": c.kind.value,
                     "regression": c.is_regression, "fix": c.is_fix, "note": c.note,
                     "old": _outcome_json(c.old), "new": _outcome_json(c.new),
                     "exit_difference": c.exits.to_json() if c.exits else None}
                    for c in cmp.changes],
    }


def render_markdown(cmp: Comparison) -> str:
    """The same report as Markdown (for CI job summaries)."""
    la, lb = cmp.labels
    against = f"`{cmp.old.source}`" + (f" image `{cmp.a.image}`" if cmp.a and cmp.a.image
                                       else "")
    out = [f"**{'REGRESSION' if cmp.regressions else 'No regression'}** against "
           f"{against}: " + (", ".join(f"{n} {k}" for k, n in cmp.counts().items())
                             or "no changes") + f"; {cmp.unchanged} unchanged", "",
           summary_line(cmp), ""]
    if cmp.changes:
        out += [f"| change | {'scenario' if cmp.by_image else 'case'} | {la} | {lb} | what |",
                "|---|---|---|---|---|"]
        for c in cmp.changes:
            note = c.note + (f"; {la} → {lb}: {c.exits.describe(la, lb)}" if c.exits else "")
            flag = " ⚠" if c.is_regression else ""
            out.append(f"| {c.kind.value}{flag} | `{c.case}` | {_verdict(c.old)} | "
                       f"{_verdict(c.new)} | {note.replace('|', chr(92) + '|')} |")
    prov = provenance_lines(cmp)
    if prov:
        out += ["", *(f"- {ln.strip()}" if ln.startswith("  ") else ln for ln in prov)]
    return "\n".join(out) + "\n"


def kinds_of(changes: Sequence[CaseChange]) -> dict[str, ChangeKind]:
    """case id → kind of change (a convenience for callers and tests)."""
    return {c.case: c.kind for c in changes}
