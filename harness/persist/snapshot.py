"""Cases that must run alone, started from a saved VM instead of a boot.

A case whose declared end ends the VM, parks a vCPU or panics axvisor cannot share a boot
(harness.persist.policy), but it need not pay for one either. Once per image, a persistent-mode
boot runs to its loader's ready point and is saved: the device state through QMP `migrate`
with `x-ignore-shared` (0.2-0.6 MB: the guest memory is the shared RAM file and is copied
separately, holes kept). Each case then starts a QEMU with `-incoming defer` from a copy of that
memory, writes its own payload into the loader's mailbox as a **one-shot** frame, and lets it
run: the loader starts it exactly as the runtime starts a standalone payload (every register
restored), and if the program returns, the loader returns to the runtime, which ends the run
as after a standalone payload (end marker, power-off). The console is the saved boot's output
followed by the restored machine's, so the case is judged by the standalone judge
(harness.run.case) with the loader's own exits taken out: its ready hypercall and the
program's two boundary hypercalls (`loader_records`).

Measured (bench/probe_snapshot.py): a restore takes 39-70 ms, QEMU's start included, where a
boot to the same point takes 0.26-0.69 s.

Not everything of a machine survives QEMU 10.0's migration: the **hypervisor's own timer**
does not. A riscv64 hart's `stimecmp` is restored without arming the timer behind it (the
`cpu/timer` vmstate subsection, target/riscv/machine.c `vmstate_sstc`, came upstream later),
and of aarch64's generic timers only the EL1 physical and virtual ones are migrated as running
timers (target/arm/machine.c: `gt_timer[GTIMER_PHYS]`, `[GTIMER_VIRT]`), not EL2's, on which
axvisor runs. A restored axvisor never gets a host tick until it reprograms its timer itself.
Seen: riscv64-0.8 amo-swap-w-at-device (axvisor's log task was never scheduled again, the
declared stuck VM's warning never came: 179,218 exits in a minute, no log line) and
aarch64-emu-irq timer-interrupt-wakes-wfi (axvisor emulates the guest timer with a software
timer behind its host timer: after the guest's `msr cntp_ctl_el0` the console went silent, 12
restores of one snapshot out of 12; another snapshot passed, depending on whether the guest's
deadline made axvisor reprogram its timer). Hence a scenario that waits for an interrupt,
declares asynchronous exits, or declares an end that is a silence (a hang, a stuck VM) always
boots (`scenario_allows`), on both architectures. What is left runs without needing a host
tick; a restored case judged anything but pass/xfail is run again on a real boot, whose
verdict is the case's (harness.run.suite).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import signals
from harness.errors import HarnessError, InfraError
from harness.guests.payload import BuiltPayload
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.model.exits import Hypercall
from harness.parse import ExitRecord
from harness.persist.frame import NR_END, NR_READY, NR_START, encode
from harness.persist.loader import Loader
from harness.persist.mailbox import Mailbox
from harness.persist.policy import Decision, fits, image_allows
from harness.persist.session import Boot
from harness.qemu.incoming import Incoming, save_state
from harness.qemu.profiles import MachineProfile
from harness.run.watchers import declared_waits
from harness.scenarios.actions import WaitForInterrupt
from harness.scenarios.catalogue import Scenario


def scenario_allows(scenario: Scenario) -> Decision:
    """Whether `scenario` may start from a snapshot: not when it waits for an interrupt
    (a timer's, through axvisor's own timer), declares asynchronous exits, or declares an end
    that is a silence (a parked vCPU, a stuck VM): without a host tick a restored axvisor is
    silent by construction, and a bug that shows only on a tick would pass."""
    ends = declared_waits(scenario)
    if ends:
        return Decision(False, f"declares {', '.join(ends)}: a silence a restore cannot vouch "
                               "for (no host tick)")
    if any(isinstance(a, WaitForInterrupt) for a in scenario.actions):
        return Decision(False, "waits for an interrupt: axvisor's own timer is not restored")
    if scenario.expect_async:
        return Decision(False, "declares asynchronous exits")
    return Decision(True, "")


def host_allows(image: Image, recipe: ImageRecipe) -> Decision:
    """Whether a case of `image` may start from a snapshot: the image must allow the loader
    (policy.image_allows) with one vCPU."""
    allowed = image_allows(image)
    if not allowed.persistent:
        return allowed
    if len(recipe.guest.phys_cpu_ids) != 1:
        # Seen on aarch64-smp: the second CPU's trace log garbles the loader's ready marker
        # and the snapshot's boot waited for its whole timeout.
        return Decision(False, "more than one vCPU: the loader's markers are not reliable")
    return Decision(True, "")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One image's VM saved at its loader's ready point."""

    kernel: Path  # the loader-patched image the saved VM booted (the restored QEMU runs it)
    ram_fd: int  # its guest memory: an unnamed sparse file (Mailbox.save)
    state: Path  # its device state
    console: bytes  # what it printed up to the save
    pages: tuple[int, ...]  # the mailbox pages in `ram`
    loader: Loader
    memory: str  # QEMU's -m
    boot_s: float
    save_s: float


# A boot to the loader takes 0.2-1.5 s: the snapshot's boot gives up at a quarter of a case's
# timeout (30 s under TCG) and the image's cases boot instead, rather than every one of them
# waiting for it.
SNAPSHOT_TIMEOUT_SCALE = 0.25
SAVE_LIMIT_S = 30.0  # saving takes 10-15 ms


