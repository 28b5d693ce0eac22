"""SIGINT and SIGTERM on real QEMU and a real cargo: the first signal stops the run promptly,
the results of every finished case are still written (the others marked `interrupted`), no
temporary directory is left, the exit status is 128 + the signal, and no child (QEMU, an xdist
worker, cargo) outlives the process that was signalled."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.scenarios.registry import scenarios_for_recipe

pytestmark = [pytest.mark.integration, pytest.mark.aarch64]

ROOT = Path(__file__).resolve().parents[2]


def running(program: str, text: str) -> list[int]:
    """Live (non-zombie) processes of a program whose name starts with `program` and whose
    command line contains `text`."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if os.path.basename(argv[0]).startswith(program.encode()) and state != "Z" \
                and text.encode() in b" ".join(argv):
            out.append(int(pid))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(cond: Callable[[], object], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def spawn(args: list[str], tmp: Path, log: Path) -> subprocess.Popen[bytes]:
    """The command with TMPDIR in `tmp` (to find its leftovers) and its stderr in `log`."""
    env = dict(os.environ, TMPDIR=str(tmp))
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.with_suffix(".out").open("wb"),
                            stderr=log.open("wb"))


def stop(proc: subprocess.Popen[bytes], sigs: tuple[signal.Signals, ...]) -> float:
    """Send `sigs` (0.1 s apart); seconds from the first to the exit."""
    started = time.monotonic()
    for i, sig in enumerate(sigs):
        if i:
            time.sleep(0.1)
        proc.send_signal(sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("still running 60 s after the signal") from None
    return time.monotonic() - started


@pytest.mark.parametrize("sigs", [(signal.SIGINT,), (signal.SIGTERM,),
                                  (signal.SIGINT, signal.SIGINT)],
                         ids=["sigint", "sigterm", "double-sigint"])
def test_a_signalled_run_stops_its_cases_and_still_writes_every_result(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path,
        sigs: tuple[signal.Signals, ...]) -> None:
    recipe, _ = axh_image("aarch64")
    expected = {f"aarch64/{s.name}" for s in
                scenarios_for_recipe(recipe.name, recipe.arch, recipe.own_scenarios_only)}
    results, tmp, log = tmp_path / "r", tmp_path / "t", tmp_path / "stderr"
    tmp.mkdir()
    proc = spawn([sys.executable, "-m", "harness", "run", "--recipe", "aarch64", "-j", "2",
                  "--results", str(results)], tmp, log)
    # Two verdicts written and a case running: the signal lands in the middle of the suite.
    wait_for(lambda: log.read_text().count(" aarch64/") >= 2
             and running("qemu-system", str(results)),
             60, "two verdicts and a running QEMU")
    latency = stop(proc, sigs)
    print(f"{'+'.join(s.name for s in sigs)} → exit in {latency:.2f}s")

    assert proc.returncode == 128 + sigs[0], log.read_text()[-2000:]
    assert latency < 6.0  # QMP quit of the running cases; measured ≈ 0.3 s
    doc = json.loads((results / "results.json").read_text())
    verdicts = {c["case"]: c["verdict"] for c in doc["cases"]}
    assert set(verdicts) == expected  # every case listed once, run or not
    assert doc["interrupted_by"] == sigs[0].name
    judged = [c for c, v in verdicts.items() if v != "interrupted"]
    assert len(judged) >= 2 and "interrupted" in verdicts.values()
    junit = (results / "junit.xml").read_text()
    assert junit.count('type="interrupted"') == len(expected) - len(judged)
    assert (results / "report.md").is_file()
    for case in (results / "cases").iterdir():  # a case directory always has its manifest
        manifest = json.loads((case / "manifest.json").read_text())
        assert manifest["verdict"] == verdicts[manifest["case"]]
    assert not running("qemu-system", str(results)), "a QEMU outlived the harness"
    assert not list(tmp.iterdir()), "temporary directories left behind"


def test_sigterm_to_the_pytest_controller_takes_its_worker_and_qemu_down_first(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    axh_image("aarch64")
    out, log = tmp_path / "artifacts", tmp_path / "stderr"
    # A case that runs for seconds (a silent hang) in one xdist worker.
    proc = spawn([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "1",
                  "-p", "no:hypothesispytest",  # its summary imports hypothesis: seconds
                  "tests/integration/test_runner_failure_modes.py::"
                  "test_a_silent_hang_times_out_with_diagnostics", "--axh-results", str(out)],
                 tmp_path, log)
    wait_for(lambda: running("qemu-system", str(out)), 60, "the worker's QEMU")
    (qemu,) = running("qemu-system", str(out))
    worker = int(Path(f"/proc/{qemu}/stat").read_text().rsplit(")", 1)[1].split()[1])
    time.sleep(0.3)  # let the guest boot
    latency = stop(proc, (signal.SIGTERM,))
    print(f"SIGTERM → controller exit in {latency:.2f}s")
    orphans = [p for p in (worker, qemu) if alive(p)]
    assert not orphans, f"outlived the controller: {orphans}"
    assert proc.returncode == 143, log.read_text()[-2000:]
    assert latency < 30.0  # xdist gives a worker 10 s to come down, then kills it


@pytest.mark.parametrize("mode", [(), ("--boot-per-program",)], ids=["persistent", "per-program"])
def test_a_signalled_fuzz_run_stops_taking_programs_and_writes_what_finished(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path,
        mode: tuple[str, ...]) -> None:
    """SIGINT in the middle of a campaign: the workers take no further seed, fuzz.json lists
    every program that finished (and says interrupted), nothing is minimised, exit 130."""
    axh_image("aarch64")
    results, tmp, log = tmp_path / "r", tmp_path / "t", tmp_path / "stderr"
    tmp.mkdir()
    proc = spawn([sys.executable, "-m", "harness", "fuzz", "--arch", "aarch64", "--count",
                  "5000", "-j", "2", "--results", str(results), *mode], tmp, log)
    out = log.with_suffix(".out")
    wait_for(lambda: out.read_text().count("seed ") >= 3, 60, "three programs judged")
    latency = stop(proc, (signal.SIGINT,))
    print(f"SIGINT → fuzz exit in {latency:.2f}s")
    assert proc.returncode == 130, log.read_text()[-2000:]
    assert latency < 6.0
    doc = json.loads((results / "fuzz.json").read_text())
    assert doc["interrupted"] == "SIGINT" and doc["findings"] == []
    assert 3 <= len(doc["programs"]) < 5000
    assert len(doc["programs"]) >= out.read_text().count("seed ")  # each one printed is kept
    assert not running("qemu-system", str(results)), "a QEMU outlived the harness"


@pytest.mark.parametrize(("command", "sig"), [
    (("images", "build", "--recipe", "images/recipes/aarch64.toml"), signal.SIGTERM),
    (("run", "--recipe", "aarch64", "--scenario", "first-guest"), signal.SIGINT)],
    ids=["images-build-sigterm", "run-sigint"])
def test_a_signal_during_an_image_build_kills_cargo(
        tmp_path: Path, command: tuple[str, ...], sig: signal.Signals) -> None:
    cache, results, log = tmp_path / "cache", tmp_path / "r", tmp_path / "stderr"
    downloads = Path(os.environ.get("AXHARNESS_CACHE", Path.home() / ".cache/axharness")) \
        / "downloads"
    if downloads.is_dir():  # no network needed: the pinned crates are checked by sha256
        shutil.copytree(downloads, cache / "downloads")
    extra = ("--results", str(results)) if command[0] == "run" else ()
    proc = spawn([sys.executable, "-m", "harness", *command, "--cache-dir", str(cache), *extra],
                 tmp_path, log)
    wait_for(lambda: running("cargo", str(cache)) or proc.poll() is not None, 120, "cargo")
    assert proc.poll() is None, log.read_text()[-2000:]
    time.sleep(0.5)  # cargo is compiling
    latency = stop(proc, (sig,))
    print(f"{sig.name} → `{command[0]}` exit in {latency:.2f}s during the build")
    left = running("cargo", str(cache)) + running("rustc", str(cache))
    assert not left, f"outlived the harness: {left}"
    assert proc.returncode == 128 + sig, log.read_text()[-2000:]
    assert f"interrupted by {sig.name}" in log.read_text()
    if command[0] == "run":  # the case that never started is listed, as interrupted
        (case,) = json.loads((results / "results.json").read_text())["cases"]
        assert case["verdict"] == "interrupted"
        assert case["detail"] == f"interrupted by {sig.name} while preparing the images"
