"""harness.signals: the first SIGINT/SIGTERM is recorded and, where work polls nothing, raised;
a second one asks for haste without raising, so a clean-up under way completes; the previous
handlers come back afterwards."""

from __future__ import annotations

import os
import signal

import pytest

from harness import signals
from harness.errors import Interrupted


def test_the_first_signal_raises_interrupted_with_its_exit_status() -> None:
    with signals.handled() as stop, pytest.raises(Interrupted) as info:
        os.kill(os.getpid(), signal.SIGTERM)
    assert info.value.exit_code == 143 and str(info.value) == "interrupted by SIGTERM"
    assert stop.requested and stop.name == "SIGTERM" and not stop.hard.is_set()


def test_a_deferred_signal_is_only_recorded_and_a_second_asks_for_haste() -> None:
    seen: list[int] = []
    with signals.handled(on_signal=seen.append) as stop:
        with stop.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.requested and not stop.hard.is_set()
            os.kill(os.getpid(), signal.SIGINT)
        assert stop.hard.is_set() and stop.exit_code == 130
        with pytest.raises(Interrupted), stop.raising():  # already requested: raised at once
            pass
    assert seen == [signal.SIGINT, signal.SIGINT]


def test_a_second_signal_never_raises_even_where_the_first_would() -> None:
    with signals.handled() as stop:
        with pytest.raises(Interrupted):
            os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)  # the clean-up after the first goes on
        assert stop.name == "SIGINT" and stop.hard.is_set()


def test_the_previous_handlers_and_stop_request_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    outer = signals.current()
    with signals.handled() as stop:
        assert signals.current() is stop and signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before and signals.current() is outer
    assert not outer.requested


def test_a_signal_a_worker_thread_receives_is_handled_while_the_main_thread_waits() -> None:
    """Python runs handlers in the main thread only: blocked on a future (fut.result()), it
    ran the handler only when the worker finished; wait_all wakes up to run it."""
    import signal as _signal
    import threading as _threading
    import time as _time
    from concurrent.futures import ThreadPoolExecutor

    from harness.signals import wait_all

    got: list[float] = []
    old = _signal.signal(_signal.SIGUSR1, lambda s, f: got.append(_time.monotonic()))
    try:
        def work() -> bool:
            _time.sleep(0.3)  # the main thread is blocked waiting by now
            _signal.pthread_kill(_threading.get_ident(), _signal.SIGUSR1)  # to this worker
            t0 = _time.monotonic()
            while not got and _time.monotonic() - t0 < 3:
                _time.sleep(0.01)
            return bool(got)

        with ThreadPoolExecutor(max_workers=1) as pool:
            assert wait_all([pool.submit(work)], poll_s=0.05) == [True]
    finally:
        _signal.signal(_signal.SIGUSR1, old)
