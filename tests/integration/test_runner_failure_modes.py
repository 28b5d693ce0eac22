"""The runner on real QEMU when things go wrong: a guest that hangs, a hypervisor panic, QEMU
killed mid-run. Each must give the right verdict, keep its artifacts and leave no process."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.check.verdict import Verdict
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.qemu.machine import Ending, QemuMachine
from harness.qemu.profiles import get_profile
from harness.run import axvisor_console
from harness.run.case import CaseResult
from harness.scenarios.actions import MmioStore, Spin
from harness.scenarios.catalogue import Scenario

pytestmark = [pytest.mark.integration, pytest.mark.aarch64]


def test_a_silent_hang_times_out_with_diagnostics(
        axh_case: Callable[..., CaseResult]) -> None:
    # A timeout scale of 0.2 gives a 6 s watchdog and a 24 s wall clock under TCG.
    started = time.monotonic()
    res = axh_case(Scenario("hang", "aarch64", "spin forever after one store",
                            (MmioStore(0x0800_0E00, 8, 1, reg=1), Spin())), timeout_scale=0.2)
    elapsed = time.monotonic() - started
    assert res.verdict is Verdict.TIMEOUT, res.detail
    assert "silent" in res.detail or "no end" in res.detail
    assert elapsed < 0.2 * 120 + 15  # the scaled wall-clock limit plus set-up and grace
    diag = (res.artifacts / "diagnostics.json").read_text()
    assert '"running": true' in diag and "PC=" in diag  # vCPU registers were collected
    assert [o["variant"] for o in res.observed] == ["MmioWrite"]  # what happened before


def test_a_hypervisor_panic_is_a_crash_naming_the_panic(
        axh_case: Callable[[Scenario], CaseResult]) -> None:
    # 0x0a00_0000 is QEMU's virtio-mmio range: neither passed through nor emulated.
    res = axh_case(Scenario("no-device", "aarch64", "store to a GPA without a device",
                            (MmioStore(0x0A00_0000, 4, 7, reg=1),)))
    assert res.verdict is Verdict.CRASH
    assert "emu_device not found" in res.detail
    assert [o["variant"] for o in res.observed] == ["MmioWrite"]


def test_qemu_killed_mid_run_ends_the_run_and_leaves_nothing(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    recipe, image = axh_image("aarch64")
    machine = QemuMachine(get_profile(recipe.qemu_profile), image.kernel, tmp_path)
    with machine:
        assert machine.pid is not None
        pid = machine.pid
        threading.Timer(0.3, lambda: os.kill(pid, signal.SIGKILL)).start()
        # A watcher never satisfied: only the kill ends the run.
        run = machine.run_until(lambda console, new_from: None)
    assert run.ending is Ending.KILLED and run.exit_signal == signal.SIGKILL
    assert run.detail == "QEMU was killed by SIGKILL"
    assert not machine.leaked()
    assert (tmp_path / "console.log").exists() and (tmp_path / "cmdline.sh").exists()


def test_the_console_watcher_sees_the_end_of_a_real_boot(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    recipe, image = axh_image("aarch64")
    with QemuMachine(get_profile(recipe.qemu_profile), image.kernel, tmp_path) as machine:
        run = machine.run_until(axvisor_console.watch)
    assert run.ending is Ending.WATCHER and run.detail == "end"
    assert b"AXH:GUEST-START aarch64" in run.console
    assert '"execute": "cont"' in (tmp_path / "qmp.jsonl").read_text()


def test_an_interrupt_the_scenario_requires_but_nobody_raises_is_a_divergence(
        axh_case: Callable[..., CaseResult]) -> None:
    # riscv64/uart-rx-external-interrupt without the typed byte: the guest polls in vain and
    # goes on, every predicted exit matches, but the required ExternalInterrupt never comes.
    from dataclasses import replace

    from harness.scenarios.registry import scenarios_for

    typed = next(s for s in scenarios_for("riscv64") if s.name == "uart-rx-external-interrupt")
    res = axh_case(replace(typed, name="uart-rx-untyped", console_input=b""))
    assert res.verdict is Verdict.DIVERGENCE, res.detail
    assert "expected at least one asynchronous ExternalInterrupt" in res.detail
    assert not any(o["variant"] == "ExternalInterrupt" for o in res.observed)


def test_a_guest_timer_that_is_never_armed_leaves_the_wfi_loop_waiting(
        axh_case: Callable[..., CaseResult]) -> None:
    # aarch64-emu-irq/timer-interrupt-wakes-wfi without the CNTP_TVAL_EL0 write: host
    # interrupts still end each WFI, but no virtual IRQ becomes pending for the guest. (Only
    # the TVAL write arms arm_vgic 0.2.1's timer: a CNTP_CTL_EL0 of 0 does not stop it.)
    from dataclasses import replace

    from harness.scenarios.actions import SysRegWrite
    from harness.scenarios.registry import scenarios_for

    armed = next(s for s in scenarios_for("aarch64") if s.name == "timer-interrupt-wakes-wfi")
    actions = tuple(a for a in armed.actions
                    if not (isinstance(a, SysRegWrite) and a.name == "cntp_tval_el0"))
    # axvisor 0.3.0-preview.2 may panic here instead, now and then, under load: the enabled
    # timer's deadline has passed and its interrupt re-enters the vCPU's RefCell (axvcpu 0.2.2
    # src/vcpu.rs:207; images/README.md). That run says nothing about the harness's timeout
    # path (its crash verdict is right): the case runs again, and a timeout must come.
    for _ in range(3):
        res = axh_case(replace(armed, name="timer-never-armed", actions=actions),
                       timeout_scale=0.1, recipe_name="aarch64-emu-irq")
        if not (res.verdict is Verdict.CRASH and "RefCell already borrowed" in res.detail):
            break
    assert res.verdict is Verdict.TIMEOUT, res.detail


def test_a_small_timeout_scale_does_not_shorten_a_declared_hangs_evidence(
        axh_case: Callable[..., CaseResult]) -> None:
    # --timeout-scale 0.01 made the quiet window 0.3 s: psci-cpu-off passed on that (audit,
    # session 7). The window that passes a hang stays the scenario's 6 s.
    from harness.scenarios.registry import scenarios_for

    (hang,) = scenarios_for("aarch64", "psci-cpu-off")
    res = axh_case(hang, timeout_scale=0.01)
    assert res.verdict is Verdict.PASS, res.detail
    assert res.detail.endswith("(then parked: no exit and no guest output for 6s)"), res.detail
    assert res.duration_s >= 6.0
