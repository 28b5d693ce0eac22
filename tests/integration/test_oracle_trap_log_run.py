"""`axharness run --trap-log` on real QEMU: the syndrome oracle's judgement of every exit lands in
the case's manifest as a second opinion, the verdict stays the model's, and a trap log that is
not there is the oracle's error, never a divergence."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.check.verdict import Verdict
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.oracle import capture
from harness.qemu.profiles import get_profile
from harness.run.case import run_case
from harness.scenarios.registry import scenarios_for

pytestmark = [pytest.mark.integration, pytest.mark.aarch64]
ROOT = Path(__file__).resolve().parents[2]


def test_run_trap_log_records_the_oracle_in_the_manifest_and_keeps_the_verdict(
        tmp_path: Path) -> None:
    out = tmp_path / "res"
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "--recipe", "aarch64",
                           "--scenario", "mmio-store-b", "--trap-log", "--results", str(out),
                           "-j", "1"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (case,) = json.loads((out / "results.json").read_text())["cases"]
    store = json.loads(Path(case["artifacts"], "manifest.json").read_text())
    assert store["verdict"] == "xfail"  # the known divergence, as without the trap log
    assert store["oracle"]["summary"]["differ"] == 1
    assert "data: expected 0x88, got 0x1122334455667788" in store["oracle"]["differences"][0]
    assert "; oracle: 1 of 2 exit(s) differ from their trap" in store["detail"]


def test_a_case_the_oracle_agrees_with_gets_its_counts_and_no_note(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    recipe, image = axh_image("aarch64")
    (scenario,) = scenarios_for("aarch64", "first-guest")
    res = run_case(image, recipe, scenario, get_profile(recipe.qemu_profile), tmp_path / "c",
                   trap_log=True)
    assert res.verdict is Verdict.PASS and res.detail.endswith("as predicted"), res.detail
    assert res.oracle["summary"]["paired"] == res.oracle["summary"]["full"] == 3
    assert res.oracle["summary"]["agree_full"] == 3 and res.oracle["note"] == ""
    assert list((tmp_path / "c" / capture.TRAP_LOG_DIR).glob("*.log"))


def test_without_the_option_no_trap_is_logged_and_no_oracle_is_recorded(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    recipe, image = axh_image("aarch64")
    (scenario,) = scenarios_for("aarch64", "first-guest")
    res = run_case(image, recipe, scenario, get_profile(recipe.qemu_profile), tmp_path / "c")
    assert res.verdict is Verdict.PASS and res.oracle == {}
    assert "oracle" not in json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert not (tmp_path / "c" / capture.TRAP_LOG_DIR).exists()


def test_a_missing_trap_log_is_the_oracle_s_error_and_never_a_divergence(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    recipe, image = axh_image("aarch64")
    (scenario,) = scenarios_for("aarch64", "first-guest")
    monkeypatch.setattr(capture, "trap_log_args", lambda directory, arch: ())  # QEMU logs none
    res = run_case(image, recipe, scenario, get_profile(recipe.qemu_profile), tmp_path / "c",
                   trap_log=True)
    assert res.verdict is Verdict.PASS, res.detail
    assert "no trap log (*.log) in the directory" in res.oracle["error"]
    assert res.detail.endswith("; oracle: could not judge (" + res.oracle["error"] + ")")