def take(image: Image, runtime_source: Path, profile: MachineProfile, workdir: Path, *,
         timeout_scale: float = 1.0) -> Snapshot:
    """Boot `image` with the loader to its ready point and save it under `workdir` (guest
    memory in RAM-backed storage when there is room). InfraError when it cannot."""
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    boot = Boot(image, runtime_source, profile, workdir / "boot",
                timeout_scale=timeout_scale * SNAPSHOT_TIMEOUT_SCALE, stop=signals.current())
    try:
        boot.start()  # leaves the vCPUs stopped at the loader's wait
        boot_s = time.monotonic() - t0
        qmp = boot.machine.qmp
        if qmp is None:
            raise InfraError("snapshot: QMP is gone")
        t1 = time.monotonic()
        state = workdir / "state"
        save_state(qmp, state, SAVE_LIMIT_S, lambda: signals.current().requested)
        kernel = workdir / image.kernel.name
        try:
            shutil.copyfile(boot.kernel, kernel)
        except OSError as exc:
            raise InfraError(f"snapshot of {image.recipe}: {exc}") from exc
        boot.machine.settle_console()  # what the guest printed before the vCPUs stopped
        ram_fd = boot.mailbox.save()
        return Snapshot(kernel, ram_fd, state, boot.machine.console,
                        boot.mailbox.pages, boot.loader, profile.memory, boot_s,
                        time.monotonic() - t1)
    finally:
        boot.close()


@dataclass(slots=True)
class Restore:
    """One case's start from a snapshot: the machine's `incoming` and the RAM file it uses
    (closed by the caller once the machine is stopped)."""

    incoming: Incoming
    mailbox: Mailbox
    crc: int
    prefix_lines: int  # console lines that came from the saved boot
    snapshot: Snapshot

    def close(self) -> None:
        self.mailbox.close()


def restore(snap: Snapshot, payload: BuiltPayload) -> Restore:
    """The payload as program 0 of a copy of `snap`, one-shot (the loader returns to the
    runtime after it)."""
    box = Mailbox.copy_of(snap.memory, snap.loader, snap.ram_fd, snap.pages)
    frame = encode(payload.code)

    def prepare() -> None:
        box.write(frame, 0, oneshot=True)

    inc = Incoming(snap.kernel, box.qemu_args(), snap.state, snap.console, prepare)
    return Restore(inc, box, frame.crc, snap.console.count(b"\n"), snap)


def loader_records(records: Sequence[ExitRecord], prefix_lines: int, crc: int
                   ) -> frozenset[int]:
    """ids of the loader's own exits in a restored run's records: its ready hypercall in the
    saved boot's console, and after the restore the first start boundary of program 0 with
    this CRC and the first end boundary after it. Everything else is the case's (or the
    runtime's, as in a standalone run)."""
    want = (0, crc, 0, 0, 0, 0)
    out: set[int] = set()
    started = ended = False
    for rec in records:
        e = rec.exit
        if not isinstance(e, Hypercall):
            continue
        if e.nr == NR_READY and rec.first_line <= prefix_lines + 1:
            out.add(id(rec))
        elif rec.first_line <= prefix_lines:
            continue
        elif not started and e.nr == NR_START and tuple(e.args) == want:
            out.add(id(rec))
            started = True
        elif started and not ended and e.nr == NR_END and tuple(e.args) == want:
            out.add(id(rec))
            ended = True
    return frozenset(out)


class Snapshots:
    """Snapshots taken on first use, one per image, shared by the suite's workers; an image
    whose snapshot cannot be taken boots each case (`get` says why)."""

    def __init__(self, timeout_scale: float = 1.0) -> None:
        self.timeout_scale = timeout_scale
        self._dir = Path(tempfile.mkdtemp(prefix="axh-snapshots-"))
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._taken: dict[str, Snapshot | str] = {}

    def get(self, image: Image, recipe: ImageRecipe, profile: MachineProfile
            ) -> Snapshot | str:
        """The image's snapshot, or why there is none."""
        allowed = host_allows(image, recipe)
        if not allowed.persistent:
            return allowed.why
        with self._lock:
            lock = self._locks.setdefault(image.key, threading.Lock())
        with lock:
            got = self._taken.get(image.key)
            if got is None:
                try:
                    got = take(image, recipe.guest.source, profile,
                               self._dir / f"{image.recipe}-{len(self._taken)}",
                               timeout_scale=self.timeout_scale)
                except (HarnessError, OSError) as exc:
                    got = f"no snapshot: {exc}"
                self._taken[image.key] = got
            return got

    def restore_for(self, image: Image, recipe: ImageRecipe, profile: MachineProfile,
                    scenario: Scenario, payload: BuiltPayload) -> Restore | str:
        """A restore of the image's snapshot with `scenario`'s `payload`, or why the case
        boots."""
        allowed = scenario_allows(scenario)
        if not allowed.persistent:
            return allowed.why
        snap = self.get(image, recipe, profile)
        if isinstance(snap, str):
            return snap
        ok = fits(len(payload.code), snap.loader.program_max)
        if not ok.persistent:
            return ok.why
        try:
            return restore(snap, payload)
        except InfraError as exc:  # the case boots instead
            return str(exc)

    def close(self) -> None:
        """Drop every snapshot; the workers that used them are done."""
        with self._lock:
            for snap in self._taken.values():
                if isinstance(snap, Snapshot):
                    with contextlib.suppress(OSError):
                        os.close(snap.ram_fd)
            self._taken.clear()
        shutil.rmtree(self._dir, ignore_errors=True)
