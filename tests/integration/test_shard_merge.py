"""`axharness run --shard K/N` then `axharness merge` on real QEMU: two shards of a few
scenarios on two images, merged, give the unsharded run's verdicts, known divergences and
diffs; each shard ran (and built) only the images of its own cases."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.pytest_plugin import AxhOptions

pytestmark = [pytest.mark.integration, pytest.mark.aarch64, pytest.mark.riscv64]

ROOT = Path(__file__).resolve().parents[2]
# Eight cases, five of them known divergences with diffs: aarch64 strb/strh, riscv64 sb/sh/sw.
SELECT = ["--recipe", "aarch64", "--recipe", "riscv64", "--scenario", "mmio-store-[bhs]*"]
HEAVY = "riscv64/mmio-store-sd"


def axh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=600)


def run(out: Path, opts: AxhOptions, *extra: str) -> tuple[int, dict[str, Any]]:
    res = axh("run", *SELECT, "--results", str(out), "--cache-dir", str(opts.cache),
              "--timeout-scale", str(opts.timeout_scale), "-j", "2", *extra)
    assert res.returncode in (0, 2), res.stderr[-3000:]
    return res.returncode, json.loads((out / "results.json").read_text())


def outcome(case: dict[str, Any]) -> tuple[str, list[str], list[str]]:
    """What must not depend on sharding: the verdict, the known divergences, and each diff
    without its console line (the boot log's length varies by a few lines between runs)."""
    return (case["verdict"], case["known_divergences"],
            [re.sub(r" \(console line \d+\)", "", d["text"]) for d in case["diffs"]])


@pytest.fixture
def images(axh_image: Callable[[str], tuple[ImageRecipe, Image]]) -> None:
    axh_image("aarch64")
    axh_image("riscv64")


def test_two_shards_merged_equal_the_unsharded_run(images: None, axh_options: AxhOptions,
                                                   tmp_path: Path) -> None:
    whole_rc, whole = run(tmp_path / "whole", axh_options)
    # Weighed by the unsharded run's measured durations, one case made the longest by far: it
    # is a shard of its own, so that shard has one image to build, not two.
    durations = {c["case"]: c["duration_s"] for c in whole["cases"]} | {HEAVY: 1000.0}
    (tmp_path / "durations.json").write_text(json.dumps(
        {"schema": "axharness-durations/1", "cases": durations}))
    shards = [run(tmp_path / "runner" / f"shard{k}", axh_options, "--shard", f"{k}/2",
                  "--durations", str(tmp_path / "durations.json")) for k in (1, 2)]
    ids = [{c["case"] for c in doc["cases"]} for _, doc in shards]
    assert not ids[0] & ids[1] and ids[0] | ids[1] == {c["case"] for c in whole["cases"]}
    assert len(whole["cases"]) == 8 and ids[0] == {HEAVY}
    assert shards[0][1]["shard"]["partition"] == shards[1][1]["shard"]["partition"]
    for _, doc in shards:  # built and recorded: the images of its own cases, no other
        assert set(doc["images"]) == {c["case"].split("/")[0] for c in doc["cases"]}
    assert set(shards[0][1]["images"]) == {"riscv64"}

    # Downloaded elsewhere, as CI artifacts are: the merge finds each shard's cases/ beside it.
    (tmp_path / "runner").rename(tmp_path / "download")
    res = axh("merge", str(tmp_path / "merged"),
              *(str(tmp_path / "download" / f"shard{k}" / "results.json") for k in (1, 2)))
    assert res.returncode == whole_rc, res.stderr[-3000:]
    merged = json.loads((tmp_path / "merged" / "results.json").read_text())
    assert {c["case"]: outcome(c) for c in merged["cases"]} == \
        {c["case"]: outcome(c) for c in whole["cases"]}
    assert merged["summary"] == whole["summary"]
    assert sum(c["verdict"] == "xfail" and bool(c["diffs"]) for c in merged["cases"]) == 5

    # The merged report links each case's files where its shard left them.
    html = (tmp_path / "merged" / "report.html").read_text()
    links = re.findall(r'href="(\.\./download/shard[12]/cases/[^"#]+)"', html)
    assert links and all((tmp_path / "merged" / link).is_file() for link in links)
    junit = (tmp_path / "merged" / "junit.xml").read_text()
    assert junit.count("<testcase ") == 8

    # compare reads the merged results like any run's.
    res = axh("compare", str(tmp_path / "whole" / "results.json"),
              str(tmp_path / "merged" / "results.json"))
    assert res.returncode == 0, res.stdout[-3000:]
