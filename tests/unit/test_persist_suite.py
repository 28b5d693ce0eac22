"""How the suite hands its cases to the pool in persistent mode (harness.run.suite)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from harness.run.suite import persistent_tasks, waits_first
from harness.scenarios import aarch64 as sc_a64
from harness.scenarios.actions import Hypercall, MmioStore, SystemOff
from harness.scenarios.catalogue import Scenario


def _item(recipe: str, version: str, scenario: Scenario, exit_log: str = "trace") -> Any:
    return (SimpleNamespace(name=recipe),
            SimpleNamespace(arch="aarch64", axvisor_version=version, exit_log=exit_log),
            scenario)


def _shareable(i: int) -> Scenario:
    return Scenario(f"s{i}", "aarch64", "", (MmioStore(sc_a64.DEV + 8 * (i % 32), 8, i),))


def test_shareable_cases_are_grouped_per_image_and_the_rest_run_alone() -> None:
    off = Scenario("off", "aarch64", "", (SystemOff(),))
    work = [_item("aarch64", "0.3.0-preview.2", _shareable(i)) for i in range(20)]
    work.insert(5, _item("aarch64", "0.3.0-preview.2", off))
    # an image whose exit log may drop records: alone
    work.append(_item("aarch64-0.8-lossy", "0.8.2", _shareable(99), "lossy-trace"))
    work += [_item("aarch64-0.8", "0.8.2", _shareable(i)) for i in range(100, 103)]
    tasks = persistent_tasks(cast(Any, work), jobs=2)
    shared = [t for t in tasks if t[0]]
    alone = [t for t in tasks if not t[0]]
    assert len(shared) == 3  # 20 cases, 2 jobs: two boots side by side; the 0.8 image's own
    assert sorted(s.name for t in shared for _, _, s in t[1]) == sorted(
        [f"s{i}" for i in range(20)] + ["s100", "s101", "s102"])
    assert {r.name for t in shared for r, _, _ in t[1]} == {"aarch64", "aarch64-0.8"}
    assert [[s.name for _, _, s in t[1]] for t in alone] == [["off"], ["s99"]]
    assert tasks.index(shared[0]) < tasks.index(alone[0])  # the long-lived boots start first


def test_a_few_shareable_cases_share_one_boot() -> None:
    work = [_item("aarch64", "0.3.0-preview.2",
                  Scenario(f"h{i}", "aarch64", "", (Hypercall(0x1_0000 + i, (0,) * 6),)))
            for i in range(5)]
    tasks = persistent_tasks(cast(Any, work), jobs=2)
    assert [(t[0], len(t[1])) for t in tasks] == [(True, 5)]


def test_cases_that_end_on_a_declared_wait_start_first() -> None:
    """A 6 s hang window started last is the whole run's tail."""
    hang = Scenario("hang", "aarch64", "", (SystemOff(),), expect_hang=True)
    stuck = Scenario("stuck", "aarch64", "", (SystemOff(),), expect_stuck="VM[1] stuck")
    off = Scenario("off", "aarch64", "", (SystemOff(),))
    work = [_item("aarch64", "0.3.0-preview.2", sc) for sc in
            (_shareable(0), off, hang, _shareable(1), stuck)]
    tasks = waits_first(persistent_tasks(cast(Any, work), jobs=2))
    assert [(t[0], [s.name for _, _, s in t[1]]) for t in tasks] == [
        (False, ["hang"]), (False, ["stuck"]), (True, ["s0", "s1"]), (False, ["off"])]
