"""The suite's bookkeeping around run_case (harness.run.suite), with run_case and the image build
as fakes: only a real boot may fail a case (a restored run that did not pass is run again on a
boot, and when a stop is asked for meanwhile the case is interrupted, never the restored
verdict); the host's trouble (an OSError) is infra, not an internal error."""

from __future__ import annotations

import errno
import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness import signals
from harness.check.verdict import Verdict
from harness.images.select import select_recipes
from harness.paths import repo_root
from harness.qemu.host import HostCaps
from harness.run import suite
from harness.run.case import CaseResult
from harness.scenarios.registry import scenarios_for_recipe


def _run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stop_during_restore: bool,
         disk_full: bool = False) -> tuple[list[CaseResult], list[bool]]:
    root = repo_root()
    recipe = next(iter(select_recipes(root, ("aarch64",), ("aarch64",), ())))
    scenario = scenarios_for_recipe(recipe.name, recipe.arch, False, "system-off-hvc")[0]
    fake_image = SimpleNamespace(key="k", kernel=tmp_path / "k", manifest=lambda: {},
                                 manifest_path=tmp_path / "m", axvcpu_version="",
                                 arch="aarch64", exit_log="trace", recipe=recipe.name,
                                 axvisor_version=recipe.axvisor_version)
    calls: list[bool] = []

    def fake_run_case(image: Any, recipe: Any, scenario: Any, profile: Any, casedir: Path,
                      *, timeout_scale: float, trap_log: bool, snapshots: Any) -> CaseResult:
        restored = snapshots is not None
        calls.append(restored)
        if disk_full:
            raise OSError(errno.ENOSPC, "No space left on device")
        if restored and stop_during_restore:
            signals.current().request(signal.SIGINT)
        verdict = Verdict.DIVERGENCE if restored else \
            Verdict.INTERRUPTED if signals.current().requested else Verdict.PASS
        return CaseResult(case_id=f"{recipe.name}/{scenario.name}", scenario=scenario.name,
                          arch="aarch64", verdict=verdict, detail="fake", expected=(),
                          observed=(), diffs=(), duration_s=0.1, artifacts=casedir,
                          image={"recipe": recipe.name}, qemu={},
                          restored={"snapshot_s": 0.1} if restored else {})

    monkeypatch.setattr(suite, "build_image", lambda *a, **k: fake_image)
    monkeypatch.setattr(suite, "run_case", fake_run_case)
    monkeypatch.setattr(suite, "_shared", lambda item: False)
    monkeypatch.setattr(suite, "probe", lambda: HostCaps("", "", ""))
    opts = suite.SuiteOptions(arches=("aarch64",), pattern="system-off-hvc",
                              results_dir=tmp_path / "r", cache=tmp_path / "c", jobs=1,
                              timeout_scale=1.0, keep_artifacts=False)
    with signals.handled():
        results, _, _ = suite.run_suite(root, opts, ((recipe, (scenario,)),), log=lambda m: None)
    return results, calls


def test_a_restored_failure_is_replaced_by_the_boots_verdict(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    results, calls = _run(monkeypatch, tmp_path, stop_during_restore=False)
    assert calls == [True, False]
    assert results[0].verdict is Verdict.PASS
    assert results[0].restored["restored_verdict"] == "divergence"


def test_a_restored_failure_under_a_stop_is_interrupted_not_kept(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    results, _ = _run(monkeypatch, tmp_path, stop_during_restore=True)
    assert results[0].verdict is Verdict.INTERRUPTED, results[0]
    assert results[0].restored["restored_verdict"] == "divergence"  # kept as a note only


def test_a_host_error_in_a_case_is_infra_not_an_internal_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    results, _ = _run(monkeypatch, tmp_path, stop_during_restore=False, disk_full=True)
    assert results[0].verdict is Verdict.INFRA, results[0]
    assert results[0].detail == "host error: [Errno 28] No space left on device"


NO_ACCESS = "/dev/kvm is not readable and writable by this user"


@pytest.mark.parametrize(("caps", "verdict"), [
    (HostCaps("no /dev/kvm on this host", "no /dev/kvm on this host", "x"), Verdict.SKIP),
    (HostCaps(NO_ACCESS, NO_ACCESS, NO_ACCESS, setup_fault=NO_ACCESS), Verdict.INFRA),
])
def test_a_kvm_image_skips_only_where_the_host_lacks_kvm_not_where_its_set_up_is_at_fault(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caps: HostCaps, verdict: Verdict
        ) -> None:
    # A self-hosted VMX runner whose user lost /dev/kvm went green: every case a skip.
    root = repo_root()
    recipe = next(iter(select_recipes(root, ("x86_64",), ("x86_64-vmx",), ())))
    (scenario, *_) = scenarios_for_recipe(recipe.name, recipe.arch, False, "hlt")
    monkeypatch.setattr(suite, "probe", lambda: caps)
    monkeypatch.setattr(suite, "build_image", lambda *a, **k: pytest.fail("built"))
    opts = suite.SuiteOptions(arches=("x86_64",), pattern="hlt", results_dir=tmp_path / "r",
                              cache=tmp_path / "c", jobs=1, timeout_scale=1.0,
                              keep_artifacts=False)
    results, _, _ = suite.run_suite(root, opts, ((recipe, (scenario,)),), log=lambda m: None)
    assert [r.verdict for r in results] == [verdict]
    assert results[0].detail == (caps.setup_fault or caps.kvm)
