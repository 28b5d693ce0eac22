"""One QEMU machine per case, as a context manager.

Serial console on the child's stdio — stdin a pty (its controlling terminal: a harness that
dies hangs QEMU up), stdout and stderr a pipe the harness reads (a pty write per guest UART
byte costs QEMU far more than a pipe write) — and QMP on a unix socket in a
private directory, on which the harness listens before QEMU starts and QEMU connects. QEMU
starts paused (-S) so nothing is lost before capture starts; the machine runs in its own
session (posix_spawn on a pty: harness.qemu.pty_spawn), so stopping it kills the whole
process group: QMP `quit`, then SIGTERM, then SIGKILL, each with a bounded wait.

The console is read by `run_until`, which feeds a caller-supplied watcher with every chunk and
stops on: the watcher's verdict, a QMP event that ends the run, QEMU exiting, the wall-clock
timeout, the no-output watchdog, or a stop request (SIGINT/SIGTERM to the harness, see
harness.signals). A QEMU that dies by a signal it did not get from us is told apart (KILLED):
that run says nothing about the guest. Before killing a machine that timed out, `diagnostics`
collects `query-status`, the registers of every vCPU and the tail of the console.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import select
import shlex
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pexpect

from harness import signals
from harness.errors import InfraError, signal_name
from harness.qemu.host import missing_tools
from harness.qemu.incoming import Incoming, load_state
from harness.qemu.profiles import MachineProfile
from harness.qemu.pty_spawn import PtySpawn
from harness.qemu.qmp_session import QmpError, QmpSession, QmpUnresponsive

# QEMU writes the console a character at a time; a reader that wakes for each few bytes makes
# every write slower for QEMU (measured on a pty: boot to the end marker 1.31 s reading at once
# vs 0.92 s waiting 3 ms after the wake-up; 90 reads per boot instead of 1600). 3 ms of output
# is < 1 KiB even for a flooding idle loop (300 KB/s): far from a pipe's or a pty's limit.
CONSOLE_BATCH_S = 0.003


class Ending(enum.Enum):
    """Why `run_until` returned."""

    WATCHER = "watcher"  # the console watcher said the run is complete
    SHUTDOWN = "shutdown"  # QMP SHUTDOWN/POWERDOWN event
    GUEST_PANICKED = "guest-panicked"  # QMP GUEST_PANICKED
    RESET = "reset"  # QMP RESET (axvisor does not reboot by design: a reset is an ending)
    QEMU_EXITED = "qemu-exited"  # the process ended (EOF on the console)
    TIMEOUT = "timeout"  # wall clock exceeded
    WATCHDOG = "watchdog"  # no console output for too long
    INTERRUPTED = "interrupted"  # the harness was asked to stop (SIGINT/SIGTERM)
    KILLED = "killed"  # QEMU died by a signal from outside the harness


# A trace-level boot arrives in ≈ 1000 small chunks; the watcher (regular expressions over the
# new bytes and a 4 KiB margin) runs at most this often, on everything read meanwhile: its CPU,
# taken beside QEMU's on a busy host, drops ≈ 5x, for an end seen at most this much later.
WATCH_EVERY_S = 0.002

# How often run_until asks QMP for events while the console is busy (they end a run that the
# console does not: SHUTDOWN, GUEST_PANICKED, RESET).
EVENT_POLL_S = 0.02

# QEMU's own report when a signal makes it quit (system/runstate.c qemu_kill_report).
_KILL_REPORT = re.compile(rb"terminating on signal (\d+)(?: from pid (\d+))?")


@dataclass(frozen=True, slots=True)
class RunResult:
    ending: Ending
    detail: str
    duration_s: float
    console: bytes
    exit_status: int | None
    exit_signal: int | None = None  # the signal QEMU died by, if it is dead


class MachineError(InfraError):
    """QEMU could not be started or controlled."""


# A watcher gets the console so far (not copied: read it, do not keep it) and the offset where
# the bytes new since its last call begin, so it need not rescan megabytes of trace output on
# every chunk; it returns a reason string to stop, or None.
Watcher = Callable[[bytearray, int], "str | None"]


def machine_argv(profile: MachineProfile, kernel: str, *, qmp: Path | None = None,
                 paused: bool = False, gdb: Path | None = None, extra: tuple[str, ...] = ()
                 ) -> list[str]:
    """The QEMU command line of a case, with no side effect (no socket directory made): the
    serial console on stdio, QMP on `qmp` and stopped at the first instruction (`paused`) when
    the harness drives it (QEMU connects to `qmp`, where the harness listens), a gdbstub on
    the unix socket `gdb`."""
    argv = profile.argv(kernel)
    argv += ["-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"]
    if qmp is not None:
        argv += ["-qmp", f"unix:{qmp},server=off"]
    if paused:
        argv.append("-S")
    argv += extra
    if gdb is not None:
        argv += ["-chardev", f"socket,id=gdb0,path={gdb},server=on,wait=off",
                 "-gdb", "chardev:gdb0"]
    return argv


def cmdline_script(profile: MachineProfile, kernel: Path, rundir: Path) -> str:
    """cmdline.sh: the case's QEMU, runnable as written from anywhere the directory is copied
    to (the kernel named relative to the script, no QMP socket, not paused)."""
    rel = os.path.relpath(kernel, rundir) if kernel.is_absolute() == rundir.is_absolute() \
        else str(kernel)
    line = " ".join(shlex.quote(a) for a in machine_argv(profile, rel))
    q = shlex.quote(rel)
    return ("#!/bin/sh\n"
            "# This case's QEMU, by hand: the serial console on this terminal (axvisor ends in\n"
            "# its shell; Ctrl-C quits QEMU). `axharness repro DIR` runs and judges it, and\n"
            "# `axharness repro DIR --bundle OUT.tar.gz` packs it for another machine.\n"
            'cd "$(dirname "$0")" || exit 3\n'
            f"if [ ! -f {q} ]; then\n"
            f"    echo \"{rel} is gone (the suite deletes the patched kernel of a case that did "
            "not fail); 'axharness repro DIR' rebuilds it from the image cache\" >&2\n"
            "    exit 3\nfi\n"
            f"{line}\n")


def silence_doubt(diagnostics: Mapping[str, Any]) -> str:
    """Why a run that ended on silence or on time (a parked vCPU, a stuck VM, a watchdog, a
    timeout) says nothing about axvisor, from the machine's `diagnostics()` taken then; ""
    when QEMU was shown alive: its monitor connected and answering, its VM running. A
    stopped or frozen QEMU is silent too."""
    if diagnostics.get("qmp_unresponsive"):
        return f"{diagnostics.get('qmp_error')}: QEMU itself is stuck"
    if diagnostics.get("qmp") == "not connected":
        lost = diagnostics.get("qmp_lost")
        return (f"QMP was lost during the run ({lost})" if lost else "QMP was not connected") \
            + ": nothing shows QEMU was still running"
    status = diagnostics.get("status")
    state = status.get("status") if isinstance(status, dict) else None
    if state is None:
        return f"QEMU's run state could not be read ({diagnostics.get('qmp_error', '?')})"
    if state != "running":
        return f"QEMU's VM is {state!r}, not running: QEMU stopped it, not axvisor"
    return ""


class QemuMachine:
    def __init__(
        self,
        profile: MachineProfile,
        kernel: Path,
        rundir: Path,
        *,
        timeout_scale: float = 1.0,
        extra_args: tuple[str, ...] = (),
        gdb: bool = False,
        paused: bool = False,
        stop: signals.StopRequest | None = None,
        console_pipe: bool = True,
        incoming: Incoming | None = None,
    ) -> None:
        self.profile = profile
        self.kernel = kernel  # cmdline.sh's: a restored machine runs incoming.kernel
        self.incoming = incoming
        self.rundir = rundir
        self.timeout_s, self.watchdog_s = profile.scaled(timeout_scale)
        self.extra_args = extra_args
        self.gdb = gdb
        self.paused = paused  # leave the vCPUs stopped after start-up (e.g. for gdb)
        self.stop_request = stop if stop is not None else signals.current()
        self._sockdir = Path(tempfile.mkdtemp(prefix="axh-"))  # short path: sun_path is 108 bytes
        self.qmp_socket = self._sockdir / "qmp.sock"
        self.gdb_socket = self._sockdir / "gdb.sock"
        self.qmp: QmpSession | None = None
        self._child: Any = None  # pexpect.spawn (PtySpawn)
        # The console is read from a pipe (QEMU's stdout and stderr) unless the user gets
        # the console itself (axharness repro --interactive): then from the pty.
        self.console_pipe = console_pipe
        self._console_fd = -1
        self._console = bytearray()
        self._console_log: Any = None
        self.pid: int | None = None
        self.started_at = 0.0
        # A persistent-mode boot waits for short bursts (one program's exits, then the
        # loader's marker): it reads at once (harness.persist.session).
        self.console_batch_s = CONSOLE_BATCH_S

    # -- lifecycle -----------------------------------------------------------------------
    def argv(self) -> list[str]:
        inc = self.incoming
        kernel = inc.kernel if inc is not None else self.kernel
        extra = self.extra_args + ((*inc.extra, "-incoming", "defer") if inc is not None else ())
        return machine_argv(self.profile, str(kernel), qmp=self.qmp_socket, paused=True,
                            gdb=self.gdb_socket if self.gdb else None, extra=extra)

    def launch(self) -> None:
        """Start QEMU and connect QMP; on any failure nothing is left (process, socket dir)."""
        try:
            self._launch()
        except BaseException:
            self.stop()
            raise

    def _launch(self) -> None:
        binary = shutil.which(self.profile.binary)
        if binary is None:
            raise MachineError(missing_tools([self.profile.binary]))
        self.rundir.mkdir(parents=True, exist_ok=True)
        argv = self.argv()
        (self.rundir / "cmdline.sh").write_text(cmdline_script(self.profile, self.kernel,
                                                               self.rundir))
        self._console_log = (self.rundir / "console.log").open("wb")
        if self.incoming is not None:
            self._console += self.incoming.console
            self._console_log.write(self.incoming.console)
        self.qmp = QmpSession(self.qmp_socket, self.rundir / "qmp.jsonl")
        self.qmp.listen()
        try:
            self._child = PtySpawn(argv[0], argv[1:], echo=False, timeout=None,
                                   output_pipe=self.console_pipe)
        except pexpect.ExceptionPexpect as exc:
            raise MachineError(f"cannot start {argv[0]}: {exc}") from exc
        self._console_fd = self._child.output_fd if self.console_pipe else \
            self._child.child_fd
        self.pid = self._child.pid
        try:
            self.qmp.accept(alive=self._child.isalive)
            if self.incoming is not None:
                load_state(self.qmp, self.incoming.state)
                self.incoming.prepare()
            if not self.paused:
                self.qmp.command("cont")
        except QmpError:
            self._drain(0.2)
            tail = bytes(self._console[-2000:]).decode(errors="replace")
            _, killed_by = self._exit_status(wait_s=0.5)
            why = f"was killed by {signal_name(killed_by)} while starting" if killed_by \
                else "did not come up under QMP"
            raise MachineError(f"QEMU {why}; console tail:\n{tail}") from None
        self.started_at = time.monotonic()

    def __enter__(self) -> QemuMachine:
        self.launch()  # `with` calls no __exit__ when this raises: launch cleans up itself
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- console -------------------------------------------------------------------------
    @property
    def console(self) -> bytes:
        return bytes(self._console)

    def settle_console(self) -> None:
        """Read what QEMU still has for the console until it is quiet (a stopped machine's
        last output, before its console is kept as a whole)."""
        self._drain_until_quiet()

    def send_console(self, data: bytes) -> None:
        """Type `data` on the serial console (the guest's UART receives it)."""
        if self._child is None or not self._child.isalive():
            raise MachineError("cannot type on the console: QEMU is not running")
        self._child.send(data)

    def _drain(self, wait_s: float) -> bool:
        """Read what the console has; False once QEMU has closed it."""
        if self._console_fd < 0:
            return False
        # One select and one read on the pty (pexpect's read_nonblocking makes 2-3 selects, a
        # waitpid and several reads per chunk: ≈ 1000 chunks per boot, CPU beside QEMU's).
        fd = self._console_fd
        try:
            if not select.select([fd], [], [], wait_s)[0]:
                return True
            if self.console_batch_s:
                time.sleep(self.console_batch_s)
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: QEMU has closed its end and everything it wrote was read
            return False
        if not chunk:
            return False
        self._console += chunk
        if self._console_log is not None:
            self._console_log.write(chunk)
            self._console_log.flush()
        self._last_output = time.monotonic()
        return True

    def _drain_until_quiet(self, quiet_s: float = 0.05, limit_s: float = 0.5) -> None:
        """Read until the console has been silent for `quiet_s` (at most `limit_s`). QEMU has
        written what the guest printed before the QMP event that ends a run, but the pty hands
        it over in pieces: one read after the event got the start of a panic and not its
        message (seen: riscv64 mmio-load-lh, a panic that powers off, judged "no panic")."""
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            before = len(self._console)
            if not self._drain(quiet_s) or len(self._console) == before:
                return

    def run_until(self, watcher: Watcher, *, since: float | None = None,
                  tick: Callable[[], None] | None = None) -> RunResult:
        """Capture the console until the run ends one way or another (see Ending). The
        timeout counts from `since` (default: the machine's start; a persistent-mode boot
        gives each of its programs its own). `tick` is called every pass of the loop (at
        least every 50 ms), console or not."""
        start = since if since is not None else (self.started_at or time.monotonic())
        self._last_output = time.monotonic()
        ending, detail = Ending.QEMU_EXITED, "QEMU closed its console"
        seen = 0
        polled = watched = 0.0
        while True:
            # Read whenever QEMU writes (the pty holds only a few KiB: a full one stalls the
            # guest), but run the watcher at most every WATCH_EVERY_S, on all that came since.
            wait = 0.05 if len(self._console) == seen else \
                max(0.0, watched + WATCH_EVERY_S - time.monotonic())
            alive = self._drain(wait)
            if len(self._console) != seen and (
                    not alive or time.monotonic() - watched >= WATCH_EVERY_S):
                watched = time.monotonic()
                new_from, seen = seen, len(self._console)
                reason = watcher(self._console, new_from)
                if reason is not None:
                    ending, detail = Ending.WATCHER, reason
                    break
            # Each poll runs qemu.qmp's event loop (≈ 0.1 ms of CPU, taken from QEMU's TCG
            # threads on a busy host): at most every EVENT_POLL_S, and always at the end.
            if self.qmp is not None and (not alive or time.monotonic() - polled >= EVENT_POLL_S):
                polled = time.monotonic()
                ev = self._ending_event(self.qmp.poll_events())
                if ev is not None:
                    self._drain_until_quiet()  # what the guest printed just before
                    ending, detail = ev
                    break
            if not alive:
                break
            if tick is not None:
                tick()
            if self.stop_request.requested:
                ending = Ending.INTERRUPTED
                detail = f"interrupted by {self.stop_request.name}"
                break
            now = time.monotonic()
            if now - start > self.timeout_s:
                ending, detail = Ending.TIMEOUT, f"no end after {self.timeout_s:.0f}s"
                break
            if now - self._last_output > self.watchdog_s:
                ending, detail = Ending.WATCHDOG, f"console silent for {self.watchdog_s:.0f}s"
                break
        status, killed_by = self._exit_status(wait_s=2.0 if ending is Ending.QEMU_EXITED else 0)
        if killed_by is not None:
            ending, detail = Ending.KILLED, f"QEMU was killed by {signal_name(killed_by)}"
        elif ending is Ending.SHUTDOWN and "host-signal" in detail:
            ending, detail = Ending.KILLED, self._host_signal()
        return RunResult(ending, detail, time.monotonic() - start, self.console, status,
                         killed_by)

    def _exit_status(self, wait_s: float) -> tuple[int | None, int | None]:
        """(exit status, signal) of a QEMU that has ended, waiting up to `wait_s` for a
        process whose console already closed to be reaped; (None, None) while it runs."""
        child = self._child
        if child is None:
            return None, None
        end = time.monotonic() + wait_s
        while child.isalive():
            if time.monotonic() >= end:
                return None, None
            time.sleep(0.01)
        return child.exitstatus, child.signalstatus

    def _host_signal(self) -> str:
        """What QEMU said when a signal made it shut down (SHUTDOWN reason host-signal)."""
        self._drain_until_quiet()
        m = _KILL_REPORT.search(self._console)
        if m is None:
            return "QEMU was stopped by a signal (QMP SHUTDOWN, reason host-signal)"
        sender = f" from pid {int(m[2])}" if m[2] else ""
        return f"QEMU was stopped by {signal_name(int(m[1]))}{sender}"

    @staticmethod
    def _ending_event(events: list[dict[str, Any]]) -> tuple[Ending, str] | None:
        for ev in events:
            name = ev.get("event")
            data = ev.get("data", {})
            if name in ("SHUTDOWN", "POWERDOWN"):
                return Ending.SHUTDOWN, f"{name} {data}"
            if name == "GUEST_PANICKED":
                return Ending.GUEST_PANICKED, f"GUEST_PANICKED {data}"
            if name == "RESET":
                return Ending.RESET, f"RESET {data}"
        return None

    # -- diagnostics and teardown --------------------------------------------------------
    def diagnostics(self) -> dict[str, Any]:
        """State worth keeping before a hung or failed machine is killed."""
        out: dict[str, Any] = {"console_tail": bytes(self._console[-4000:]).decode(
            errors="replace")}
        if self.qmp is None or not self.qmp.connected:
            out["qmp"] = "not connected"
            if self.qmp is not None and self.qmp.lost:
                out["qmp_lost"] = self.qmp.lost
            return out
        try:
            with self._draining():
                out["status"] = self.qmp.command("query-status")
                out["cpus"] = self.qmp.command("query-cpus-fast")
                out["registers"] = self.qmp.command(
                    "human-monitor-command", **{"command-line": "info registers -a"})
        except QmpUnresponsive as exc:
            out["qmp_error"] = str(exc)
            out["qmp_unresponsive"] = True
        except QmpError as exc:
            out["qmp_error"] = str(exc)
        return out

    @contextlib.contextmanager
    def _draining(self) -> Iterator[None]:
        """Keep reading the console while the caller waits for QMP. A guest (or a logging
        hypervisor) that writes while nobody reads fills the pty; QEMU then retries the write
        holding its big lock and cannot answer the monitor: without this, a chatty machine's
        diagnostics would read as "QEMU itself is stuck"."""
        done = threading.Event()

        def pump() -> None:
            while not done.is_set() and self._drain(0.05):
                pass

        reader = threading.Thread(target=pump, name="console-drain", daemon=True)
        reader.start()
        try:
            yield
        finally:
            done.set()
            reader.join()

    def stop(self) -> None:
        """QMP quit, then SIGTERM, then SIGKILL to the process group; always bounded. After a
        second SIGINT/SIGTERM to the harness (signals.StopRequest.hard), SIGKILL at once."""
        child = self._child
        hard = self.stop_request.hard
        if child is not None:
            if child.isalive() and self.qmp is not None and self.qmp.connected \
                    and not hard.is_set():
                with contextlib.suppress(QmpError), self._draining():
                    self.qmp.command("quit")
            for sig, wait_s in ((None, 3.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
                if hard.is_set() and sig is not signal.SIGKILL:
                    continue
                if sig is not None and child.isalive():
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.pid, sig)
                end = time.monotonic() + wait_s
                while child.isalive() and time.monotonic() < end:
                    if not self._drain(0.05):
                        time.sleep(0.01)  # the console closed: QEMU is on its way out
                if not child.isalive():
                    break
            # ptyprocess sleeps delayafterclose (0.1 s) before checking the child it closes;
            # the wait above already saw it end (or SIGKILLed it): no reason to sleep.
            child.ptyproc.delayafterclose = 0.0
            with contextlib.suppress(pexpect.ExceptionPexpect):
                child.close(force=True)
            if self.console_pipe and self._console_fd >= 0:
                os.close(self._console_fd)
        self._child, self._console_fd = None, -1
        if self.qmp is not None:
            self.qmp.close()
            self.qmp = None
        if self._console_log is not None:
            self._console_log.close()
            self._console_log = None
        shutil.rmtree(self._sockdir, ignore_errors=True)

    def leaked(self) -> bool:
        """True if any process of this machine's group is still alive (a test error)."""
        if self.pid is None:
            return False
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
