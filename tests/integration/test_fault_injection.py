"""Fault injection: infrastructure trouble is reported as infrastructure (never a pass, a skip
or a conformance failure), broken caches are rebuilt, a vanished QMP connection or a missing
artifacts directory do not hang or leak, and a QEMU left behind by a test is caught."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.check.verdict import Verdict
from harness.errors import InfraError
from harness.images.build import Image, _load_cached
from harness.images.recipe import ImageRecipe
from harness.qemu.host import HostCaps
from harness.qemu.machine import Ending, MachineError, QemuMachine
from harness.qemu.profiles import get_profile
from harness.qemu.qmp_session import QmpSession
from harness.run import axvisor_console
from harness.run.case import CaseResult, run_case
from harness.scenarios.registry import scenarios_for

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]


def path_without_qemu(farm: Path) -> str:
    """$PATH with every directory that holds a qemu-system-* replaced by `farm`: links to
    all its other programs."""
    farm.mkdir()
    out: list[str] = []
    for d in os.environ["PATH"].split(os.pathsep):
        if not Path(d).is_dir() or not any(Path(d).glob("qemu-system-*")):
            out.append(d)
            continue
        for exe in Path(d).iterdir():
            if not exe.name.startswith("qemu-system-") and not os.path.lexists(farm / exe.name):
                (farm / exe.name).symlink_to(exe)
        if str(farm) not in out:
            out.append(str(farm))
    return os.pathsep.join(out)


def test_run_without_qemu_is_one_infrastructure_line_and_exit_3(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    axh_image("aarch64")  # cached: only QEMU is missing
    env = dict(os.environ, PATH=path_without_qemu(tmp_path / "bin"))
    res = subprocess.run([sys.executable, "-m", "harness", "run", "--scenario", "first-guest",
                          "--results", str(tmp_path / "r")], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 3, res.stdout + res.stderr
    (line,) = res.stderr.splitlines()
    assert line.startswith("axharness: infrastructure error: qemu-system-aarch64, "
                           "qemu-system-riscv64, qemu-system-x86_64 not found on PATH"), line
    assert "apt-get install -t bookworm-backports qemu-system-arm qemu-system-riscv " \
        "qemu-system-x86" in line
    assert not (tmp_path / "r" / "cases").exists()  # nothing ran


def test_pytest_without_qemu_fails_as_infrastructure_never_skips(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    axh_image("aarch64")
    env = dict(os.environ, PATH=path_without_qemu(tmp_path / "bin"))
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
         "-q", "-rfE", "-m", "conformance", "--axh-results", str(tmp_path / "r"),
         "tests/conformance/test_conformance.py::test_scenario_conforms[aarch64/first-guest]"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert res.returncode == 3, res.stdout[-3000:]
    assert "infrastructure: qemu-system-aarch64 not found on PATH" in res.stdout
    last = res.stdout.splitlines()[-1]
    assert "1 failed" in last and "passed" not in last and "skipped" not in last, last


def _kill_qemu_of(case: str, sig: signal.Signals) -> threading.Thread:
    """Sends `sig` to the QEMU whose command line names `case` once axvisor has started
    printing (the harness does not know: someone else killed it)."""
    def kill() -> None:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"qemu-system" in argv[0] and case.encode() in b" ".join(argv):
                    console = Path(argv[argv.index(b"-kernel") + 1].decode()).parent \
                        / "console.log"
                    while console.stat().st_size < 200 and time.monotonic() < end:
                        time.sleep(0.01)
                    os.kill(int(pid), sig)
                    return
            time.sleep(0.01)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@pytest.mark.aarch64
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name)
def test_a_qemu_killed_from_outside_is_infrastructure_naming_the_signal(
        axh_case: Callable[..., CaseResult], sig: signal.Signals) -> None:
    # The scenario declares a hypervisor panic as its end: judged first, a QEMU that died
    # before the panic was reported as axvisor not panicking (a divergence).
    (declared,) = scenarios_for("aarch64", "psci-cpu-on-absent")
    scenario = dataclasses.replace(declared, name=f"psci-cpu-on-absent-{sig.name}")
    killer = _kill_qemu_of(scenario.name, sig)
    res = axh_case(scenario)
    killer.join()
    assert res.verdict is Verdict.INFRA, res.detail
    assert f"QEMU was {'killed' if sig is signal.SIGKILL else 'stopped'} by {sig.name}" \
        in res.detail
    assert "not a verdict about axvisor" in res.detail
    assert json.loads((res.artifacts / "manifest.json").read_text())["verdict"] == "infra"


@pytest.mark.aarch64
def test_the_leak_check_reports_and_kills_a_qemu_a_test_leaves_behind(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    axh_image("aarch64")
    pidfile = tmp_path / "qemu.pid"
    (tmp_path / "test_leaky.py").write_text(f"""
