"""One persistent-mode boot: QEMU with the loader in the payload hole and guest RAM in a shared
file; programs are written to the loader's mailbox one after another, and each one's console
slice (from after its predecessor's AXH:DONE to its own) is handed back unjudged."""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from harness import signals
from harness.errors import HarnessError, InfraError
from harness.guests.payload import BuiltPayload, patch_image
from harness.images.build import Image
from harness.persist.frame import (
    BADFRAME,
    NR_BAD,
    NR_END,
    NR_READY,
    READY,
    Frame,
    encode,
    loader_record,
)
from harness.persist.loader import SLOTS, Loader, build_loader
from harness.persist.mailbox import Mailbox
from harness.qemu.machine import Ending, QemuMachine
from harness.qemu.profiles import MachineProfile
from harness.run import axvisor_console, current_line
from harness.run.current_line import is_current_line

GUEST_START = b"AXH:GUEST-START"
END_TEXT = b"%#x" % NR_END  # in the end boundary's exit record and axvisor's warning about it
BAD_TEXT = b"%#x" % NR_BAD

# Mailbox pages found per image key in this process (axvisor's allocator is deterministic).
_PAGES: dict[str, tuple[int, ...]] = {}


@dataclass(frozen=True, slots=True)
class SliceRun:
    """What one program did in the boot: its console slice and how the slice ended."""

    n: int
    crc: int
    console: bytes
    start: int  # offsets of the slice in the boot's console.log
    end: int
    ended: str | None  # None: the loader printed AXH:DONE n (the program returned)
    badframe: bool
    duration_s: float


class SliceWatch:
    """run_until's watcher for one program's slice: 'done' once the loader printed
    AXH:DONE n after `start`, 'badframe', or the line's own ending (panic, end)."""

    def __init__(self, start: int, n: int) -> None:
        self.start, self.n = start, n
        self.done = b"AXH:DONE %08x" % n
        self.returned = False  # the end boundary exit was logged
        self.refused = False  # the loader's bad-frame exit was logged

    def __call__(self, console: bytes | bytearray, new_from: int) -> str | None:
        at = max(self.start, new_from - 64)
        if console.find(self.done, at) >= 0:
            return "done"
        if console.find(BADFRAME, at) >= 0:
            return "badframe"
        self.refused = self.refused or console.find(BAD_TEXT, at) >= 0
        if self.refused and axvisor_console.guest_printed(bytes(console[self.start:]),
                                                          BADFRAME.decode()):
            return "badframe"
        # The guest prints its markers a character at a time and a host interrupt can exit
        # between two of them: its log record then sits inside the marker (seen on riscv64:
        # `AXH:READY 0` + `IRQ: timer` + `0000000`). Once the end boundary exit is logged,
        # look for the marker with the records taken out.
        self.returned = self.returned or console.find(END_TEXT, at) >= 0
        if self.returned and axvisor_console.guest_printed(bytes(console[self.start:]),
                                                           self.done.decode()):
            return "done"
        # The line's watcher (a regular expression pass over the new bytes and 4 KiB more:
        # ~0.5 ms a call, a third of a program's harness time) only once a panic or an end
        # can be there; QEMU's SHUTDOWN event ends the run after a panic anyway.
        if console.find(b"anicked", at) >= 0 or any(
                console.find(m, at) >= 0 for m in axvisor_console.END_MARKERS):
            return axvisor_console.watch(console, new_from)
        return None

    def end(self, console: bytes) -> int:
        """Where the slice ends once 'done': after the AXH:DONE line; if a log record garbled
        that marker, where the next program's AXH:READY begins (the next program may have
        run already), else the console's end."""
        m = re.compile(rb"%s\r?\n" % self.done).search(console, self.start)
        if m is not None:
            return m.end()
        ready = console.find(b"AXH:READY %08x" % (self.n + 1), self.start)
        return ready if ready >= 0 else len(console)


# How far before the new bytes a multi-line boundary record may begin (one is ≈ 250 bytes).
RECORD_LOOKBACK = 1024


class RecordWatch:
    """SliceWatch for the text-free loader (the 0.8 line): 'done' once program n's end
    boundary record is complete, 'badframe' on its refused-frame record, or the line's own
    ending (a panic, the VM stopped)."""

    def __init__(self, start: int, n: int) -> None:
        self.start = start
        self.done = loader_record(NR_END, n)
        self.bad = loader_record(NR_BAD, n)

    def __call__(self, console: bytes | bytearray, new_from: int) -> str | None:
        at = max(self.start, new_from - RECORD_LOOKBACK)
        if self.done.search(console, at):
            return "done"
        if self.bad.search(console, at):
            return "badframe"
        if console.find(b"anicked", at) >= 0 or console.find(current_line.VM_STOPPED, at) >= 0:
            return current_line.watch(console, new_from)
        return None

    def end(self, console: bytes) -> int:
        """Where the slice ends once 'done': after the end boundary record."""
        m = self.done.search(console, self.start)
        return m.end() if m is not None else len(console)


