"""The cross-version view of a report: one row per scenario, one column per axvisor line of an
architecture, a mark where the line's exit contract differs, and the table of those
differences with the cases they concerned."""

from __future__ import annotations

from pathlib import Path

from harness.check.verdict import Verdict
from harness.report.matrix import contract_section, version_matrix
from harness.run.case import CaseResult

NOTE = ("axvm-0.8 aarch64: CpuDown → Hypercall: PSCI CPU_OFF arrives as Hypercall "
        "{ nr: 0x84000002, args: [x1..x6] } (axvm 0.8.5 src/arch/aarch64/policy/exception.rs:"
        "229-247)")


def case(recipe: str, scenario: str, axvisor: str, verdict: Verdict = Verdict.PASS,
         notes: tuple[str, ...] = ()) -> CaseResult:
    return CaseResult(case_id=f"{recipe}/{scenario}", scenario=scenario, arch="aarch64",
                      verdict=verdict, detail="d", expected=(), observed=(), diffs=(),
                      duration_s=1.0, artifacts=Path("/nonexistent"),
                      image={"recipe": recipe, "axvisor": axvisor, "schema": "axvcpu-0.2"},
                      qemu={}, contract_notes=notes)


CASES = [case("aarch64", "psci-cpu-off", "0.3.0-preview.2"),
         case("aarch64-0.8", "psci-cpu-off", "0.8.2", notes=(NOTE,)),
         case("aarch64", "first-guest", "0.3.0-preview.2"),
         case("aarch64-0.8", "first-guest", "0.8.2", Verdict.XFAIL)]


def test_each_line_is_a_column_and_a_changed_contract_is_marked() -> None:
    section = version_matrix(CASES)
    assert section is not None and section.table is not None
    assert section.table.header == ("scenario", "aarch64 0.3.0-preview.2", "aarch64 0.8.2")
    rows = {r[0].text: [c.text for c in r[1:]] for r in section.table.rows}
    assert rows == {"first-guest": ["pass", "xfail"], "psci-cpu-off": ["pass", "pass ◇"]}


def test_the_contract_differences_name_change_source_and_scenarios() -> None:
    section = contract_section(CASES)
    assert section is not None and section.table is not None
    (row,) = section.table.rows
    assert [c.text for c in row[:2]] == ["axvm-0.8 aarch64", "CpuDown → Hypercall"]
    assert "exception.rs:229-247" in row[2].text and row[3].text == "psci-cpu-off"
    assert contract_section(CASES[:1]) is None


def test_the_runtime_s_marker_hypercalls_produce_no_coverage() -> None:
    from dataclasses import replace

    from harness.report.coverage import arch_section

    marker = {"variant": "Hypercall", "fields": {"nr": 0x4158_4801}, "runtime": "marker"}
    store = {"variant": "MmioWrite", "fields": {}}
    c = replace(case("aarch64-0.8", "s", "0.8.2"), observed=(marker, store),
                image={"recipe": "aarch64-0.8", "axvisor": "0.8.2", "schema": "axvm-0.8"})
    section = arch_section([c])
    assert section.table is not None
    rows = {r[0].text: r[1].text for r in section.table.rows}
    assert rows["MmioWrite"] == "1" and rows["Hypercall"] == "0"
