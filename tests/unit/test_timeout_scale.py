"""--timeout-scale bounds every run: NaN or infinity would switch all timeouts off (a case could
run forever) and zero or less would end every run at once, so each is refused with one line,
by `axharness run`, by the pytest plugin and by the profile that scales the timeouts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.qemu.profiles import check_timeout_scale, get_profile

ROOT = Path(__file__).resolve().parents[2]
BAD = ["nan", "inf", "-inf", "1e400", "0", "-1", "1001"]


@pytest.mark.parametrize("text", BAD)
def test_an_unusable_scale_is_refused_by_the_profile(text: str) -> None:
    with pytest.raises(UsageError, match="--timeout-scale must be a number > 0"):
        get_profile("aarch64-virt-el2-tcg").scaled(float(text))


@pytest.mark.parametrize("scale", [0.01, 1.0, 1000.0])
def test_a_finite_positive_scale_scales_both_limits(scale: float) -> None:
    profile = get_profile("aarch64-virt-el2-tcg")
    assert check_timeout_scale(scale) == scale
    assert profile.scaled(scale) == (profile.timeout_s * scale, profile.watchdog_s * scale)


@pytest.mark.parametrize("text", ["nan", "inf", "-1"])
def test_axharness_run_refuses_it_before_anything_else(tmp_path: Path, text: str) -> None:
    # A scenario pattern that matches nothing: without the check the run stops there instead.
    res = subprocess.run([sys.executable, "-m", "harness", "run", f"--timeout-scale={text}",
                          "--scenario", "no-such-scenario", "--results", str(tmp_path / "r")],
                         cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        f"axharness: error: --timeout-scale must be a number > 0 and <= 1000, "
        f"not {float(text)!r}"]
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("text", ["nan", "inf", "0"])
def test_the_pytest_plugin_refuses_it_as_a_usage_error(text: str) -> None:
    res = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                          "--collect-only", "-q", f"--timeout-scale={text}",
                          "tests/unit/test_timeout_scale.py"],
                         cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == pytest.ExitCode.USAGE_ERROR, res.stdout[-2000:]
    assert "--timeout-scale must be a number > 0" in res.stderr


@pytest.mark.parametrize(("scale", "window"), [(0.01, 6.0), (1.0, 6.0), (3.0, 18.0)])
def test_a_smaller_scale_never_shortens_a_declared_hangs_quiet_window(
        scale: float, window: float) -> None:
    # The window is the evidence a hang passes on: at 0.01 a vCPU that woke after 0.3 s passed.
    from harness.run.kit import DeclaredEnd
    from harness.run.standalone import silence_scale_of, watcher
    from harness.run.watchers import ParkedWatch

    hang = DeclaredEnd(timeout_s=24.0, watchdog_s=6.0, expect_hang=True)
    watch = watcher(hang, schema="axvcpu-0.2", arch="aarch64", scale=scale)
    assert isinstance(watch, ParkedWatch) and watch.window_s == window
    assert 6.0 * silence_scale_of(hang, scale) == window  # the bundle's watchdog alike
    plain = DeclaredEnd(timeout_s=30.0, watchdog_s=30.0)
    assert silence_scale_of(plain, scale) == scale  # elsewhere a silence fails the case
