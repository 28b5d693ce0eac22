"""Job slots (harness.run.slots): a declared hang's quiet window gives its slot back only when
its QEMU is idle, once, and the task never releases a slot twice."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable

import pytest

from harness.run import slots
from harness.run.slots import IdleLender, JobSlots, cpu_seconds, run_in_order


def test_a_slot_given_back_lets_the_next_task_start_and_is_not_released_twice() -> None:
    js = JobSlots(1)
    started = threading.Event()

    def second() -> None:
        with js.held():
            started.set()

    with js.held():
        t = threading.Thread(target=second)
        t.start()
        assert not started.wait(0.2)  # one slot: the second task waits
        assert js.give_back() and not js.give_back()
        assert started.wait(2)
    t.join(2)
    # both tasks are done: exactly one slot is free again, not two
    assert js._sem.acquire(blocking=False) and not js._sem.acquire(blocking=False)


def test_giving_back_outside_a_held_slot_or_outside_a_suite_does_nothing() -> None:
    js = JobSlots(2)
    assert not js.give_back()
    assert not slots.give_back()
    with slots.using(js), js.held():
        assert slots.give_back()
    assert js.given_back == 1


def recorder(lent: list[bool]) -> Callable[[], bool]:
    def lend() -> bool:
        lent.append(True)
        return True
    return lend


class FakeClock:
    """Monotonic time the test moves by hand (a fake for this module's test only)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        monkeypatch.setattr(time, "monotonic", lambda: self.now)


def test_a_quiet_idle_qemu_gives_its_slot_back(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    cpu = {"s": 5.0}
    lent: list[bool] = []
    quiet = {"s": 0.0}
    lender = IdleLender(42, lambda: quiet["s"], lambda pid: cpu["s"], recorder(lent))
    for _ in range(8):  # the vCPU still makes exits: nothing happens
        clock.now += 0.5
        lender()
    quiet["s"] = 1.5
    lender()  # the first sample
    clock.now += 1.2
    cpu["s"] += 0.06  # 0.05 cores
    lender()
    assert lent == [True] and lender.gave_back_after_s == pytest.approx(5.2)
    lender()
    assert lent == [True]  # once


def test_a_busy_qemu_keeps_its_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """aarch64's axvisor 0.3 logs from its idle task: a whole core while the vCPU is parked."""
    clock = FakeClock(monkeypatch)
    cpu = {"s": 0.0}
    lent: list[bool] = []
    lender = IdleLender(42, lambda: 3.0, lambda pid: cpu["s"], recorder(lent))
    for _ in range(10):
        lender()
        clock.now += 0.5
        cpu["s"] += 0.5  # one core
    assert lent == [] and lender.gave_back_after_s is None


def test_items_start_in_their_order_even_when_slots_are_given_back() -> None:
    """Threads blocked on a semaphore are not woken in order: an item must not overtake the
    ones before it (seen: with 2 slots and 3 spare threads, items 2-4 started last)."""
    started: list[int] = []
    lock = threading.Lock()
    rng = random.Random(7)
    pauses = [rng.uniform(0, 0.01) for _ in range(40)]

    def fn(i: int) -> int:
        with lock:
            started.append(i)
        if i % 7 == 0:
            slots.give_back()  # a hang's quiet window: the next item may start now
        time.sleep(pauses[i])
        return i * i

    assert run_in_order(list(range(40)), fn, jobs=2, lenders=6) == [i * i for i in range(40)]
    assert started == list(range(40))


def test_a_processes_cpu_time_is_read_from_proc() -> None:
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    t = os.times()
    got = cpu_seconds(os.getpid())
    assert got is not None and abs(got - (t.user + t.system)) < 0.05
    assert cpu_seconds(2**22 + 12345) is None  # no such process


def test_a_sample_starts_again_when_the_vcpu_shows_a_sign(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """CPU spent while the vCPU still made exits does not count for the quiet window."""
    clock = FakeClock(monkeypatch)
    cpu = {"s": 0.0}
    quiet = {"s": 2.0}
    lent: list[bool] = []
    lender = IdleLender(42, lambda: quiet["s"], lambda pid: cpu["s"], recorder(lent))
    lender()  # a first sample at CPU 0
    quiet["s"] = 0.0  # a sign: the window restarts
    clock.now += 0.5
    lender()
    quiet["s"] = 2.0
    cpu["s"] = 10.0  # busy while it was not quiet
    lender()  # a new first sample
    clock.now += 1.1
    cpu["s"] += 0.05
    lender()
    assert lent == [True]
