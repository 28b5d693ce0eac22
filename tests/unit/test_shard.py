"""`axharness run --shard K/N`: a partition of the plan's cases, the same in every process,
balanced by measured durations (ci/case-durations.json: seconds per case of a real 99-case run
on this host)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.paths import repo_root
from harness.run import shard
from harness.run.case import case_id
from harness.run.shard import Durations, Shard, assign, load_durations, parse_shard, select
from harness.run.suite import SuiteOptions, plan_suite

MEASURED = load_durations(repo_root() / shard.ESTIMATES)


def catalogue_plan() -> shard.Plan:
    return plan_suite(repo_root(), SuiteOptions((), "*", Path("/nonexistent"),
                                                Path("/nonexistent"), 1, 1.0, False))


def test_the_shipped_estimate_is_a_real_run_of_every_image() -> None:
    plan = catalogue_plan()
    assert {case_id(r, s) for r, ss in plan for s in ss} <= set(MEASURED.seconds)  # every case
    assert max(MEASURED.seconds.values()) > 5  # the 5-6 s windows of declared waits
    assert {c.split("/")[0] for c in MEASURED.seconds} >= {"aarch64", "riscv64", "x86_64-svm"}


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 150])
def test_every_case_of_the_catalogue_is_in_exactly_one_shard(count: int) -> None:
    plan = catalogue_plan()
    every = sorted(case_id(r, s) for r, ss in plan for s in ss)
    parts = [select(plan, Shard(k, count), MEASURED) for k in range(1, count + 1)]
    got = sorted(case_id(r, s) for p, _ in parts for r, ss in p for s in ss)
    assert got == every  # each once: no case lost, none twice
    assert sum(info.cases for _, info in parts) == len(every)
    assert len({info.partition for _, info in parts}) == 1


def test_a_shard_plans_only_the_images_of_its_own_cases() -> None:
    plan = catalogue_plan()
    for k in (1, 2, 3, 4, 5, 6):
        mine, _ = select(plan, Shard(k, 6), MEASURED)
        assert all(scenarios for _, scenarios in mine)
        images = {r.name for r, _ in mine}
        owners = {r.name for r, ss in plan for s in ss
                  if assign([case_id(p, t) for p, ts in plan for t in ts], MEASURED, 6)
                  [case_id(r, s)] == k}
        assert images == owners


def test_the_partition_is_the_same_in_processes_with_different_hash_seeds() -> None:
    code = ("import json; from harness.run import shard; from harness.paths import repo_root; "
            "from tests.unit.test_shard import catalogue_plan; "
            "d = shard.durations_for(repo_root(), None); "
            "print(json.dumps([[r.name + '/' + s.name for r, ss in "
            "shard.select(catalogue_plan(), shard.Shard(k, 4), d)[0] for s in ss] "
            "for k in (1, 2, 3, 4)]))")
    outs = [subprocess.run([sys.executable, "-c", code], cwd=repo_root(), check=True,
                           capture_output=True, text=True,
                           env=dict(os.environ, PYTHONHASHSEED=seed)).stdout
            for seed in ("1", "2", "3")]
    assert outs[0] == outs[1] == outs[2]
    assert len(json.loads(outs[0])) == 4


@pytest.mark.parametrize("count", [2, 3, 4, 5, 6, 8])
def test_shards_of_measured_durations_are_balanced(count: int) -> None:
    # The bound LPT guarantees: no shard above the mean plus the longest case. On the measured
    # run the longest shard is also within 5 % of the mean (dealing the cases round-robin by
    # name gives 20-45 % over).
    cases = sorted(MEASURED.seconds)
    where = assign(cases, MEASURED, count)
    load = [sum(MEASURED.seconds[c] for c in cases if where[c] == k)
            for k in range(1, count + 1)]
    mean = sum(load) / count
    print(f"{count} shards: " + ", ".join(f"{x:.1f}" for x in load) + f" s; mean {mean:.1f}")
    assert max(load) <= mean + max(MEASURED.seconds.values())
    assert max(load) <= 1.05 * mean


def test_a_case_without_a_measurement_weighs_its_images_median_else_the_overall() -> None:
    d = Durations("x", {"a/one": 1.0, "a/two": 3.0, "a/three": 8.0, "b/one": 100.0})
    assert d.estimate("a/new") == 3.0
    assert d.estimate("c/new") == 5.5
    assert Durations("", {}).estimate("a/new") == 1.0


def test_without_durations_every_case_weighs_the_same() -> None:
    where = assign([f"i/c{n}" for n in range(10)], Durations("", {}), 3)
    assert sorted(list(where.values()).count(k) for k in (1, 2, 3)) == [3, 3, 4]


def test_durations_of_a_results_file_leave_out_cases_that_did_not_run_to_their_end(
        tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"schema": "axharness-results/1", "cases": [
        {"case": "a/pass", "verdict": "pass", "duration_s": 2.5},
        {"case": "a/infra", "verdict": "infra", "duration_s": 0.1},
        {"case": "a/stopped", "verdict": "interrupted", "duration_s": 0.3}]}))
    assert dict(load_durations(path).seconds) == {"a/pass": 2.5}


@pytest.mark.parametrize("spec", ["0/2", "3/2", "1/0", "a/b", "2", "1/2/3", ""])
def test_a_malformed_shard_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError, match=r"--shard .*expected K/N with 1 <= K <= N"):
        parse_shard(spec)


def test_a_shard_spec_reads_back() -> None:
    assert parse_shard(" 2/7 ") == Shard(2, 7) and str(Shard(2, 7)) == "2/7"


@pytest.mark.parametrize(("text", "message"), [
    ('{"schema": "axharness-durations/1",\n "cases": {"a/b": 1,}}', r"d\.json:2:21: not valid"),
    ('{"cases": {}}', r"d\.json: neither a results\.json"),
    ('{"schema": "axharness-durations/1", "cases": {"a/b": -1}}', r"case 'a/b': duration -1"),
    ('{"schema": "axharness-durations/1", "cases": {"a/b": true}}', r"duration True is not"),
])
def test_a_bad_durations_file_is_one_line_naming_it(tmp_path: Path, text: str,
                                                    message: str) -> None:
    (tmp_path / "d.json").write_text(text)
    with pytest.raises(UsageError, match=message):
        load_durations(tmp_path / "d.json")


def test_durations_without_shard_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--durations is only read with --shard"):
        shard.from_options(repo_root(), None, Path("x.json"), catalogue_plan())


def test_more_parts_than_cases_is_a_usage_error() -> None:
    plan = catalogue_plan()
    n = sum(len(ss) for _, ss in plan)
    with pytest.raises(UsageError, match=f"{n + 1} parts of {n} case"):
        select(plan, Shard(1, n + 1), MEASURED)
    with pytest.raises(UsageError, match="N <= 1000"):
        parse_shard("1/1001")
