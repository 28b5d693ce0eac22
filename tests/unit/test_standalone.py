"""The runner a bundle carries (harness.run.standalone): the suite's verdict for each declared
end, judged from consoles rendered the way axvm prints them; the QEMU loop against stand-in
processes (end marker, typed console input, watchdog, wall clock, a kill from outside); the
kit's file format; and that it needs nothing but the standard library."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from harness.model.convert import exit_to_json
from harness.model.exits import ExternalInterrupt, Hypercall, MmioWrite, SystemDown
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr
from harness.parse.axlog import format_log_line
from harness.parse.render import DebugForm, render_exit
from harness.run.bundle import vendored_files
from harness.run.kit import DeclaredEnd, Kit, KitError, KnownCover
from harness.run.standalone import Run, judge, run_qemu

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

GEN = S02
STORE = MmioWrite(GuestPhysAddr(0x0800_0E00), AccessWidth.Byte, 0x88)
WHOLE = MmioWrite(GuestPhysAddr(0x0800_0E00), AccessWidth.Byte, 0x1122_3344_5566_7788)
HC = Hypercall(0x4AB1, (1, 2, 3, 4, 5, 6))
SHELL = "Welcome to AxVisor Shell!\n"
PANIC = "panicked at src/vmm/vcpus.rs:520:9:\nPhysical CPU ID 1 not found in VM configuration\n"


def kit(*expected: object, end: DeclaredEnd | None = None, known: tuple[KnownCover, ...] = (),
        recorded: tuple[object, ...] | None = None) -> Kit:
    return Kit(case_id="aarch64/s", arch="aarch64", schema=GEN.id,
               argv=("qemu-system-aarch64", "-kernel", "@KERNEL@"), kernel="axvisor.bin",
               elf="axvisor.elf", end=end or DeclaredEnd(120.0, 30.0),
               expected=tuple(exit_to_json(e) for e in expected),  # type: ignore[arg-type]
               recorded=None if recorded is None else tuple(
                   {**exit_to_json(e), "line": 1} for e in recorded),  # type: ignore[arg-type]
               recorded_verdict="pass", known=known)


def console(*exits: object, tail: str = SHELL) -> bytes:
    log = "AXH:GUEST-START aarch64\n" + "".join(
        format_log_line(render_exit(e, GEN, "aarch64", DebugForm.PRETTY_HEX), 1000 + i)
        for i, e in enumerate(exits))
    return (log + tail).encode()


def verdict(k: Kit, ending: str, detail: str, data: bytes) -> str:
    return judge(k, Run(ending, detail, data, 1.0)).verdict


# -- verdicts -------------------------------------------------------------------------------------

def test_the_predicted_exits_to_the_shell_pass_and_reproduce() -> None:
    res = judge(kit(STORE, SystemDown(), recorded=(STORE, SystemDown())),
                Run("watcher", "end", console(STORE, SystemDown()), 1.0))
    assert (res.verdict, res.reproduced) == ("pass", True)


def test_a_run_recorded_from_a_snapshot_reproduces_without_its_extra_timer_tick() -> None:
    """A restore (harness.persist.snapshot) adds a host tick or two: a kit of such a run
    compares synchronous exits; any other kit still compares every exit."""
    tick = ExternalInterrupt(30)
    restored = replace(kit(STORE, SystemDown(), recorded=(tick, STORE, SystemDown())),
                       recorded_restored=True)
    data = console(STORE, SystemDown())
    assert judge(restored, Run("watcher", "end", data, 1.0)).reproduced is True
    booted = kit(STORE, SystemDown(), recorded=(tick, STORE, SystemDown()))
    assert judge(booted, Run("watcher", "end", data, 1.0)).reproduced is False
    changed = replace(kit(STORE, SystemDown(), recorded=(tick, WHOLE, SystemDown())),
                      recorded_restored=True)
    assert judge(changed, Run("watcher", "end", data, 1.0)).reproduced is False


def test_a_diff_is_a_divergence_unless_a_known_entry_covers_it() -> None:
    entry = KnownCover("whole-register", "fields", "MmioWrite", ("data",))
    data = console(WHOLE, SystemDown())
    assert verdict(kit(STORE, SystemDown()), "watcher", "end", data) == "divergence"
    res = judge(kit(STORE, SystemDown(), known=(entry,)), Run("watcher", "end", data, 1.0))
    assert (res.verdict, res.known) == ("xfail", ("whole-register",))
    width = KnownCover("width", "fields", "MmioWrite", ("width",))
    assert verdict(kit(STORE, SystemDown(), known=(width,)), "watcher", "end",
                   data) == "divergence"


def test_an_expected_panic_passes_and_a_missing_or_other_one_does_not() -> None:
    end = DeclaredEnd(120.0, 30.0, expect_panic="Physical CPU ID 1 not found")
    panicked = console(HC, tail=PANIC)
    assert verdict(kit(HC, end=end), "watcher", "panic: …", panicked) == "pass"
    assert verdict(kit(HC, end=end), "watcher", "end", console(HC)) == "divergence"
    assert verdict(kit(HC), "watcher", "panic: …", panicked) == "crash"


def test_a_declared_hang_passes_on_the_watchdog_and_an_undeclared_one_times_out() -> None:
    end = DeclaredEnd(24.0, 6.0, expect_hang=True)
    silent = console(HC, tail="")
    assert verdict(kit(HC, end=end), "watchdog", "console silent", silent) == "pass"
    assert verdict(kit(HC, end=end), "watcher", "end", console(HC)) == "divergence"
    assert verdict(kit(HC), "watchdog", "console silent", silent) == "timeout"


def test_a_declared_stuck_end_passes_after_its_marker_and_fails_when_the_vm_stops() -> None:
    end = DeclaredEnd(120.0, 30.0, expect_stuck="CpuDown")
    stuck = console(HC, tail=format_log_line("VM[1] run VCpu[1] CpuDown", 2000))  # cut there
    assert verdict(kit(HC, end=end), "watcher", "stuck: no end 5s after 'CpuDown'",
                   stuck) == "pass"
    assert verdict(kit(HC, end=end), "watcher", "end", console(HC)) == "divergence"


def test_a_stuck_run_judges_a_complete_last_record_and_sets_aside_only_a_cut_one() -> None:
    # The stuck end stops a machine still logging; dropping its last record whatever it held
    # let an extra exit there pass (audit, session 7).
    end = DeclaredEnd(120.0, 30.0, expect_stuck="CpuDown")
    marker = format_log_line("VM[1] run VCpu[1] CpuDown", 2000)
    extra = format_log_line(render_exit(STORE, GEN, "aarch64", DebugForm.PRETTY_HEX), 3000)
    stuck = "stuck: no end 5s after 'CpuDown'"
    assert verdict(kit(HC, end=end), "watcher", stuck, console(HC, tail=marker + extra)) \
        == "divergence"
    cut = extra[:len(extra) // 2]  # stopped inside the record: set aside, not a parse error
    assert verdict(kit(HC, end=end), "watcher", stuck, console(HC, tail=marker + cut)) == "pass"


def test_a_required_interrupt_must_be_the_one_named_not_any_of_its_variant() -> None:
    # A riscv64 host timer tick exits as ExternalInterrupt too: the variant alone passed a
    # scenario whose UART interrupt never came (audit, session 7).
    uart = "ExternalInterrupt vector=0x8000000000000009"
    end = DeclaredEnd(120.0, 30.0, expect_async=(uart,))
    timer, rx = ExternalInterrupt(0x8000_0000_0000_0005), ExternalInterrupt(0x8000_0000_0000_0009)
    assert verdict(kit(HC, end=end), "watcher", "end", console(timer, HC)) == "divergence"
    assert verdict(kit(HC, end=end), "watcher", "end", console(timer, rx, HC)) == "pass"
    anyone = DeclaredEnd(120.0, 30.0, expect_async=("ExternalInterrupt",))
    assert verdict(kit(HC, end=anyone), "watcher", "end", console(timer, HC)) == "pass"


def test_qemu_killed_from_outside_is_infrastructure() -> None:
    assert verdict(kit(HC), "killed", "QEMU was killed by SIGKILL", console(HC)) == "infra"


def test_qemu_exiting_without_the_shell_or_a_panic_is_a_crash() -> None:
    assert verdict(kit(HC), "qemu-exited", "QEMU exited", console(HC, tail="")) == "crash"


# -- the QEMU loop ------------------------------------------------------------------------------

def fake(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_the_run_ends_at_the_shell_marker_and_types_the_scenario_input(tmp_path: Path) -> None:
    end = DeclaredEnd(20.0, 10.0, console_input=b"x")
    run = run_qemu(fake("""
        import sys
        print("AXH:WAIT-INPUT", flush=True)
        got = sys.stdin.read(1)
        print("typed", got, flush=True)
        print("Welcome to AxVisor Shell!", flush=True)
        import time; time.sleep(60)
        """), end, console_log=tmp_path / "console.log")
    assert run.ending == "watcher" and run.detail == "end"
    assert b"typed x" in run.console
    assert (tmp_path / "console.log").read_bytes() == run.console


def test_a_silent_console_ends_by_the_watchdog_and_the_process_group_is_gone() -> None:
    run = run_qemu(fake("""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print(child.pid, flush=True)
        time.sleep(60)
        """), DeclaredEnd(20.0, 0.5))
    assert run.ending == "watchdog" and run.duration_s < 10
    pid = int(run.console.split()[0])
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            os.kill(pid, 0)
            subprocess.run(["sleep", "0.1"], check=False)


def test_a_chatty_run_without_an_end_hits_the_wall_clock() -> None:
    run = run_qemu(fake("""
        import time
        while True:
            print("tick", flush=True); time.sleep(0.05)
        """), DeclaredEnd(1.0, 10.0))
    assert run.ending == "timeout"


def test_a_kill_from_outside_is_told_apart() -> None:
    run = run_qemu(fake("""
        import os, signal
        print("start", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """), DeclaredEnd(20.0, 10.0))
    assert run.ending == "killed" and signal.Signals.SIGKILL.name in run.detail


def test_the_stuck_marker_ends_the_run_after_its_settle_time() -> None:
    """axvisor keeps logging (its idle CPU's timer) while the VM never stops."""
    run = run_qemu(fake("""
        import time
        print("VM[1] run VCpu[1] CpuDown", flush=True)
        while True:
            print("tick", flush=True); time.sleep(0.05)
        """), DeclaredEnd(20.0, 10.0, expect_stuck="CpuDown", stuck_settle_s=0.3))
    assert run.ending == "watcher" and run.detail.startswith("stuck: ")


# -- the kit --------------------------------------------------------------------------------------

def test_a_kit_survives_its_json_form() -> None:
    k = replace(kit(STORE, SystemDown(), recorded=(STORE,),
                    known=(KnownCover("k", "fields", "MmioWrite", ("data",)),),
                    end=DeclaredEnd(24.0, 6.0, expect_hang=True, console_input=b"\x03y",
                                    expect_async=("ExternalInterrupt",),
                                    end_marker_due=True)),
                vcpu_of_cpu=((0, 0), (1, 1)), patched_sha256="ab" * 32)
    assert Kit.from_json(k.to_json(), "case.json") == k


@pytest.mark.parametrize("broken", [{}, {"format": "axharness-kit/1"},
                                    {"format": "axharness-kit/1", "case": "c", "arch": "a",
                                     "generation": "G0_2", "argv": [], "kernel": "k",
                                     "end": {"format": "nope"}}])
def test_a_broken_kit_is_one_error_naming_the_file(broken: dict[str, object]) -> None:
    with pytest.raises(KitError, match=r"^case\.json: "):
        Kit.from_json(broken, "case.json")


def test_the_runner_imports_with_the_standard_library_and_its_own_modules_only(
        tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for name, data in vendored_files().items():
        (lib / name).parent.mkdir(parents=True, exist_ok=True)
        (lib / name).write_bytes(data)
    assert "harness/run/standalone.py" in {n for n in vendored_files()}
    assert not any(n.startswith(("harness/qemu/", "harness/images/")) for n in vendored_files())
    res = subprocess.run([sys.executable, "-I", "-S", "-c",
                          f"import sys; sys.path.insert(0, {str(lib)!r}); "
                          "import harness.run.standalone as s; print(s.__file__)"],
                         capture_output=True, text=True, check=False, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().startswith(str(lib))
