"""The known divergences a run evaluated without an xfail, as a report section: entries that
do not apply to an image (it modifies the crate they quote), stale entries (they apply, list
the scenario, and did not match) and expired ones, each with the cases where that happened.

Read from each case's `known_notes` (harness.check.known), never from prose: a stale entry is
listed as evaluated and stale, not as "not run"."""

from __future__ import annotations

from collections.abc import Sequence

from harness.check.verdict import Verdict
from harness.report.tables import NONE, Cell, Section, Table
from harness.run.case import CaseResult

_TONE = {"not-applicable": NONE, "stale": Verdict.ERROR.value, "expired": Verdict.ERROR.value}


def known_notes_section(cases: Sequence[CaseResult]) -> Section | None:
    """One row per (entry, status, reason) with the cases it concerns; None: no such entry."""
    rows: dict[tuple[str, str, str], list[str]] = {}
    for c in cases:
        for n in c.known_notes:
            rows.setdefault((n.entry, n.status, n.why), []).append(c.case_id)
    if not rows:
        return None
    table = Table(("entry", "evaluated", "why", "cases"), tuple(
        (Cell(code=entry), Cell(status.replace("-", " "), tone=_TONE.get(status, ""),
                                strong=status != "not-applicable"),
         Cell(f"entry {entry} {status.replace('-', ' ')}: {why}"), Cell(", ".join(ids)))
        for (entry, status, why), ids in sorted(rows.items())))
    return Section(
        "Known divergences evaluated without an xfail",
        "Entries that list these cases' scenarios but did not turn them into an expected "
        "failure: not applicable (the image does not build the crate the entry quotes "
        "unmodified from crates.io), stale (it applies and did not match: the case is an "
        "error) or expired.", table, anchor="known-notes")
