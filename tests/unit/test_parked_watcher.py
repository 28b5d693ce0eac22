"""The end of a declared hang (`expect_hang`): the run ends once the guest's vCPU has shown no
sign (exit record, guest text) for the window, however busy axvisor's own log stays; a sign
restarts the window, and nothing parks before the guest started."""

from __future__ import annotations

import time

from harness.model import schemas
from harness.parse.axlog import format_log_line
from harness.run.watchers import PARKED, Watch, parked_watcher

SCHEMA = schemas.for_crate("axvcpu", "0.5.9")  # axvisor 0.5.8's riscv64 line
IDLE = format_log_line('idle task: waiting for IRQs...', 1_000_000, "ax_task::api", 359,
                       task=1).encode()
EXIT = format_log_line("SystemDown", 1_000_100).encode()
WINDOW = 0.6
STEP = 0.05  # far below the window: a loaded CI host's oversleep must not look like a park


def _nothing(console: bytes | bytearray, new_from: int = 0) -> str | None:
    return None


def _feed(watch: Watch, console: bytearray, data: bytes) -> str | None:
    at = len(console)
    console += data
    return watch(console, at)


def test_a_vcpu_silent_for_the_window_ends_the_run_while_axvisor_keeps_logging() -> None:
    watch = parked_watcher(_nothing, SCHEMA, "riscv64", WINDOW)
    console = bytearray()
    assert _feed(watch, console, b"AXH:GUEST-START riscv64\n") is None
    assert _feed(watch, console, EXIT) is None
    deadline = time.monotonic() + 5 * WINDOW
    ended = None
    while ended is None and time.monotonic() < deadline:
        ended = _feed(watch, console, IDLE)  # the idle task's log: not the vCPU's
        time.sleep(0.005)
    assert ended is not None and ended.startswith(PARKED)


def test_an_exit_record_restarts_the_window() -> None:
    watch = parked_watcher(_nothing, SCHEMA, "riscv64", WINDOW)
    console = bytearray()
    _feed(watch, console, b"AXH:GUEST-START riscv64\n")
    time.sleep(WINDOW * 0.7)
    for _ in range(3):  # each exit comes before the window is over: more than one window
        time.sleep(STEP)
        assert _feed(watch, console, EXIT) is None
        time.sleep(WINDOW * 0.5)
    assert _feed(watch, console, IDLE) is None


def test_guest_text_restarts_the_window() -> None:
    watch = parked_watcher(_nothing, SCHEMA, "riscv64", WINDOW)
    console = bytearray()
    _feed(watch, console, b"AXH:GUEST-START riscv64\n")
    _feed(watch, console, EXIT)
    time.sleep(WINDOW * 0.7)
    assert _feed(watch, console, b"A") is None
    time.sleep(WINDOW * 0.7)
    assert _feed(watch, console, b"XH:GUEST-END\n") is None  # a marker split over two reads


def test_nothing_parks_before_the_guest_started() -> None:
    watch = parked_watcher(_nothing, SCHEMA, "riscv64", WINDOW)
    console = bytearray()
    _feed(watch, console, IDLE)
    time.sleep(WINDOW * 1.5)
    assert _feed(watch, console, IDLE) is None


def test_the_lines_own_end_comes_first() -> None:
    def ended(console: bytes | bytearray, new_from: int = 0) -> str | None:
        return "shutdown"

    watch = parked_watcher(ended, SCHEMA, "riscv64", WINDOW)
    assert watch(bytearray(b"AXH:GUEST-START\n"), 0) == "shutdown"