from pathlib import Path
from harness.qemu.machine import QemuMachine
from harness.qemu.profiles import get_profile
from harness.qemu.qmp_session import QmpSession

LEFT = []  # keeps pexpect from closing the console (which would end QEMU by SIGHUP)

def test_leaves_its_qemu_running(axh_image, tmp_path):
    recipe, image = axh_image("aarch64")
    machine = QemuMachine(get_profile(recipe.qemu_profile), image.kernel, tmp_path)
    machine.launch()  # never stopped
    LEFT.append(machine)
    Path({str(pidfile)!r}).write_text(str(machine.pid))
""")
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
         "-q", "test_leaky.py", "--axh-results", str(tmp_path / "r")],
        cwd=tmp_path, env=dict(os.environ, TMPDIR=str(tmp_path), PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True, check=False, timeout=120)
    pid = int(pidfile.read_text())
    assert f"QEMU process(es) leaked by this test (killed): [{pid}]" in res.stdout, \
        res.stdout[-3000:]
    assert res.returncode == 1
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped by the check


def test_a_missing_qemu_binary_is_a_machine_error_naming_it_and_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where the QMP socket dir goes
    profile = dataclasses.replace(get_profile("aarch64-virt-el2-tcg"),
                                  binary="qemu-system-nonexistent")
    with pytest.raises(MachineError, match="qemu-system-nonexistent not found"):
        QemuMachine(profile, tmp_path / "k", tmp_path).launch()
    assert not list(temp.iterdir())


def test_the_host_probe_refuses_kvm_profiles_without_kvm_with_the_reason() -> None:
    caps = HostCaps(kvm="no /dev/kvm on this host", vmx="no /dev/kvm on this host", svm="x")
    why = caps.why_not(get_profile("x86_64-q35-vmx-kvm"))
    assert why == "no /dev/kvm on this host"
    assert caps.why_not(get_profile("aarch64-virt-el2-tcg")) == ""


@pytest.mark.aarch64
def test_a_corrupted_cached_image_is_not_trusted(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    recipe, image = axh_image("aarch64")
    fake_cache = tmp_path / "cache"
    (fake_cache / "images").mkdir(parents=True)
    copy = fake_cache / "images" / image.key
    import shutil

    shutil.copytree(image.dir, copy)
    said: list[str] = []
    assert _load_cached(recipe, image.key, fake_cache, said.append) is not None
    data = bytearray((copy / image.kernel.name).read_bytes())
    data[100] ^= 0xFF
    (copy / image.kernel.name).write_bytes(bytes(data))
    assert _load_cached(recipe, image.key, fake_cache, said.append) is None  # → rebuilt
    assert len(said) == 1 and "unusable, rebuilding" in said[0]


@pytest.mark.aarch64
def test_an_unwritable_artifacts_directory_is_an_infra_error(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    recipe, image = axh_image("aarch64")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    (scenario,) = scenarios_for("aarch64", "first-guest")
    with pytest.raises(InfraError, match="cannot write the case artifacts directory"):
        run_case(image, recipe, scenario, get_profile(recipe.qemu_profile), blocker / "case")


@pytest.mark.aarch64
def test_a_vanished_qmp_connection_still_ends_the_run_without_a_leak(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    recipe, image = axh_image("aarch64")
    machine = QemuMachine(get_profile(recipe.qemu_profile), image.kernel, tmp_path)
    with machine:
        assert machine.qmp is not None
        qmp = machine.qmp
        threading.Timer(0.1, qmp._drop).start()  # the socket goes away under the runner
        run = machine.run_until(axvisor_console.watch)
    assert run.ending is Ending.WATCHER
    assert not machine.leaked()
    journal = (tmp_path / "qmp.jsonl").read_text().splitlines()
    assert json.loads(journal[0])["dir"] == "greeting"


def test_requesting_kvm_for_a_tcg_image_skips_with_the_reason_never_passes() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "--accel", "kvm",
         "tests/integration/test_aarch64_first_guest.py", "--axh-results", "/tmp/axh-kvm-req"],
        cwd=root, capture_output=True, text=True, check=False, timeout=300)
    assert "aarch64 image needs tcg, --accel kvm" in res.stdout, res.stdout[-2000:]
    assert " passed" not in res.stdout.splitlines()[-1]


@pytest.mark.aarch64
@pytest.mark.timeout(150)
def test_a_qemu_that_stops_answering_during_a_declared_hang_is_infrastructure(
        axh_case: Callable[..., CaseResult]) -> None:
    # psci-cpu-off declares "the vCPU stays parked, the console falls silent" as its end. A
    # QEMU whose main loop is stuck (here: stopped from outside) is silent too, but its monitor
    # no longer answers: that must not pass as the parked vCPU, nor hang the harness on QMP.
    (declared,) = scenarios_for("aarch64", "psci-cpu-off")
    scenario = dataclasses.replace(declared, name="psci-cpu-off-sigstop")
    stopper = _kill_qemu_of(scenario.name, signal.SIGSTOP)
    started = time.monotonic()
    res = axh_case(scenario)
    stopper.join()
    assert res.verdict is Verdict.INFRA, res.detail
    assert "did not answer QMP" in res.detail and "not a verdict about axvisor" in res.detail
    assert time.monotonic() - started < 90  # watchdog + one QMP timeout + teardown


@pytest.mark.aarch64
@pytest.mark.timeout(120)
def test_diagnostics_of_a_machine_that_floods_its_console_get_answers_from_qmp(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    # After psci-cpu-off, axvisor 0.3's idle task logs ≈ 300 KB/s. When nobody reads the pty,
    # QEMU retries the serial write holding its big lock and cannot answer the monitor: a
    # diagnostics() that only waits for QMP took that for "QEMU itself is stuck" (CI, stop 20).
    from harness.guests.payload import build_payload, patch_image

    recipe, image = axh_image("aarch64")
    (scenario,) = scenarios_for("aarch64", "psci-cpu-off")
    payload = build_payload(image, scenario.actions, recipe.guest.source, recipe.guest.entry,
                            recipe.backend)
    kernel = tmp_path / image.kernel.name
    patch_image(image, payload, kernel)
    machine = QemuMachine(get_profile(recipe.qemu_profile), kernel, tmp_path)
    with machine:
        run = machine.run_until(
            lambda console, _new: "flooding" if console.count(b"idle task") > 50 else None)
        assert run.ending is Ending.WATCHER, run.detail
        time.sleep(3)  # nobody reads: the pty fills and QEMU blocks in its serial write
        diagnostics = machine.diagnostics()
    assert "qmp_error" not in diagnostics, diagnostics.get("qmp_error")
    assert diagnostics["status"]["status"] == "running"
    assert "PC=" in diagnostics["registers"]


def _on_poll(monkeypatch: pytest.MonkeyPatch, nth: int,
             fault: Callable[[QmpSession], None]) -> None:
    """Inject `fault` into the harness's own QMP session at its `nth` event poll (in the
    runner's thread, as a real fault would strike)."""
    real = QmpSession.poll_events
    polls = 0

    def poll(self: QmpSession) -> list[dict[str, object]]:
        nonlocal polls
        polls += 1
        if polls == nth:
            fault(self)
        return real(self)

    monkeypatch.setattr(QmpSession, "poll_events", poll)


# Without its monitor nothing shows QEMU was alive through the silence, and a VM QEMU stops by
# itself (an emulation error, a full disk behind a drive) is silent with its monitor answering:
# the parked window alone passed both (audit, session 7).
SILENT_QEMU = {
    "qmp-lost": (lambda qmp: qmp._drop("injected: connection reset"),
                 "QMP was lost during the run (injected: connection reset)"),
    "paused": (lambda qmp: qmp.command("stop"), "QEMU's VM is 'paused', not running"),
}


@pytest.mark.aarch64
@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", sorted(SILENT_QEMU))
def test_a_declared_hang_in_a_qemu_not_shown_alive_is_infrastructure(
        fault: str, axh_case: Callable[..., CaseResult], monkeypatch: pytest.MonkeyPatch) -> None:
    (declared,) = scenarios_for("aarch64", "psci-cpu-off")
    scenario = dataclasses.replace(declared, name=f"psci-cpu-off-{fault}")
    inject, said = SILENT_QEMU[fault]
    _on_poll(monkeypatch, 5, inject)
    res = axh_case(scenario)
    assert res.verdict is Verdict.INFRA, res.detail
    assert said in res.detail and "not a verdict about axvisor" in res.detail, res.detail
