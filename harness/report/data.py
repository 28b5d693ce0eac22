"""Everything a report shows, gathered once from a run: the Markdown report and the HTML report
are two renderings of one `ReportData`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.check.known import KnownDivergence
from harness.check.verdict import Verdict
from harness.paths import repo_root
from harness.report import coverage, matrix
from harness.report.cases import CaseView, not_passed
from harness.report.provenance import Provenance, collect
from harness.report.reachability import Unreachable
from harness.report.tables import Cell, Section, Table
from harness.run.case import CaseResult
from harness.scenarios.catalogue import Scenario


@dataclass(frozen=True, slots=True)
class ReportData:
    command: str
    counts: tuple[tuple[str, int], ...]  # (verdict, cases), in the order of `Verdict`
    per_image: Table  # verdict counts per image
    matrices: tuple[Section, ...]  # cross-architecture, then cross-version when there is one
    coverage: tuple[Section, ...]  # per architecture, then per image
    known: Section
    cases: tuple[CaseView, ...]  # every case that is not a pass
    provenance: Provenance | None
    how_run: str = ""  # how_cases_ran


def how_cases_ran(cases: Sequence[CaseResult]) -> str:
    """One sentence: how many cases shared a boot (persistent mode), started from a snapshot
    of the booted loader, or had a boot of their own (harness.persist); "" when all booted."""
    ran = [c for c in cases if c.verdict not in (Verdict.SKIP, Verdict.INTERRUPTED)]
    boots = {str(c.qemu["persistent"].get("boot")) for c in ran
             if isinstance(c.qemu.get("persistent"), dict)}
    shared = sum(isinstance(c.qemu.get("persistent"), dict) for c in ran)
    restored = sum(bool(c.restored.get("loader_exit_lines")) for c in ran)
    rerun = sum(bool(c.restored.get("rerun_on_boot")) for c in ran)
    if not shared and not restored and not rerun:
        return ""
    again = f" ({rerun} of them after a restored run that did not pass)" if rerun else ""
    return (f"How the cases ran: {shared} in {len(boots)} shared boot(s), {restored} from a "
            f"snapshot of the booted loader, {len(ran) - shared - restored} on a boot of "
            f"their own{again}.")


def verdict_counts(cases: Sequence[CaseResult]) -> tuple[tuple[str, int], ...]:
    counts = Counter(c.verdict for c in cases)
    return tuple((v.value, counts[v]) for v in Verdict if counts[v])


def per_image(cases: Sequence[CaseResult]) -> Table:
    verdicts = [v for v in Verdict if any(c.verdict is v for c in cases)]
    counts = Counter((matrix.recipe_of(c), c.verdict) for c in cases)
    arch = {matrix.recipe_of(c): c.arch for c in cases}
    rows = tuple((Cell(r), Cell(arch[r]), *(Cell(str(counts[(r, v)]),
                                                  tone=v.value if counts[(r, v)] else "none")
                                             for v in verdicts))
                 for r in sorted(arch))
    return Table(("image", "arch", *(v.value for v in verdicts)), rows)


def collect_report(cases: Sequence[CaseResult], scenarios: dict[str, Scenario],
                   known: Sequence[KnownDivergence], command: str, base: Path,
                   unreachable: Sequence[Unreachable] = (),
                   extra: Mapping[str, Any] | None = None) -> ReportData:
    """`base`: the directory the report is written to (artifact links are relative to it);
    `extra`: what the suite returned beside the cases (image keys and manifests), for the
    provenance; without it the report has none."""
    version = matrix.version_matrix(cases)
    contract = matrix.contract_section(cases)
    return ReportData(
        command=command, counts=verdict_counts(cases), per_image=per_image(cases),
        matrices=(matrix.arch_matrix(cases, scenarios), *((version,) if version else ()),
                  *((contract,) if contract else ())),
        coverage=(coverage.arch_section(cases, unreachable),
                  *coverage.image_sections(cases, unreachable)),
        known=coverage.known_section(cases, known), cases=not_passed(cases, known, base),
        provenance=collect(cases, extra, command, repo_root()) if extra is not None else None,
        how_run=how_cases_ran(cases))
