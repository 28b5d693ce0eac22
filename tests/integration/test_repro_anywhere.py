"""A reproducer runs anywhere, on real QEMU: a case directory moved away from its results and
from the image cache still re-runs; its cmdline.sh runs as written from the copy; a bundle
unpacked into an empty directory runs with a PATH holding only QEMU and python3 (Debian's,
which has neither the harness nor its dependencies) and exits with the suite's verdict, for
each kind of declared end: the shell after SystemDown (xfail), an expected panic, a declared
hang, and a divergence (exit 2)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from harness.check.verdict import Verdict
from harness.cli import main
from harness.pytest_plugin import AxhOptions
from harness.run.case import CaseResult, run_case
from harness.scenarios.catalogue import Scenario
from harness.scenarios.registry import scenarios_for

pytestmark = [pytest.mark.integration, pytest.mark.aarch64]

SYSTEM_PYTHON = Path("/usr/bin/python3")
QEMU = "qemu-system-aarch64"


def scenario(name: str) -> Scenario:
    (s,) = [s for s in scenarios_for("aarch64") if s.name == name]
    return s


def minimal_path(tmp_path: Path) -> str:
    """A PATH with QEMU and the system's python3 only."""
    if not SYSTEM_PYTHON.is_file():
        pytest.skip("no /usr/bin/python3 on this host")
    qemu = shutil.which(QEMU)
    assert qemu is not None, f"{QEMU} is needed (infrastructure)"
    bin_dir = tmp_path / "minbin"
    bin_dir.mkdir()
    (bin_dir / QEMU).symlink_to(qemu)
    (bin_dir / "python3").symlink_to(SYSTEM_PYTHON)
    return str(bin_dir)


def bundle_and_run(case: CaseResult, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                   signal_qemu: signal.Signals | None = None
                   ) -> subprocess.CompletedProcess[str]:
    """`repro --bundle` (with no image cache), unpacked in an empty directory, run there by
    `python3 run.py` with nothing but QEMU and python3 on PATH and an empty environment;
    `signal_qemu` is sent to its QEMU from outside once the guest has started."""
    out = tmp_path / "bundle.tar.gz"
    assert main(["repro", str(case.artifacts), "--bundle", str(out),
                 "--cache-dir", str(tmp_path / "no-cache")]) == 0
    said = capsys.readouterr().out
    assert "the case directory's own" in said
    empty = tmp_path / "empty"
    empty.mkdir()
    with tarfile.open(out) as tar:
        tar.extractall(empty, filter="data")
    (top,) = empty.iterdir()
    if signal_qemu is not None:
        threading.Thread(target=_signal_qemu_in, args=(top, signal_qemu), daemon=True).start()
    return subprocess.run(["python3", str(top / "run.py")], capture_output=True, text=True,
                          cwd=empty, timeout=300, check=False,
                          env={"PATH": minimal_path(tmp_path), "HOME": str(empty)})


