"""`axharness repro` on real QEMU: a case whose patched kernel the suite deleted comes back from
its artifacts directory with the same exits; its gdb mode really waits at the first
instruction; its script is valid bash, rebuilds the very kernel the case ran on and runs it to
a verdict. Anywhere (tests/integration/test_repro_anywhere.py): a case directory without the
image cache, cmdline.sh as written, bundles in an empty directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pytest

from harness.check.verdict import Verdict
from harness.cli import main
from harness.pytest_plugin import AxhOptions
from harness.run import repro
from harness.run.artifacts import load_case
from harness.run.case import CaseResult
from harness.scenarios.catalogue import Scenario
from harness.scenarios.registry import scenarios_for

pytestmark = [pytest.mark.integration, pytest.mark.aarch64]


def exits(observed: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(o["variant"], o["fields"]) for o in observed]


@pytest.fixture
def first_guest(axh_case: Callable[[Scenario], CaseResult]) -> CaseResult:
    """The first-guest case, run, with its patched kernel deleted as the suite does."""
    (scenario,) = scenarios_for("aarch64", "first-guest")
    res = axh_case(scenario)
    assert res.verdict is Verdict.PASS, res.detail
    kernels = list(res.artifacts.glob("axvisor.*"))
    assert kernels, "the case should have left its patched kernel"
    for k in kernels:
        k.unlink()
    return res


def test_repro_without_the_patched_kernel_gives_the_same_exits(
        first_guest: CaseResult, axh_options: AxhOptions,
        capsys: pytest.CaptureFixture[str]) -> None:
    art = load_case(first_guest.artifacts)
    image = repro.find_image(art, axh_options.cache)
    rundir = repro.prepare_rundir(art)
    kernel = repro.patch_kernel(art, image, rundir)
    assert kernel.identical is True  # the same bytes the case booted
    ending, detail, console = repro.boot(art, kernel.path, rundir, elf=image.elf, tty=False)
    res = repro.judge(art, ending, detail, console)
    assert exits(res.observed) == exits(first_guest.observed)
    assert res.reproduced is True and res.diffs == () and res.verdict == "pass"

    assert main(["repro", str(first_guest.artifacts), "--quiet",
                 "--cache-dir", str(axh_options.cache)]) == 0
    out = capsys.readouterr().out
    assert "same 3 exit(s) — reproduced" in out
    assert "Hypercall { nr: 0x4ab1" in out
    assert not list(first_guest.artifacts.glob("axvisor.*")), "repro writes under repro/ only"


def test_interactive_mode_hands_the_console_over_until_ctrl_bracket(
        first_guest: CaseResult, axh_options: AxhOptions) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "harness", "repro", str(first_guest.artifacts),
                                           "--interactive", "--cache-dir",
                                           str(axh_options.cache)], timeout=60)
    try:
        child.expect(rb"axvisor:\$ ")  # axvisor's shell, reached after the guest powered off
        child.send(repro.ESCAPE.encode())
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    out = child.before.decode(errors="replace")
    assert "run ended: user" in out and "reproduced" in out, out[-2000:]
    assert child.exitstatus == 0


def _rsp(sock: socket.socket, packet: str) -> None:
    sock.sendall(f"${packet}#{sum(packet.encode()) % 256:02x}".encode())


def test_gdb_mode_waits_at_the_first_instruction_until_continued(
        first_guest: CaseResult, axh_options: AxhOptions) -> None:
    art = load_case(first_guest.artifacts)
    image = repro.find_image(art, axh_options.cache)
    rundir = repro.prepare_rundir(art)
    kernel = repro.patch_kernel(art, image, rundir)
    said: list[str] = []
    got: dict[str, tuple[str, str, bytes]] = {}

    def run() -> None:
        got["run"] = repro.boot(art, kernel.path, rundir, elf=image.elf, mode="gdb",
                                tty=False, say=said.append)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not said and time.monotonic() < deadline:
        time.sleep(0.05)
    assert said, "no gdb instructions printed"
    path = next(w for w in said[0].split() if w.endswith("gdb.sock."))[:-1]
    assert f"target remote {path}" in said[0] and str(image.elf) in said[0]
    time.sleep(1.0)
    assert (rundir / "console.log").read_bytes() == b"", "the guest ran before gdb said so"
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.settimeout(5)
        _rsp(s, "?")
        reply = b""
        while b"#" not in reply.split(b"$", 1)[-1]:
            reply += s.recv(4096)
        assert b"$T05" in reply or b"$S05" in reply  # stopped by SIGTRAP: paused
        _rsp(s, "c")
        t.join(timeout=60)
    assert not t.is_alive(), "the run did not end after `continue`"
    res = repro.judge(art, *got["run"])
    assert res.reproduced is True, res.detail


def test_the_script_is_valid_bash_rebuilds_the_recorded_kernel_and_ends_with_a_verdict(
        first_guest: CaseResult, axh_options: AxhOptions, tmp_path: Path) -> None:
    script = tmp_path / "repro.sh"
    assert main(["repro", str(first_guest.artifacts), "--script", str(script),
                 "--cache-dir", str(axh_options.cache)]) == 0
    check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stderr
    res = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False,
                         env={**os.environ, "AXH_PATCH_ONLY": "1",
                              "AXH_WORK": str(tmp_path / "w")})
    assert res.returncode == 0, res.stderr
    assert f"sha256 {first_guest.image['patched_sha256']}" in res.stdout
    assert "warning" not in res.stderr
    ran = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False,
                         env={**os.environ, "AXH_WORK": str(tmp_path / "w2")}, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "verdict: pass: 3 exit(s) as predicted" in ran.stdout
    assert "recorded verdict: pass (same)" in ran.stdout
