"""What ends a case's run besides QEMU's own events: the line's console watcher plus each
scenario's declared end (console input typed when the guest asks, the settle time of a
documented stuck VM, the quiet window of a parked vCPU)."""

from __future__ import annotations

import time
from collections.abc import Callable

from harness.parse.axlog import LogScanner
from harness.run import axvisor_console
from harness.scenarios.catalogue import Scenario
from harness.schema import Schema

# A scenario that is expected to leave the vCPU blocked runs with its timeouts scaled by this
# (24 s, watchdog 6 s under TCG) and ends once its vCPU has shown no sign for the watchdog.
HANG_TIMEOUT_SCALE = 0.2
# How long a scenario with `expect_stuck` waits for the normal end after the marker text
# (axvisor reaches its shell within a fraction of a second when nothing is stuck).
STUCK_SETTLE_S = 5.0
STUCK = "stuck: "
PARKED = "parked: "
# The declared ends that are a wait: a run ends on its silence (harness.run.case).
DECLARED_WAITS = ("expect_hang", "expect_stuck", "may_stick")


WAIT_INPUT = b"AXH:WAIT-INPUT"
Watch = Callable[[bytes | bytearray, int], str | None]


def silence_scale(scale: float) -> float:
    """--timeout-scale as applied to a window whose silence passes a case (a declared hang's
    quiet window and watchdog): a slow host's larger scale lengthens it; a smaller one never
    shortens the evidence below what the scenario declares (at 0.01 a hang passed on 0.3 s)."""
    return max(1.0, scale)


def declared_waits(scenario: Scenario) -> list[str]:
    """Which of DECLARED_WAITS `scenario` declares."""
    return [k for k in DECLARED_WAITS if getattr(scenario, k)]


def asks_for_input(console: bytes | bytearray, at: int) -> bool:
    """Whether the guest's AXH:WAIT-INPUT is there from `at` on, whole or with a log record
    inside it (seen on riscv64: `AXH:` + a timer IRQ record + `WAIT-INPUT`: the input was
    never typed and the guest's wait ran out)."""
    if console.find(WAIT_INPUT, at) >= 0:
        return True
    return console.find(WAIT_INPUT[4:], at) >= 0 and \
        axvisor_console.guest_printed(bytes(console), WAIT_INPUT.decode())


def typing_watcher(watch: Watch, scenario: Scenario, send: Callable[[bytes], None]) -> Watch:
    """`watch`, and type the scenario's console input once the guest asks for it."""
    if not scenario.console_input:
        return watch
    sent = False

    def typing(console: bytes | bytearray, new_from: int = 0) -> str | None:
        nonlocal sent
        if not sent and asks_for_input(console, max(0, new_from - len(WAIT_INPUT))):
            send(scenario.console_input)
            sent = True
        return watch(console, new_from)

    return typing


def console_watcher(scenario: Scenario, settle_s: float = STUCK_SETTLE_S,
                    base: Watch = axvisor_console.watch) -> Watch:
    """`base` (the line's watcher: axvisor_console.watch, or current_line.watch), plus the
    documented end of an `expect_stuck` (or `may_stick`) scenario: its marker text, then
    `settle_s` without the normal end."""
    text = scenario.expect_stuck or scenario.may_stick
    if not text:
        return base
    marker = text.encode()
    seen_at: float | None = None

    def watch(console: bytes | bytearray, new_from: int = 0) -> str | None:
        nonlocal seen_at
        ended = base(console, new_from)
        if ended is not None:
            return ended
        if seen_at is None and console.find(marker, max(0, new_from - len(marker))) >= 0:
            seen_at = time.monotonic()
        if seen_at is not None and time.monotonic() - seen_at >= settle_s:
            return f"{STUCK}no end {settle_s:.0f}s after {text!r}"
        return None

    return watch


class ParkedWatch:
    """`base`, and the end of an `expect_hang` scenario: once the guest has started, `window_s`
    without a sign of its vCPU — no exit record (any, a parse error too) and no guest text
    (`AXH`). axvisor's own log keeps the console busy while the vCPU is parked (0.3's idle
    task ≈ 300 KB/s, 0.5's timer interrupts), so the silence watchdog never fired and every
    declared hang ran to its whole timeout. A vCPU that comes back makes exits (the runtime
    ends with a power-off hypercall), which restart the window or end the run."""

    def __init__(self, base: Watch, schema: Schema, arch: str, window_s: float) -> None:
        self.base, self.window_s = base, window_s
        self.scanner = LogScanner(schema, arch, "<hang watch>")
        self.last: float | None = None  # the guest's last sign; None before it started

    def __call__(self, console: bytes | bytearray, new_from: int = 0) -> str | None:
        ended = self.base(console, new_from)
        if ended is not None:
            return ended
        now = time.monotonic()
        if self.scanner.feed(bytes(console[new_from:])) or \
                console.find(b"AXH", max(0, new_from - 2)) >= 0:
            self.last = now
        if self.last is not None and now - self.last >= self.window_s:
            return f"{PARKED}no exit and no guest output for {self.window_s:.0f}s"
        return None

    def quiet_s(self) -> float:
        """How long the started guest has shown no sign (0 before it started)."""
        return 0.0 if self.last is None else time.monotonic() - self.last


def parked_watcher(base: Watch, schema: Schema, arch: str, window_s: float) -> ParkedWatch:
    """ParkedWatch: `base` plus the quiet window of a parked vCPU."""
    return ParkedWatch(base, schema, arch, window_s)
