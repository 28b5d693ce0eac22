"""My fix goes green, and nothing else does; A/B on real QEMU.

The stock aarch64 image and a variant with our own patch to arm_vcpu 0.2.2 (MmioWrite.data
truncated to the access width, tests/variants/) run mmio-store-b/h/w in one run: on the stock
image the known divergence that quotes arm_vcpu 0.2.2 makes them xfail; on the patched image
that entry does not apply (the report says so) and they pass; the run has no failure.
`axharness compare --image-a --image-b` on that run names what differs (the patched crate with
its patch's digest), shows the first differing exit field by field, counts 3 fixed in B and
exits 0; the other way round is 3 regressions and exit 2.

Builds the variant image on first use (≈ 1 min on 2 cores with the stock image's dependency
build in the cache; a cache hit afterwards)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from harness.check.verdict import Verdict
from harness.cli import main
from harness.images.recipe import load_recipe
from harness.paths import repo_root
from harness.pytest_plugin import AxhOptions
from harness.report.markdown import write_report
from harness.report.results import write_results
from harness.run.case import CaseResult
from harness.run.suite import SuiteOptions, run_suite
from harness.scenarios.registry import scenarios_for_recipe

pytestmark = [pytest.mark.integration, pytest.mark.aarch64]

VARIANT = "tests/variants/aarch64-mmio-write-fix.toml"
PATCH = "tests/variants/arm_vcpu-0.2.2-mmio-write-width.patch"
ENTRY = "a64-mmio-write-data-whole-register"
FIX = "aarch64-mmio-write-fix"
# mmio-store-b/h/w store x1 = 0x1122334455667788 with strb/strh/str w (scenarios/aarch64.toml)
STORED = {"mmio-store-b": 0x88, "mmio-store-h": 0x7788, "mmio-store-w": 0x5566_7788}
REGISTER = 0x1122_3344_5566_7788


@pytest.fixture(scope="module")
def ab_run(axh_options: AxhOptions, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, list[CaseResult]]:
    """One run of both images; its results.json and report.md."""
    root = repo_root()
    recipes = [load_recipe(root / "images" / "recipes" / "aarch64.toml", root),
               load_recipe(root / VARIANT, root)]
    plan = tuple((r, scenarios_for_recipe(r.name, r.arch, r.own_scenarios_only,
                                          "mmio-store-[bhw]")) for r in recipes)
    out = tmp_path_factory.mktemp("ab")
    opts = SuiteOptions(arches=("aarch64",), pattern="mmio-store-[bhw]", results_dir=out,
                        cache=axh_options.cache, jobs=2, timeout_scale=1.0,
                        keep_artifacts=False)
    cases, extra, known = run_suite(root, opts, plan, log=lambda m: None)
    write_results(cases, out / "results.json", extra)
    write_report(cases, {}, known, out / "report.md", "test_ab_known_scope")
    return out, cases


def test_the_stock_image_xfails_and_the_patched_image_passes_in_one_run(
        ab_run: tuple[Path, list[CaseResult]]) -> None:
    _, cases = ab_run
    by_id = {c.case_id: c for c in cases}
    assert len(cases) == 6
    for s in STORED:
        stock, fixed = by_id[f"aarch64/{s}"], by_id[f"{FIX}/{s}"]
        assert stock.verdict is Verdict.XFAIL and stock.known == (ENTRY,), stock.detail
        assert fixed.verdict is Verdict.PASS, fixed.detail
        assert [(n.entry, n.status) for n in fixed.known_notes] == [(ENTRY, "not-applicable")]
    assert not any(c.verdict.is_failure for c in cases)  # both images green


def test_the_report_says_the_entry_does_not_apply_to_the_patched_image(
        ab_run: tuple[Path, list[CaseResult]]) -> None:
    out, _ = ab_run
    report = (out / "report.md").read_text()
    assert f"entry {ENTRY} not applicable: arm_vcpu modified in image {FIX}" in report
    row = next(ln for ln in report.splitlines() if ln.startswith(f"| `{ENTRY}` | not appl"))
    assert all(f"{FIX}/{s}" in row for s in STORED)
    results = json.loads((out / "results.json").read_text())
    fixed = next(c for c in results["cases"] if c["case"] == f"{FIX}/mmio-store-b")
    assert [m["crate"] for m in fixed["image"]["modified_crates"]] == ["arm_vcpu"]


def test_compare_the_two_images_names_the_patch_and_counts_three_fixes(
        ab_run: tuple[Path, list[CaseResult]], capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = ab_run
    results = out / "results.json"
    assert main(["compare", str(results), "--image-a", "aarch64", "--image-b", FIX,
                 "--json", str(out / "ab.json")]) == 0
    text = capsys.readouterr().out
    print(text)
    digest = hashlib.sha256((repo_root() / PATCH).read_bytes()).hexdigest()
    assert (f"arm_vcpu 0.2.2: patched in B (arm_vcpu-0.2.2-mmio-write-width.patch, sha256 "
            f"{digest[:12]})") in text
    assert "summary: 3 fixed in B, 0 regressed in B, 0 other change(s), 0 unchanged" in text
    lines = text.splitlines()
    for s, value in STORED.items():
        at = next(i for i, ln in enumerate(lines) if ln.startswith("xfail → pass") and s in ln)
        assert lines[at + 1].strip() == f"A → B: exit #0 MmioWrite: data: {REGISTER:#x} → " \
                                        f"{value:#x}"
    data = json.loads((out / "ab.json").read_text())
    assert data["summary"]["fixed"] == 3 and data["regression"] is False
    assert main(["compare", str(results), "--image-a", FIX, "--image-b", "aarch64"]) == 2
    back = capsys.readouterr().out
    assert "0 fixed in B, 3 regressed in B" in back and "REGRESSION" in back
    assert "arm_vcpu 0.2.2: patched in A" in back
