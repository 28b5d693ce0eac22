"""The matrices of a report: the same semantic action on every image (cross-architecture), and
the same scenario on every axvisor line of an architecture (cross-version).

Both take nothing but cases, so a matrix over several runs is the matrix of their cases put
together; the cross-version one appears as soon as the cases hold two axvisor versions of one
architecture.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from harness.check.compare import ASYNC_VARIANTS
from harness.check.verdict import Verdict
from harness.report.cases import case_anchor, first_field, fmt_value
from harness.report.tables import Cell, Section, Table
from harness.run.case import CaseResult
from harness.scenarios.catalogue import Scenario

# Which of several cases stands for a matrix cell: the one a reader must look at first.
_SEVERITY = {Verdict.SKIP: 0, Verdict.PASS: 1, Verdict.XFAIL: 2}


def recipe_of(case: CaseResult) -> str:
    return case.case_id.split("/", 1)[0]


def _link(case: CaseResult) -> str:
    return "" if case.verdict is Verdict.PASS else "#" + case_anchor(case.case_id)


def arch_matrix(cases: Sequence[CaseResult], scenarios: dict[str, Scenario]) -> Section:
    """Rows: semantic actions; columns: images; a cell: the verdict and the first exit
    observed (asynchronous ones skipped, unless the scenario is about one)."""
    rows: dict[str, dict[str, CaseResult]] = defaultdict(dict)
    for c in cases:
        sc = scenarios.get(f"{c.arch}/{c.scenario}")
        if sc is not None and sc.semantic:
            rows[sc.semantic][recipe_of(c)] = c
    recipes = sorted({recipe_of(c) for c in cases})
    body = []
    for semantic, by_recipe in sorted(rows.items()):
        row = [Cell(semantic)]
        for r in recipes:
            cell = by_recipe.get(r)
            if cell is None:
                row.append(Cell("—", tone="none"))
                continue
            sc = scenarios.get(f"{cell.arch}/{cell.scenario}")
            wanted = [o for o in cell.observed
                      if sc is not None and o["variant"] in sc.expect_async]
            sync = [o for o in cell.observed
                    if o["variant"] not in ASYNC_VARIANTS and not o.get("runtime")]
            if wanted or sync:
                code = fmt_value((wanted or sync)[0])
            elif cell.diffs:  # nothing but asynchronous exits: what was expected and missing
                code = first_field(cell.diffs[0])
            else:
                code = fmt_value(cell.observed[0]) if cell.observed else ""
            row.append(Cell(f"{cell.verdict.value}:" if code else cell.verdict.value, code,
                            tone=cell.verdict.value, href=_link(cell), title=cell.detail))
        body.append(tuple(row))
    return Section(
        "Cross-architecture matrix",
        "Scenarios that perform the same semantic action on each architecture; each cell is "
        "the verdict and the first exit observed (asynchronous ones skipped, unless the "
        "scenario is about one).",
        Table(("action", *recipes), tuple(body)), anchor="matrix")


def _line(case: CaseResult) -> tuple[str, str]:
    return case.arch, str(case.image.get("axvisor") or "?")


def _worst(cases: Sequence[CaseResult]) -> CaseResult:
    return max(cases, key=lambda c: (_SEVERITY.get(c.verdict, 3), bool(c.diffs)))


def version_matrix(cases: Sequence[CaseResult]) -> Section | None:
    """Rows: scenarios; columns: the axvisor lines of each architecture that has two or more
    in `cases`; a cell: the verdict and the first differing field. Several images of one line
    (aarch64, aarch64-smp) share a column, which shows the case that did worst. None when no
    architecture has two lines."""
    lines: dict[str, set[str]] = defaultdict(set)
    for c in cases:
        lines[c.arch].add(_line(c)[1])
    columns = [(a, v) for a in sorted(lines) if len(lines[a]) > 1
               for v in sorted(lines[a], key=_version_key)]
    if not columns:
        return None
    cells: dict[str, dict[tuple[str, str], list[CaseResult]]] = defaultdict(
        lambda: defaultdict(list))
    for c in cases:
        if _line(c) in columns:
            cells[c.scenario][_line(c)].append(c)
    body = []
    for scenario, by_line in sorted(cells.items()):
        row = [Cell(scenario)]
        for col in columns:
            found = by_line.get(col)
            if not found:
                row.append(Cell("—", tone="none"))
                continue
            case = _worst(found)
            what = first_field(case.diffs[0]) if case.diffs else ""
            mark = " ◇" if any(c.contract_notes for c in found) else ""
            label = (f"{case.verdict.value}:" if what else case.verdict.value) + mark
            notes = "; ".join(dict.fromkeys(n for c in found for n in c.contract_notes))
            row.append(Cell(label, what, tone=case.verdict.value, href=_link(case),
                            title=f"{case.case_id}: {case.detail}"
                                  + (f" — contract: {notes}" if notes else "")))
        body.append(tuple(row))
    return Section(
        "Cross-version matrix",
        "The same scenario on each axvisor line of an architecture; each cell is the verdict "
        "and the first field that differs from the model (several images of one line: the one "
        "that did worst); ◇: that line's exit contract differs from the reference generation's "
        "for this scenario (what, in the table below).",
        Table(("scenario", *(f"{a} {v}" for a, v in columns)), tuple(body)), anchor="versions")


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    """0.3.0-preview.2 < 0.5.8 < 0.8.2 < 0.10.0 (numbers compared as numbers)."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.-]", version))


def contract_section(cases: Sequence[CaseResult]) -> Section | None:
    """Where a line's exit contract differs from the reference generation's (axvcpu 0.2 – 0.5)
    for the scenarios that ran: each [[change]] of the schema files that a prediction went
    through, with the cases it concerned. Weaker or different, it is said, not silent."""
    rows: dict[str, list[CaseResult]] = defaultdict(list)
    for c in cases:
        for note in c.contract_notes:
            rows[note].append(c)
    if not rows:
        return None
    body = []
    for note, found in sorted(rows.items()):
        schema_arch, _, rest = note.partition(": ")
        change, _, what = rest.partition(": ")
        names = sorted({c.scenario for c in found})
        shown = ", ".join(names[:5]) + (f" … (+{len(names) - 5})" if len(names) > 5 else "")
        body.append((Cell(schema_arch), Cell(change), Cell(what), Cell(shown)))
    return Section(
        "Where the exit contract differs between lines",
        "Predictions are made once in the terms of the reference generation (AxVCpuExitReason "
        "of axvcpu 0.2 – 0.5) and carried to each image's schema by its [[change]] entries "
        "(schemas/*.toml). Each row is a change a prediction of this run went through: where "
        "the new contract is weaker (a PSCI call as a raw Hypercall, no NestedPageFault on "
        "aarch64) or only different, with its source; `(none)`: the line's enum has no exit "
        "for that trap.",
        Table(("schema / arch", "change", "what (source)", "scenarios"), tuple(body)),
        anchor="contract")
