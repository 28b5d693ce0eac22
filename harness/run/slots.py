"""`-j N`: how many cases may keep a host core busy at once, and its one exception.

A declared hang ends only after its quiet window (6 s under TCG, harness.run.watchers) in which
the harness does nothing but wait. Where QEMU is idle meanwhile (measured over the wait:
riscv64-0.8's parked hart 0.0 cores, x86 `hlt` 0.06, riscv64 0.5's 0.11; but axvisor 0.3's idle
log on aarch64 1.0) holding a job slot for it only keeps the next case from starting. Such a case
gives its slot back once its vCPU has been quiet for `QUIET_S` and QEMU used less than
`IDLE_CORES` over the last `SAMPLE_S`; it then runs to its end as before. The suite's pool has
a thread more for each case that may do so, and every case takes a slot to start.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from harness import signals

T = TypeVar("T")
R = TypeVar("R")

QUIET_S = 1.0  # the parked vCPU's quiet time before its slot may go
SAMPLE_S = 1.0  # the CPU use is measured over this long
IDLE_CORES = 0.25  # at most this much of a core: idle enough to run beside another case
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class JobSlots:
    """A counting semaphore of job slots, held per thread: `held()` around one task, and
    `give_back()` from inside it (at most once; the task then ends without releasing)."""

    def __init__(self, n: int) -> None:
        self._sem = threading.Semaphore(max(1, n))
        self._local = threading.local()
        self.given_back = 0

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._sem.acquire()
        self._local.held = True
        try:
            yield
        finally:
            if self._local.held:
                self._local.held = False
                self._sem.release()

    def give_back(self) -> bool:
        """Release this thread's slot now; False when it holds none (or gave it back)."""
        if not getattr(self._local, "held", False):
            return False
        self._local.held = False
        self.given_back += 1
        self._sem.release()
        return True


def run_in_order(items: Sequence[T], fn: Callable[[T], R], jobs: int, lenders: int
                 ) -> list[R]:
    """`fn` of every item on `jobs` slots and `jobs + lenders` threads, the items started in
    their order: a thread takes a slot first, then the next item (threads blocked on a
    semaphore are not woken in order: the items behind them would overtake them). The results
    in the items' order; `give_back` works inside `fn`."""
    job_slots = JobSlots(jobs)
    queue = deque(enumerate(items))
    taken = threading.Lock()

    def next_item() -> tuple[int, R]:
        with job_slots.held():
            with taken:
                i, item = queue.popleft()
            return i, fn(item)

    with using(job_slots), ThreadPoolExecutor(max_workers=max(1, jobs) + lenders) as pool:
        done = dict(signals.wait_all([pool.submit(next_item) for _ in items]))
    return [done[i] for i in range(len(items))]


_active: JobSlots | None = None


@contextlib.contextmanager
def using(slots: JobSlots) -> Iterator[JobSlots]:
    """Make `slots` the ones `give_back` acts on (the suite's, while it runs)."""
    global _active
    before, _active = _active, slots
    try:
        yield slots
    finally:
        _active = before


def give_back() -> bool:
    return _active.give_back() if _active is not None else False


def cpu_seconds(pid: int) -> float | None:
    """user + system CPU time of `pid` (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


class IdleLender:
    """run_until's tick for a declared hang: gives the job slot back once the vCPU is quiet
    (`quiet_s()`) and the QEMU process `pid` idle. `gave_back_after_s`: when, else None."""

    def __init__(self, pid: int, quiet_s: Callable[[], float],
                 cpu: Callable[[int], float | None] = cpu_seconds,
                 lend: Callable[[], bool] = give_back) -> None:
        self.pid, self.quiet_s, self.cpu, self.lend = pid, quiet_s, cpu, lend
        self.started = time.monotonic()
        self._sample: tuple[float, float] | None = None  # (when, CPU seconds)
        self.gave_back_after_s: float | None = None

    def __call__(self) -> None:
        if self.gave_back_after_s is not None or self.quiet_s() < QUIET_S:
            self._sample = None  # a sample counts from the quiet time on
            return
        now, used = time.monotonic(), self.cpu(self.pid)
        if used is None:
            return
        if self._sample is None:
            self._sample = (now, used)
            return
        then, before = self._sample
        if now - then < SAMPLE_S:
            return
        if (used - before) / (now - then) < IDLE_CORES and self.lend():
            self.gave_back_after_s = round(now - self.started, 2)
            return
        self._sample = (now, used)