def _signal_qemu_in(top: Path, sig: signal.Signals) -> None:
    """`sig` to the QEMU running a kernel under `top`, 1.5 s after it starts."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                argv = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"qemu-system" in argv and str(top).encode() in argv:
                time.sleep(1.5)
                os.kill(int(proc.name), sig)
                return
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGSTOP], ids=lambda s: s.name)
def test_a_bundle_whose_qemu_is_stopped_from_outside_says_infra_and_exits_3(
        sig: signal.Signals, axh_case: Callable[[Scenario], CaseResult], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # QEMU catches SIGTERM and exits 0 (the run read as "QEMU exited": a divergence from the
    # declared hang), and a stopped QEMU is as silent as a parked vCPU (it passed).
    case = axh_case(scenario("psci-cpu-off"))
    assert case.verdict is Verdict.PASS, case.detail
    res = bundle_and_run(case, tmp_path, capsys, signal_qemu=sig)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "verdict: infra" in res.stdout, res.stdout
    said = {signal.SIGTERM: "QEMU was stopped by SIGTERM",
            signal.SIGSTOP: "QEMU's process was stopped (T)"}[sig]
    assert said in res.stdout, res.stdout


def test_a_bundle_of_an_xfail_reproduces_it_with_qemu_and_python_alone(
        axh_case: Callable[[Scenario], CaseResult], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    case = axh_case(scenario("mmio-store-b"))
    assert case.verdict is Verdict.XFAIL, case.detail
    res = bundle_and_run(case, tmp_path, capsys)
    assert res.returncode == 0, res.stdout + res.stderr
    assert ("verdict: xfail (known divergence a64-mmio-write-data-whole-register): 1 exit(s) "
            "differ from the model; first: exit #0 MmioWrite") in res.stdout
    assert "data: expected 0x88, observed 0x1122334455667788" in res.stdout
    assert "recorded verdict: xfail (same)" in res.stdout and "reproduced" in res.stdout
    size = (tmp_path / "bundle.tar.gz").stat().st_size
    print(f"bundle of {case.case_id}: {size} bytes")
    assert 100_000 < size < 8_000_000  # kernel + ELF compressed, plus a few hundred KB


@pytest.mark.parametrize("name", ["psci-cpu-on-absent", "psci-cpu-off"])
def test_a_bundle_runs_to_the_declared_end_panic_or_hang(
        name: str, axh_case: Callable[[Scenario], CaseResult], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    case = axh_case(scenario(name))
    assert case.verdict is Verdict.PASS, case.detail
    res = bundle_and_run(case, tmp_path, capsys)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "verdict: pass" in res.stdout and "recorded verdict: pass (same)" in res.stdout
    # a declared hang ends as in the suite: once the vCPU has made no exit and printed
    # nothing for the hang's watchdog (0.2 × 30 s), however busy axvisor's idle log keeps
    # the console (harness.run.watchers.parked_watcher)
    ending = {"psci-cpu-on-absent": r"run ended: watcher \(panic: .*Physical CPU ID 1 not found",
              "psci-cpu-off": r"run ended: watcher \(parked: no exit and no guest output for "
                              r"6s\)"}[name]
    assert re.search(ending, res.stdout), res.stdout


def test_a_bundle_of_a_divergence_exits_2(axh_image: Callable[[str], tuple[object, object]],
                                          axh_options: AxhOptions, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The raw case (no known divergences applied) is a divergence; so is its bundle's run."""
    from harness.images.build import Image
    from harness.images.recipe import ImageRecipe
    from harness.qemu.profiles import get_profile

    recipe, image = axh_image("aarch64")
    assert isinstance(recipe, ImageRecipe) and isinstance(image, Image)
    case = run_case(image, recipe, scenario("mmio-store-h"),
                    get_profile(recipe.qemu_profile), tmp_path / "case")
    assert case.verdict is Verdict.DIVERGENCE, case.detail
    res = bundle_and_run(case, tmp_path, capsys)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "verdict: divergence: 1 exit(s) differ" in res.stdout
    assert "recorded verdict: divergence (same)" in res.stdout


def test_a_case_directory_moved_away_reruns_without_the_image_cache(
        axh_case: Callable[[Scenario], CaseResult], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    case = axh_case(scenario("mmio-store-w"))
    moved = shutil.copytree(case.artifacts, tmp_path / "elsewhere" / "case")
    assert main(["repro", str(moved), "--quiet", "--cache-dir", str(tmp_path / "none")]) == 0
    out = capsys.readouterr()
    assert "(the case directory's own)" in out.err and "identical to the recorded" in out.err
    assert "verdict: xfail" in out.out and "same 2 exit(s) — reproduced" in out.out


def test_cmdline_sh_runs_as_written_from_a_copy(
        axh_case: Callable[[Scenario], CaseResult], tmp_path: Path) -> None:
    case = axh_case(scenario("first-guest"))
    moved = shutil.copytree(case.artifacts, tmp_path / "copy")
    child = pexpect.spawn("sh", [str(moved / "cmdline.sh")], cwd="/", timeout=60,
                          env={**os.environ, "PATH": minimal_path(tmp_path) + ":/bin"})
    try:
        child.expect(rb"AXH:GUEST-START")
        child.expect(rb"axvisor:\$ ")  # the VM stopped; axvisor sits in its shell
    finally:
        child.close(force=True)
    text = (moved / "cmdline.sh").read_text()
    assert "-qmp" not in text and " -S" not in text and str(case.artifacts) not in text
