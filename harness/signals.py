"""SIGINT and SIGTERM turned into an orderly stop, so that no child (QEMU, cargo) outlives the
harness and the results of finished work are still written.

The first signal is recorded in the current `StopRequest` and sets its event, which runners
poll: a running QEMU is stopped (case verdict `interrupted`), no new case starts. Inside a
`raising()` block it also raises `Interrupted` in the main thread, for work that polls nothing
(a download, a cargo build: images.build._run kills cargo's process group on the way out). A
second signal asks for haste (`hard`: machines are killed without the QMP `quit`) but raises
nothing, so the clean-up already under way completes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, wait
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

from harness.errors import Interrupted, signal_name

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Whether, and by which signal, the process was asked to stop."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.hard = threading.Event()  # a second signal: skip the polite steps
        self.signum = 0
        self._raising = False

    @property
    def requested(self) -> bool:
        return self.event.is_set()

    @property
    def name(self) -> str:
        return signal_name(self.signum) if self.signum else ""

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def request(self, signum: int) -> bool:
        """Record `signum`; True if this is the first request."""
        if self.event.is_set():
            self.hard.set()
            return False
        self.signum = signum
        self.event.set()
        return True

    @contextmanager
    def raising(self) -> Iterator[None]:
        """Within this block the first signal raises Interrupted in the main thread (raised at
        once if it already came)."""
        before, self._raising = self._raising, True
        try:
            if self.requested:
                raise Interrupted(self.signum)
            yield
        finally:
            self._raising = before

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Within this block a signal is only recorded (for code that polls `requested`)."""
        before, self._raising = self._raising, False
        try:
            yield
        finally:
            self._raising = before


_current = StopRequest()


def current() -> StopRequest:
    """The stop request of the innermost `handled()` block (a never-set one outside)."""
    return _current


@contextmanager
def handled(*, on_signal: Callable[[int], None] | None = None) -> Iterator[StopRequest]:
    """Install SIGINT/SIGTERM handlers (main thread only; elsewhere a no-op) feeding a fresh
    StopRequest, which starts in raising mode; `on_signal` also runs on every signal (e.g. to
    pass it on to worker processes). The previous handlers are restored on exit."""
    global _current
    stop = StopRequest()
    stop._raising = True
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        first = stop.request(signum)
        if on_signal is not None:
            on_signal(signum)
        if first and stop._raising:
            raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    outer, _current = _current, stop
    try:
        yield stop
    finally:
        _current = outer
        # After a stop request the process is on its way out with 128 + signum: a second
        # signal arriving now (a double Ctrl-C) must not turn that into death by signal.
        for s, h in previous.items():
            signal.signal(s, signal.SIG_IGN if stop.requested else h)


def wait_all(futures: Sequence[Future[T]], poll_s: float = 0.2) -> list[T]:
    """Each future's result, in order, waiting in slices of `poll_s`: Python runs signal
    handlers in the main thread only, between bytecodes, and a signal the kernel hands to a
    worker thread does not wake a main thread blocked on a future (seen: SIGINT to a fuzz run
    recorded only when its workers had run all 5,000 programs, 99 s later)."""
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=poll_s)
    return [f.result() for f in futures]
