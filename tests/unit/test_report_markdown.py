"""report.md as GitHub shows it: every case that did not pass with its first diff, table rows
that a `|` inside a cell cannot break, no stray punctuation, and known divergences only for
the images of the run."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import replace
from pathlib import Path

from harness.check.compare import ExitDiff, FieldDiff
from harness.check.known import KnownDivergence
from harness.check.verdict import Verdict
from harness.report.markdown import write_report
from harness.report.tables import Cell, Table, md_table
from harness.run.case import CaseResult


def case(cid: str, verdict: Verdict, *, arch: str = "riscv64", axvisor: str = "0.5.8",
         detail: str = "", diffs: tuple[ExitDiff, ...] = (), known: tuple[str, ...] = (),
         artifacts: Path = Path("/nonexistent")) -> CaseResult:
    return CaseResult(case_id=cid, scenario=cid.split("/")[1], arch=arch, verdict=verdict,
                      detail=detail, expected=(), observed=(), diffs=diffs, duration_s=1.0,
                      artifacts=artifacts, known=known,
                      image={"recipe": cid.split("/")[0], "axvisor": axvisor,
                             "generation": "G0_2", "backend": ""}, qemu={})


def entry(kid: str, arch: str, *, kind: str = "fields", fields: tuple[str, ...] = ("data",),
          model: str = "m", variant: str = "MmioWrite") -> KnownDivergence:
    day = _dt.date(2026, 1, 1)
    return KnownDivergence(id=kid, arch=arch, axvisor=("0.5.8", "0.3.0-preview.2"),
                           variant=variant, fields=fields, scenarios=("s",), model=model,
                           observed="o", source="crate 1.0 src/x.rs:1", reviewed=day,
                           expires=day, line=3, kind=kind)


AMO = ExitDiff(0, "fields", {"variant": "NestedPageFault", "fields": {"access_flags": 3}},
               {"variant": "NestedPageFault", "fields": {"access_flags": 0}}, 363,
               (FieldDiff("access_flags", 3, 0),))


def cells_of(row: str) -> list[str]:
    """A GitHub table row split where GitHub splits it: at `|` not preceded by `\\`."""
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def report(tmp_path: Path, cases: list[CaseResult], known: list[KnownDivergence]) -> str:
    path = tmp_path / "report.md"
    write_report(cases, {}, known, path, "axharness run")
    return path.read_text()


def test_a_pipe_inside_a_cell_does_not_split_the_row(tmp_path: Path) -> None:
    text = report(tmp_path, [case("riscv64/amo", Verdict.XFAIL, diffs=(AMO,),
                                  known=("amo",))],
                  [entry("amo", "riscv64", model="access_flags = READ | WRITE",
                         fields=("access_flags",), variant="NestedPageFault")])
    header = next(ln for ln in text.splitlines() if ln.startswith("| id |"))
    row = next(ln for ln in text.splitlines() if ln.startswith("| amo |"))
    assert len(cells_of(row)) == len(cells_of(header)) == 8
    assert "READ \\| WRITE" in row


def test_md_table_escapes_pipes_in_text_and_code_and_joins_lines() -> None:
    (_, _, row) = md_table(Table(("a", "b"), ((Cell("x | y\nz"), Cell(code="READ | WRITE")),)))
    assert cells_of(row) == [" x \\| y z ", " `READ \\| WRITE` "]


def test_an_entry_without_fields_has_no_dangling_dot(tmp_path: Path) -> None:
    text = report(tmp_path, [case("riscv64/s", Verdict.PASS)],
                  [entry("fetch", "riscv64", kind="missing", fields=(),
                         variant="NestedPageFault")])
    row = next(ln for ln in text.splitlines() if ln.startswith("| fetch |"))
    assert "`NestedPageFault (missing)`" in row
    assert not re.search(r"\w\.[ `]*\|", row), row  # `NestedPageFault.` was the old cell


def test_entries_for_images_not_in_the_run_are_left_out_not_marked_not_run(
        tmp_path: Path) -> None:
    text = report(tmp_path, [case("riscv64/s", Verdict.PASS)],
                  [entry("rv", "riscv64"), entry("a64", "aarch64")])
    assert "| rv |" in text
    assert "| a64 |" not in text
    assert "not run" not in text
    assert "1 entries for images not in this run are not shown" in text


def test_every_case_that_did_not_pass_is_listed_with_its_first_diff(tmp_path: Path) -> None:
    div = ExitDiff(1, "fields", {"variant": "MmioWrite", "fields": {"data": 0x88}},
                   {"variant": "MmioWrite", "fields": {"data": 0x1188}}, 40,
                   (FieldDiff("data", 0x88, 0x1188),))
    cases = [case("riscv64/ok", Verdict.PASS),
             case("riscv64/bad", Verdict.DIVERGENCE, detail="1 exit(s) differ", diffs=(div,)),
             case("riscv64/amo", Verdict.XFAIL, detail="xfail", diffs=(AMO,), known=("amo",)),
             case("riscv64/boom", Verdict.CRASH, detail="axvisor panicked: oops"),
             case("x86_64-vmx/a", Verdict.SKIP, arch="x86_64", detail="no VMX"),
             case("x86_64-vmx/b", Verdict.SKIP, arch="x86_64", detail="no VMX")]
    text = report(tmp_path, cases, [entry("amo", "riscv64")])
    section = text.split("## Cases that did not pass")[1].split("\n## ")[0]
    assert "riscv64/ok" not in section
    assert "exit #1 MmioWrite (console line 40): data: expected 0x88, observed 0x1188" in section
    assert "exit #0 NestedPageFault (console line 363): access_flags: expected 0x3" in section
    assert "known divergence `amo`: crate 1.0 src/x.rs:1" in section
    assert "**riscv64/boom** crash: axvisor panicked: oops" in section
    assert "skip (2): no VMX: x86_64-vmx/a, x86_64-vmx/b" in section
    assert section.index("riscv64/bad") < section.index("riscv64/amo")  # failures first


def test_a_matrix_cell_without_a_synchronous_exit_names_the_missing_one(tmp_path: Path) -> None:
    from harness.scenarios.catalogue import Scenario

    missing = ExitDiff(0, "missing", {"variant": "NestedPageFault", "fields": {}}, None, None)
    only_async = ({"variant": "Nothing", "fields": {}},)  # set aside, not the scenario's exit
    cases = [replace(case("riscv64/fetch", Verdict.XFAIL, diffs=(missing,), known=("f",)),
                     observed=only_async)]
    path = tmp_path / "report.md"
    write_report(cases, {"riscv64/fetch": Scenario("fetch", "riscv64", "x", (),
                                                   semantic="fetch-unmapped")}, [], path, "x")
    row = next(ln for ln in path.read_text().splitlines() if ln.startswith("| fetch-unmapped "))
    assert cells_of(row)[1].strip() == "xfail: `NestedPageFault missing`"


def test_the_report_says_how_many_cases_shared_a_boot_or_started_from_a_snapshot(
        tmp_path: Path) -> None:
    shared = [replace(case(f"aarch64/s{i}", Verdict.PASS), qemu={"persistent": {
        "boot": f"boots/aarch64/boot-0-0000{i // 2}", "program": i % 2}}) for i in range(3)]
    restored = replace(case("aarch64/off", Verdict.PASS),
                       restored={"snapshot_s": 0.4, "loader_exit_lines": [435]})
    rerun = replace(case("aarch64/wfi", Verdict.PASS),
                    restored={"rerun_on_boot": True, "agreed": False,
                              "restored_verdict": "timeout", "restored_detail": "silent"})
    alone = [case("x86_64-svm/hlt", Verdict.PASS), case("x86_64-vmx/hlt", Verdict.SKIP)]
    text = report(tmp_path, [*shared, restored, rerun, *alone], [])
    assert ("How the cases ran: 3 in 2 shared boot(s), 1 from a snapshot of the booted loader, "
            "2 on a boot of their own (1 of them after a restored run that did not pass).") in text
    assert "How the cases ran" not in report(tmp_path, alone, [])
