"""`axharness merge`: shards (or disjoint runs) into one results.json and its reports; parts
that do not belong together are refused with one line naming the file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from harness.check.compare import ExitDiff, FieldDiff
from harness.check.known import KnownDivergence
from harness.check.scope import KnownNote
from harness.check.verdict import Verdict
from harness.cli import main
from harness.errors import UsageError
from harness.report.merge import case_from_json, merge_files
from harness.report.results import write_results
from harness.run.case import CaseResult

DIFF = ExitDiff(index=1, kind="fields",
                expected={"variant": "MmioWrite", "fields": {"data": 0x88, "width": "Byte"}},
                observed={"variant": "MmioWrite", "fields": {"data": 0x1122, "width": "Byte"}},
                observed_line=432, fields=(FieldDiff("data", 0x88, 0x1122),), vcpu=1)

# The entry that explains DIFF in scenario "a" (a fake of tests/conformance/known-divergences.toml).
KNOWN = KnownDivergence(id="a64-data", arch="aarch64", axvisor=("0.3.0-preview.2",),
                        variant="MmioWrite", fields=("data",), scenarios=("a",), model="",
                        observed="", source="", reviewed=dt.date(2026, 1, 1),
                        expires=dt.date(2099, 1, 1), line=1)


def case(name: str, verdict: Verdict = Verdict.PASS, recipe: str = "aarch64",
         where: Path = Path("/elsewhere/cases"), **kw: Any) -> CaseResult:
    kw.setdefault("diffs", ())
    return CaseResult(case_id=f"{recipe}/{name}", scenario=name, arch="aarch64", verdict=verdict,
                      detail=f"{name} detail", expected=({"variant": "SystemDown"},),
                      observed=({"variant": "SystemDown", "line": 9},),
                      duration_s=1.5, artifacts=where / f"{recipe}_{name}",
                      image={"recipe": recipe, "axvisor": "0.3.0-preview.2"},
                      qemu={"profile": "aarch64-virt-el2-tcg"}, **kw)


def part(directory: Path, cases: list[CaseResult], shard: tuple[int, int] | None = None,
         partition: str = "p1", key: str = "k1") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    images = {c.case_id.split("/")[0]: {"key": key} for c in cases}
    extra: dict[str, Any] = {"images": images, "wall_seconds": 10.0}
    if shard:
        extra["shard"] = {"index": shard[0], "count": shard[1], "partition": partition}
    write_results(cases, directory / "results.json", extra)
    return directory / "results.json"


def test_a_case_with_diffs_and_notes_reads_back_as_it_was_written() -> None:
    c = case("mmio-store-b", Verdict.XFAIL, diffs=(DIFF,), known=("a64-data",),
             known_notes=(KnownNote("x", "stale", "did not match"),), asynchronous=2,
             parse_errors=("line 3: bad",), end_failed=True)
    assert case_from_json(json.loads(json.dumps(c.to_json())), "t") == c
    restored = case("off", restored={"snapshot_s": 0.4, "loader_exit_lines": [435, 678]})
    assert case_from_json(json.loads(json.dumps(restored.to_json())), "t") == restored


def test_an_older_file_without_the_diffs_exits_still_gives_variant_line_and_vcpu() -> None:
    obj = case("mmio-store-b", Verdict.XFAIL, diffs=(DIFF,)).to_json()
    for d in obj["diffs"]:
        for key in ("expected", "observed", "observed_line", "vcpu"):
            del d[key]
    (diff,) = case_from_json(obj, "t").diffs
    assert (diff.variant, diff.observed_line, diff.vcpu) == ("MmioWrite", 432, 1)
    assert diff.describe() == DIFF.describe()


def test_the_shards_of_one_partition_merge_into_every_case_once(tmp_path: Path) -> None:
    a = part(tmp_path / "s1", [case("b"), case("a", Verdict.XFAIL, diffs=(DIFF,),
                                                known=("a64-data",))], (1, 2))
    b = part(tmp_path / "s2", [case("c", Verdict.DIVERGENCE)], (2, 2))
    merged = merge_files([b, a], (KNOWN,))
    assert [c.case_id for c in merged.cases] == ["aarch64/a", "aarch64/b", "aarch64/c"]
    assert merged.doc["summary"] == {"divergence": 1, "pass": 1, "xfail": 1}
    assert [p["shard"]["index"] for p in merged.doc["parts"]] == [2, 1]
    assert merged.cases[0].diffs == (DIFF,)


def test_a_skip_keeps_the_host_capability_its_shard_recorded(tmp_path: Path) -> None:
    path = part(tmp_path / "s1", [case("a", Verdict.SKIP)], (1, 1))
    doc = json.loads(path.read_text())
    doc["cases"][0]["host_capability"] = "kvm-vmx"  # a shard run on another host
    path.write_text(json.dumps(doc))
    assert merge_files([path]).doc["cases"][0]["host_capability"] == "kvm-vmx"


def test_artifacts_move_to_the_cases_directory_beside_each_part(tmp_path: Path) -> None:
    path = part(tmp_path / "s1", [case("a"), case("gone")], (1, 1))
    (tmp_path / "s1" / "cases" / "aarch64_a").mkdir(parents=True)
    merged = merge_files([path])
    assert merged.cases[0].artifacts == tmp_path / "s1" / "cases" / "aarch64_a"
    assert merged.cases[1].artifacts == Path("/elsewhere/cases/aarch64_gone")  # not there


@pytest.mark.parametrize(("parts", "message"), [
    ([("s1", ["a"], (1, 3), "p1", "k1"), ("s2", ["b"], (3, 3), "p1", "k1")],
     r"^shard\(s\) 2/3 missing: 2 of 3 given$"),
    ([("s1", ["a"], (1, 2), "p1", "k1"), ("s2", ["b"], (1, 2), "p1", "k1")],
     r"s2/results\.json: shard 1/2 is also .*s1/results\.json$"),
    ([("s1", ["a"], (1, 2), "p1", "k1"), ("s2", ["b"], (2, 2), "p2", "k1")],
     r"s2/results\.json: shard 2/2 of partition p2, but .*s1/results\.json is 1/2 of p1"),
    ([("s1", ["a"], (1, 2), "p1", "k1"), ("s2", ["b"], (2, 3), "p1", "k1")],
     r"not cut from the same plan and durations"),
    ([("s1", ["a"], (1, 2), "p1", "k1"), ("s2", ["a"], (2, 2), "p1", "k1")],
     r"s2/results\.json: case aarch64/a is also in .*s1/results\.json: the parts overlap"),
    ([("s1", ["a"], (1, 2), "p1", "k1"), ("s2", ["b"], (2, 2), "p1", "k2")],
     r"s2/results\.json: image aarch64 has key k2, but k1 in .*s1/results\.json"),
    ([("s1", ["a"], (1, 2), "p1", "k1"), ("s2", ["b"], None, "p1", "k1")],
     r"s2/results\.json: not a shard, but .*s1/results\.json is"),
])
def test_parts_that_do_not_belong_together_are_refused(
        tmp_path: Path, parts: list[tuple[str, list[str], tuple[int, int] | None, str, str]],
        message: str) -> None:
    paths = [part(tmp_path / d, [case(n) for n in names], shard, partition, key)
             for d, names, shard, partition, key in parts]
    with pytest.raises(UsageError, match=message):
        merge_files(paths)


def test_runs_over_disjoint_cases_merge_without_shards(tmp_path: Path) -> None:
    a = part(tmp_path / "arm", [case("a")])
    b = part(tmp_path / "rv", [case("a", recipe="riscv64")], key="k9")
    merged = merge_files([a, b])
    assert merged.doc["images"] == {"aarch64": {"key": "k1"}, "riscv64": {"key": "k9"}}
    assert [c.case_id for c in merged.cases] == ["aarch64/a", "riscv64/a"]


def test_the_merge_command_writes_what_run_writes_and_exits_as_run_would(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = part(tmp_path / "s1", [case("a")], (1, 2))
    b = part(tmp_path / "s2", [case("b", Verdict.DIVERGENCE, diffs=(DIFF,))], (2, 2))
    assert main(["merge", str(tmp_path / "out"), str(a), str(b)]) == 2
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["junit.xml", "report.html", "report.md",
                                                     "results.json"]
    assert "aarch64/b** divergence" in (out / "report.md").read_text()
    assert main(["merge", str(out), str(a), str(b)]) == 1  # no --force: refused
    assert main(["merge", str(out), str(a), str(b), "--force"]) == 2
    assert main(["merge", str(tmp_path / "out2"), str(a)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "axharness: error: shard(s) 2/2 missing: 1 of 2 given"


@pytest.mark.parametrize(("known", "now"), [
    ((), "divergence"),  # the entry was removed since the part ran
    ((dataclasses.replace(KNOWN, expires=dt.date(2020, 1, 1)),), "error"),  # it expired
])
def test_a_parts_xfail_that_todays_entries_no_longer_explain_is_not_merged_green(
        tmp_path: Path, known: tuple[KnownDivergence, ...], now: str) -> None:
    path = part(tmp_path / "old", [case("a", Verdict.XFAIL, diffs=(DIFF,), known=("a64-data",))])
    merged = merge_files([path], known)
    (c,) = merged.cases
    assert c.verdict.value == now
    assert c.detail.startswith("re-judged by merge against today's known divergences (was "
                               "xfail): "), c.detail
    assert merged.doc["cases"][0]["verdict"] == now and merged.doc["summary"] == {now: 1}
    assert merged.doc["cases"][0]["diffs"]  # the rest of the case as its part recorded it


def test_a_pass_and_an_xfail_still_explained_are_merged_as_they_were(tmp_path: Path) -> None:
    xfail = case("a", Verdict.XFAIL, diffs=(DIFF,), known=("a64-data",))
    path = part(tmp_path / "p", [xfail, case("b")])
    merged = merge_files([path], (KNOWN,))
    assert [(c.verdict, c.detail) for c in merged.cases] == [
        (Verdict.XFAIL, "a detail"), (Verdict.PASS, "b detail")]


def test_parts_from_two_checkouts_are_refused(tmp_path: Path) -> None:
    a, b = part(tmp_path / "a", [case("a")]), part(tmp_path / "b", [case("b")])
    doc = json.loads(b.read_text())
    b.write_text(json.dumps({**doc, "commit": "0" * 40}))
    with pytest.raises(UsageError, match=f"{b}: commit 0{{40}}, but .* in {a}: parts of one run"):
        merge_files([a, b])
