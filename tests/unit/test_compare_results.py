"""`axharness compare`: which changes between two results files are regressions, how user
mistakes are reported, and what the JSON and Markdown outputs hold. Results files are written
by hand here, in the schema `axharness run` writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.check.verdict import Verdict
from harness.cli import main
from harness.errors import UsageError
from harness.qemu.host import HostCaps
from harness.qemu.profiles import get_profile
from harness.report.compare import (
    ChangeKind,
    compare_results,
    kinds_of,
    parse_results,
    read_results,
    render_markdown,
    render_table,
)


def diff(expected: int = 0x88, observed: int = 0x1122_3344_5566_7788, line: int = 435
         ) -> dict[str, Any]:
    """One diff as CaseResult.to_json writes it: text for people, the rest for comparing."""
    def store(data: int) -> dict[str, Any]:
        return {"variant": "MmioWrite",
                "fields": {"addr": 0x0800_0E00, "width": "Byte", "data": data}}

    return {"index": 0, "kind": "fields", "variant": "MmioWrite",
            "text": f"exit #0 MmioWrite (console line {line}): data: expected {expected:#x}, "
                    f"observed {observed:#x}",
            "fields": [{"field": "data", "expected": expected, "observed": observed}],
            "expected": store(expected), "observed": store(observed),
            "observed_line": line, "vcpu": 0}


def case(cid: str, verdict: str = "pass", *, diffs: tuple[dict[str, Any], ...] = (),
         known: tuple[str, ...] = (), detail: str = "", lacking: str = "") -> dict[str, Any]:
    return {"case": cid, "scenario": cid.split("/")[-1], "arch": cid.split("/")[0],
            "verdict": verdict, "detail": detail or f"{verdict} detail",
            "diffs": list(diffs),
            "known_divergences": list(known),
            **({"host_capability": lacking} if lacking else {})}


NO_VMX = "host KVM offers no VMX to guests (CPUID.1:ECX.VMX[bit 5] is 0)"


def doc(*cases: dict[str, Any]) -> dict[str, Any]:
    return {"schema": "axharness-results/1", "harness": "0.1.0",
            "finished_at": "2026-01-01T00:00:00Z", "cases": list(cases)}


def write(tmp_path: Path, name: str, content: dict[str, Any] | str) -> Path:
    p = tmp_path / name
    p.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return p


def kinds(old: dict[str, Any], new: dict[str, Any]) -> dict[str, ChangeKind]:
    cmp = compare_results(parse_results(old, "old.json"), parse_results(new, "new.json"))
    return kinds_of(cmp.changes)


DIFF = diff()


# -- classification -------------------------------------------------------------------------------

def test_identical_runs_have_no_changes() -> None:
    d = doc(case("a/x"), case("a/y", "xfail", diffs=(DIFF,), known=("k1",)), case("a/z", "skip"))
    cmp = compare_results(parse_results(d, "o"), parse_results(d, "n"))
    assert cmp.changes == () and cmp.unchanged == 3 and not cmp.regressions


@pytest.mark.parametrize("verdict", [v.value for v in Verdict if v.is_failure])
def test_a_pass_that_becomes_any_failure_is_a_new_failure(verdict: str) -> None:
    got = kinds(doc(case("a/x")), doc(case("a/x", verdict)))
    assert got == {"a/x": ChangeKind.NEW_FAILURE}
    assert ChangeKind.NEW_FAILURE.is_regression


def test_a_skip_that_becomes_a_failure_is_a_new_failure() -> None:
    assert kinds(doc(case("a/x", "skip")), doc(case("a/x", "timeout"))) == {
        "a/x": ChangeKind.NEW_FAILURE}


def test_an_added_case_that_fails_counts_as_a_new_failure() -> None:
    assert kinds(doc(), doc(case("a/new", "crash"))) == {"a/new": ChangeKind.NEW_FAILURE}


def test_an_added_case_that_passes_is_only_added() -> None:
    got = kinds(doc(), doc(case("a/new")))
    assert got == {"a/new": ChangeKind.ADDED} and not ChangeKind.ADDED.is_regression


def test_pass_to_xfail_is_a_regression_and_xfail_to_pass_is_not() -> None:
    assert kinds(doc(case("a/x")), doc(case("a/x", "xfail", known=("k",)))) == {
        "a/x": ChangeKind.NOW_XFAIL}
    assert kinds(doc(case("a/x", "xfail", known=("k",))), doc(case("a/x"))) == {
        "a/x": ChangeKind.NOW_PASS}
    assert ChangeKind.NOW_XFAIL.is_regression and not ChangeKind.NOW_PASS.is_regression


def test_a_removed_case_is_a_regression() -> None:
    cmp = compare_results(parse_results(doc(case("a/x"), case("a/y")), "o"),
                          parse_results(doc(case("a/x")), "n"))
    assert kinds_of(cmp.changes) == {"a/y": ChangeKind.REMOVED}
    assert [c.case for c in cmp.regressions] == ["a/y"]


def test_a_failure_that_passes_is_fixed() -> None:
    assert kinds(doc(case("a/x", "divergence", diffs=(DIFF,))), doc(case("a/x"))) == {
        "a/x": ChangeKind.FIXED}


def test_a_skip_that_passes_is_a_new_pass() -> None:
    assert kinds(doc(case("a/x", "skip")), doc(case("a/x"))) == {"a/x": ChangeKind.NEW_PASS}


def test_a_pass_skipped_for_a_host_capability_is_a_new_skip_not_a_regression() -> None:
    skipped = case("a/x", "skip", detail=NO_VMX, lacking="kvm-vmx")
    assert kinds(doc(case("a/x")), doc(skipped)) == {"a/x": ChangeKind.NEW_SKIP}
    assert not ChangeKind.NEW_SKIP.is_regression


@pytest.mark.parametrize("old", ["pass", "xfail", "divergence"])
def test_a_case_skipped_for_anything_but_a_host_capability_is_a_regression(old: str) -> None:
    """The reason's prose does not count: only the results' structured marker does."""
    got = kinds(doc(case("a/x", old)), doc(case("a/x", "skip", detail=NO_VMX)))
    assert got == {"a/x": ChangeKind.UNEXPLAINED_SKIP} and ChangeKind.UNEXPLAINED_SKIP.is_regression


def test_compare_exits_2_when_84_passes_are_skipped_without_a_host_capability(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = [f"aarch64/s{i}" for i in range(84)]
    old = write(tmp_path, "old.json", doc(*(case(i) for i in ids)))
    new = write(tmp_path, "new.json", doc(*(case(i, "skip", detail="no reason") for i in ids)))
    assert main(["compare", str(old), str(new)]) == 2
    assert "REGRESSION: 84 case(s)" in capsys.readouterr().out
    lacking = write(tmp_path, "kvm.json", doc(*(case(i, "skip", detail=NO_VMX, lacking="kvm-vmx")
                                                for i in ids)))
    assert main(["compare", str(old), str(lacking)]) == 0


def test_a_host_capability_that_is_not_a_string_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, "r.json", doc({**case("a/x", "skip"), "host_capability": 5}))
    with pytest.raises(UsageError, match=r"r\.json: cases\[0\] \(a/x\): .*host_capability"):
        read_results(p)


def test_one_failure_turning_into_another_is_a_verdict_change_not_a_new_failure() -> None:
    assert kinds(doc(case("a/x", "divergence", diffs=(DIFF,))), doc(case("a/x", "crash"))) == {
        "a/x": ChangeKind.VERDICT}


def test_a_different_diff_under_the_same_verdict_is_a_changed_divergence() -> None:
    other = diff(expected=0x88, observed=0x1122_3344_5566_7789)
    got = kinds(doc(case("a/x", "xfail", diffs=(DIFF,), known=("k",))),
                doc(case("a/x", "xfail", diffs=(other,), known=("k",))))
    assert got == {"a/x": ChangeKind.DIVERGENCE}


def test_a_different_set_of_known_divergences_is_a_changed_divergence() -> None:
    got = kinds(doc(case("a/x", "xfail", diffs=(DIFF,), known=("k1",))),
                doc(case("a/x", "xfail", diffs=(DIFF,), known=("k1", "k2"))))
    assert got == {"a/x": ChangeKind.DIVERGENCE}


def test_a_divergence_that_only_moved_in_the_console_log_is_unchanged() -> None:
    moved = diff(line=432)
    assert kinds(doc(case("a/x", "divergence", diffs=(DIFF,))),
                 doc(case("a/x", "divergence", diffs=(moved,)))) == {}


def test_changes_list_regressions_first() -> None:
    cmp = compare_results(
        parse_results(doc(case("a/1", "divergence", diffs=(DIFF,)), case("a/2")), "o"),
        parse_results(doc(case("a/1"), case("a/2", "error"), case("a/0")), "n"))
    assert [(c.case, c.kind) for c in cmp.changes] == [
        ("a/2", ChangeKind.NEW_FAILURE), ("a/1", ChangeKind.FIXED), ("a/0", ChangeKind.ADDED)]


# -- reports --------------------------------------------------------------------------------------

def test_the_table_marks_regressions_and_says_so() -> None:
    cmp = compare_results(parse_results(doc(case("a/x"), case("a/y")), "old.json"),
                          parse_results(doc(case("a/x", "crash", detail="hypervisor panic: boom"),
                                            case("a/y", "skip", lacking="kvm")), "new.json"))
    table = render_table(cmp)
    row = next(ln for ln in table.splitlines() if ln.startswith("new failure"))
    assert "a/x" in row and "pass" in row and "crash" in row and "! hypervisor panic: boom" in row
    skip_row = next(ln for ln in table.splitlines() if ln.startswith("new skip"))
    assert "!" not in skip_row
    assert "REGRESSION: 1 case(s)" in table


def test_the_markdown_report_escapes_pipes_in_notes() -> None:
    cmp = compare_results(parse_results(doc(case("a/x")), "o"),
                          parse_results(doc(case("a/x", "error", detail="a | b")), "n"))
    md = render_markdown(cmp)
    assert md.startswith("**REGRESSION**")
    assert "| new failure ⚠ | `a/x` | pass | error | a \\| b |" in md


# -- the command ----------------------------------------------------------------------------------

def test_compare_exits_0_without_regression_and_2_with_one(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    old = write(tmp_path, "old.json", doc(case("a/x", "divergence", diffs=(DIFF,)), case("a/y")))
    better = write(tmp_path, "better.json", doc(case("a/x"), case("a/y")))
    worse = write(tmp_path, "worse.json", doc(case("a/x", "divergence", diffs=(DIFF,)),
                                              case("a/y", "timeout")))
    assert main(["compare", str(old), str(better)]) == 0
    assert "fixed" in capsys.readouterr().out
    assert main(["compare", str(old), str(worse)]) == 2
    assert "REGRESSION" in capsys.readouterr().out


def test_compare_writes_the_comparison_as_json(tmp_path: Path) -> None:
    old = write(tmp_path, "old.json", doc(case("a/x"), case("a/gone")))
    new = write(tmp_path, "new.json", doc(case("a/x", "xfail", diffs=(DIFF,), known=("k",))))
    out = tmp_path / "cmp.json"
    assert main(["compare", str(old), str(new), "--json", str(out)]) == 2
    data = json.loads(out.read_text())
    assert data["schema"] == "axharness-compare/1" and data["regression"] is True
    assert data["counts"] == {"now_xfail": 1, "removed": 1}
    by_case = {c["case"]: c for c in data["changes"]}
    assert by_case["a/x"]["old"]["verdict"] == "pass"
    assert by_case["a/x"]["new"]["known_divergences"] == ["k"]
    assert by_case["a/gone"]["new"] is None


def test_compare_appends_markdown_so_a_job_summary_keeps_what_it_had(tmp_path: Path) -> None:
    f = write(tmp_path, "r.json", doc(case("a/x")))
    md = tmp_path / "summary.md"
    md.write_text("# earlier section\n")
    assert main(["compare", str(f), str(f), "--markdown", str(md)]) == 0
    text = md.read_text()
    assert text.startswith("# earlier section\n") and "No regression" in text


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_a_missing_results_file_is_a_usage_error_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = write(tmp_path, "ok.json", doc())
    err = _usage_error(capsys, ["compare", str(ok), str(tmp_path / "missing.json")])
    assert "missing.json" in err


def test_invalid_json_is_reported_with_file_line_and_column(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = write(tmp_path, "ok.json", doc())
    bad = write(tmp_path, "bad.json", '{\n  "schema": "axharness-results/1",\n  "cases": [,]\n}')
    err = _usage_error(capsys, ["compare", str(bad), str(ok)])
    assert f"{bad}:3:" in err


def test_a_file_of_another_schema_is_refused(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    ok = write(tmp_path, "ok.json", doc())
    junit = write(tmp_path, "other.json", {"schema": "something-else", "cases": []})
    err = _usage_error(capsys, ["compare", str(ok), str(junit)])
    assert "other.json" in err and "axharness-results/1" in err


def test_an_unknown_verdict_names_the_file_and_the_case(tmp_path: Path) -> None:
    p = write(tmp_path, "r.json", doc(case("a/x"), case("a/y", "exploded")))
    with pytest.raises(UsageError, match=r"r\.json: cases\[1\] \(a/y\): unknown verdict"):
        read_results(p)


def test_a_case_listed_twice_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, "r.json", doc(case("a/x"), case("a/x", "crash")))
    with pytest.raises(UsageError, match=r"r\.json: case a/x appears twice"):
        read_results(p)


def test_an_unwritable_json_output_is_a_usage_error(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "r.json", doc(case("a/x")))
    err = _usage_error(capsys, ["compare", str(f), str(f), "--json",
                                str(tmp_path / "no-such-dir" / "out.json")])
    assert "out.json" in err


@pytest.mark.parametrize("option", ["--json", "--markdown"])
def test_an_unwritable_output_does_not_hide_a_regression(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str) -> None:
    old = write(tmp_path, "old.json", doc(case("a/x")))
    new = write(tmp_path, "new.json", doc(case("a/x", "crash")))
    out = tmp_path / "no-such-dir" / "out"
    assert main(["compare", str(old), str(new), option, str(out)]) == 2
    cap = capsys.readouterr()
    assert "REGRESSION" in cap.out
    assert cap.err.count("\n") == 1 and str(out) in cap.err and "Traceback" not in cap.err


def test_a_binary_results_file_is_one_line_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = write(tmp_path, "ok.json", doc())
    binary = tmp_path / "results.json"
    binary.write_bytes(b'{"schema":\n "\xff\xfe\x00"}')
    err = _usage_error(capsys, ["compare", str(ok), str(binary)])
    assert f"{binary}:2:3:" in err and "UTF-8" in err


def test_deeply_nested_json_is_one_line_naming_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = write(tmp_path, "ok.json", doc())
    deep = write(tmp_path, "deep.json", "{\n" + '"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    err = _usage_error(capsys, ["compare", str(deep), str(ok)])
    assert f"{deep}:2:" in err and "nested" in err


def test_a_real_results_file_compares_equal_to_itself(tmp_path: Path) -> None:
    """The reader accepts what harness.report.results.write_results produces."""
    from harness.report.results import write_results
    from harness.run.case import CaseResult

    res = CaseResult(case_id="aarch64/x", scenario="x", arch="aarch64", verdict=Verdict.XFAIL,
                     detail="d", expected=(), observed=(), diffs=(), duration_s=0.1,
                     artifacts=tmp_path, image={}, qemu={}, known=("k",))
    path = tmp_path / "results.json"
    write_results([res], path, {})
    parsed = read_results(path)
    assert parsed.cases[0].verdict is Verdict.XFAIL and parsed.cases[0].known == {"k"}
    assert compare_results(parsed, parsed).unchanged == 1


@pytest.mark.parametrize(("caps", "profile", "lacking"), [
    (HostCaps("", "KVM offers no VMX", ""), "x86_64-q35-vmx-kvm", "kvm-vmx"),
    (HostCaps("no /dev/kvm on this host", "no /dev/kvm", "no /dev/kvm"), "x86_64-q35-vmx-kvm",
     "kvm"),
    (HostCaps("", "", ""), "x86_64-q35-vmx-kvm", ""),
    (HostCaps("no /dev/kvm", "no /dev/kvm", "no /dev/kvm"), "aarch64-virt-el2-tcg", ""),
])
def test_the_capability_a_profile_lacks_is_named_by_the_probe(
        caps: HostCaps, profile: str, lacking: str) -> None:
    assert caps.lacking(get_profile(profile)) == lacking


@pytest.mark.parametrize(("caps", "change"), [
    (HostCaps("", "KVM offers no VMX", ""), ChangeKind.NEW_SKIP),
    (HostCaps("", "", ""), ChangeKind.UNEXPLAINED_SKIP)])
def test_a_results_file_marks_a_skip_with_the_capability_this_host_lacks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caps: HostCaps,
        change: ChangeKind) -> None:
    """write_results asks the same (cached) probe the suite's skip came from; a skip the probe
    does not explain carries no marker, and compare then counts it as a regression."""
    from harness.report import results
    from harness.run.case import CaseResult

    monkeypatch.setattr(results, "probe", lambda: caps)
    res = CaseResult(case_id="x86_64-vmx/x", scenario="x", arch="x86_64", verdict=Verdict.SKIP,
                     detail="KVM offers no VMX", expected=(), observed=(), diffs=(),
                     duration_s=0.0, artifacts=tmp_path, image={},
                     qemu={"profile": "x86_64-q35-vmx-kvm"})
    path = tmp_path / "results.json"
    results.write_results([res], path, {})
    written = json.loads(path.read_text())["cases"][0]
    assert written.get("host_capability", "") == caps.lacking(get_profile("x86_64-q35-vmx-kvm"))
    passed = parse_results(doc(case("x86_64-vmx/x")), "old.json")
    assert kinds_of(compare_results(passed, read_results(path)).changes) == {
        "x86_64-vmx/x": change}