class Boot:
    """A context manager: `start()` boots to the loader's first AXH:READY, `run(code)` runs one
    program. After any slice that did not end in AXH:DONE the boot is `dead`."""

    def __init__(self, image: Image, runtime_source: Path, profile: MachineProfile,
                 rundir: Path, *, timeout_scale: float = 1.0,
                 stop: signals.StopRequest | None = None) -> None:
        self.image = image
        # The 0.8 line's guest UART is emulated: there the loader prints nothing, and its
        # hypercalls, logged synchronously as AXH-EXIT records, delimit the programs.
        self.text = not is_current_line(image.axvisor_version)
        self.loader: Loader = build_loader(image, runtime_source, text=self.text)
        self.rundir = rundir
        rundir.mkdir(parents=True, exist_ok=True)
        self.kernel = rundir / image.kernel.name
        patch_image(image, BuiltPayload("", self.loader.code, ()), self.kernel)
        self.mailbox = Mailbox(profile.memory, self.loader)
        self.machine = QemuMachine(profile, self.kernel, rundir, timeout_scale=timeout_scale,
                                   stop=stop, extra_args=self.mailbox.qemu_args())
        self.next = 0  # the program number the loader waits for
        self.mark = 0  # console offset where the next slice begins
        self.dead = ""  # why no further program can run in this boot
        self.boot_s = 0.0
        self._paused = False
        self._queued: deque[tuple[int, int]] = deque()  # (n, crc) of each program submitted

    def __enter__(self) -> Boot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Boot; InfraError when the loader never reported ready (the caller falls back)."""
        t0 = time.monotonic()
        self.machine.launch()
        ready = (b"AXH:READY %08x" % 0)

        def watch(console: bytearray, new_from: int) -> str | None:
            if console.find(ready, max(0, new_from - len(ready))) >= 0:
                return "ready"
            at = console.find(GUEST_START)
            if at >= 0 and axvisor_console.guest_printed(bytes(console[at:]), ready.decode()):
                return "ready"  # a log record landed inside the marker (interrupt exit)
            return axvisor_console.watch(console, new_from)

        ready_record = loader_record(NR_READY)

        def watch_record(console: bytearray, new_from: int) -> str | None:
            if ready_record.search(console, max(0, new_from - RECORD_LOOKBACK)):
                return "ready"
            return current_line.watch(console, new_from)

        run = self.machine.run_until(watch if self.text else watch_record)
        if run.ending is not Ending.WATCHER or run.detail != "ready":
            self.dead = f"the loader did not start: {run.ending.value}: {run.detail}"
            raise InfraError(self.dead)
        m = READY.search(run.console) if self.text else ready_record.search(run.console)
        self.mark = m.end() if m else len(run.console)
        key = self.image.key
        _PAGES[key] = self.mailbox.locate(_PAGES.get(key, ()))
        # Waiting 3 ms after each wake-up before reading (fewer reads over a boot's whole
        # log) costs a shared program more than it saves: measured per program, riscv64
        # size 4: 28-34 ms reading at once vs 44-48 ms; aarch64 size 8: 63-65 vs 72-106.
        self.machine.console_batch_s = 0.0
        self._pause()
        self.boot_s = time.monotonic() - t0

    def run(self, code: bytes) -> SliceRun:
        """One program: queued, then waited for."""
        self.submit(encode(code))
        return self.collect()

    def run_frame(self, frame: Frame) -> SliceRun:
        """`run` with the frame given (tests send corrupted ones)."""
        self.submit(frame)
        return self.collect()

    @property
    def queued(self) -> int:
        """Programs submitted and not collected yet."""
        return len(self._queued)

    def submit(self, frame: Frame) -> int:
        """Write a program to its mailbox slot: the loader runs it after those queued before
        it. At most SLOTS programs are queued at a time (a slot is reused two programs
        later); returns the program's number."""
        if self.dead:
            raise InfraError(f"persistent boot is unusable: {self.dead}")
        if len(self._queued) >= SLOTS:
            raise InfraError(f"persistent boot: {SLOTS} programs are queued already")
        n = self.next + len(self._queued)
        try:
            self.mailbox.write(frame, n)
            self._queued.append((n, frame.crc))
            self._resume()
        except HarnessError:
            self.dead = "the machine failed while queueing a program"
            raise
        return n

    def collect(self) -> SliceRun:
        """Wait for the oldest queued program's AXH:DONE and return its slice. With nothing
        left queued the vCPUs are stopped until the next submit."""
        if not self._queued:
            raise InfraError("persistent boot: no program is queued")
        n, crc = self._queued.popleft()
        t0 = time.monotonic()
        start = self.mark
        try:
            if self.dead:
                raise InfraError(f"persistent boot is unusable: {self.dead}")
            watch: SliceWatch | RecordWatch = SliceWatch(start, n) if self.text else \
                RecordWatch(start, n)
            run = self.machine.run_until(watch, since=t0)
        except HarnessError:
            self.dead = self.dead or "the machine failed while running a program"
            raise
        console = run.console
        ok = run.ending is Ending.WATCHER and run.detail == "done"
        if ok:
            end = watch.end(console)
            self.next, self.mark = n + 1, end
            if not self._queued:
                self._pause()
        else:
            end = len(console)
            self.dead = f"program {n}: {run.ending.value}: {run.detail}"
        bad = run.ending is Ending.WATCHER and run.detail == "badframe"
        return SliceRun(n, crc, console[start:end], start, end,
                        None if ok else f"{run.ending.value}: {run.detail}", bad,
                        time.monotonic() - t0)

    def _pause(self) -> None:
        """Stop the vCPUs while the harness judges: the loader waits for the next frame by
        polling memory, which under TCG takes a whole host core from the harness, the other
        job and everyone else on the machine (riscv64 fuzzing gained nothing from -j 2 while
        the loaders spun; paused, the same within noise at -j 2). QEMU's virtual clock stops
        with them, so the guest sees no jump."""
        if self.machine.qmp is None:
            raise InfraError("persistent boot: QMP is gone")
        self.machine.qmp.command("stop")
        self._paused = True

    def _resume(self) -> None:
        if self._paused and self.machine.qmp is not None:
            self.machine.qmp.command("cont")
            self._paused = False

    def close(self) -> None:
        try:
            self.machine.stop()
        finally:
            self.mailbox.close()
