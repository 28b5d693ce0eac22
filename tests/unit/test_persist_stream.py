"""PersistentRunner.run_stream against a fake boot (no QEMU): one result per case, in order,
each judged from its own program's slice or on a boot of its own, whatever fails when —
boots that do not start, frames refused, collects that fail, slices that end badly, programs
not accepted, an exception in the middle of a stream, a reader that stops early."""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.check.verdict import Verdict
from harness.errors import InfraError, UsageError
from harness.persist import policy
from harness.persist import runner as runner_mod
from harness.persist.frame import Frame, crc32
from harness.persist.runner import PersistentRunner, Stats
from harness.persist.session import SliceRun


@dataclass
class World:
    """What the fake boots do: failure probabilities and a log of every boot."""

    seed: int
    p: dict[str, float]
    boots: list[FakeBoot] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def roll(self, what: str) -> bool:
        return self.rng.random() < self.p.get(what, 0.0)


class FakeBoot:
    """A fake of harness.persist.session.Boot: a queue of (n, crc), failures on demand."""

    world: World

    def __init__(self, image: Any, source: Any, profile: Any, rundir: Path, **_: Any) -> None:
        self.rundir, self.kernel = rundir, rundir / "kernel"
        self.loader = SimpleNamespace(program_max=1 << 20)
        self.dead, self.next, self.closed = "", 0, False
        self.queue: list[tuple[int, int]] = []
        self.world.boots.append(self)

    def start(self) -> None:
        if self.world.roll("start_fail"):
            raise InfraError("the loader did not start")

    def submit(self, frame: Frame) -> int:
        assert not self.closed, "submit to a closed boot"
        assert len(self.queue) < 2, "a third program queued"
        if self.dead or self.world.roll("submit_fail"):
            self.dead = "submit"
            raise InfraError("submit failed")
        n = self.next + len(self.queue)
        self.queue.append((n, frame.crc))
        return n

    def collect(self) -> SliceRun:
        assert not self.closed, "collect on a closed boot"
        n, crc = self.queue.pop(0)
        if self.dead or self.world.roll("collect_fail"):
            self.dead = "collect"
            raise InfraError("collect failed")
        bad = self.world.roll("slice_bad")
        self.dead = "slice" if bad else ""
        self.next = n + (0 if bad else 1)
        return SliceRun(n, crc, b"", 0, 0, "watchdog: x" if bad else None, False, 0.0)

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class FakeScenario:
    name: str

    @property
    def actions(self) -> str:
        return self.name

    def for_image(self, recipe: str) -> FakeScenario:
        return self


def _runner(monkeypatch: pytest.MonkeyPatch, world: World, every: int = 200) -> Any:
    """A PersistentRunner without __init__ (no image, no recipe): its cases are fakes too."""
    FakeBoot.world = world
    monkeypatch.setattr(runner_mod, "Boot", FakeBoot)
    monkeypatch.setattr(runner_mod, "build_payload",
                        lambda image, actions, *a: SimpleNamespace(code=actions.encode()))
    monkeypatch.setattr(policy, "scenario_allows", lambda sc: policy.Decision(
        not sc.name.startswith("alone"), "alone" if sc.name.startswith("alone") else ""))

    def result(self: PersistentRunner, sc: Any, payload: Any, sl: SliceRun, boot: Any,
               casedir: Path, started: float) -> Any:
        casedir.mkdir(parents=True, exist_ok=True)
        return SimpleNamespace(name=sc.name, how="shared", ok=sl.ended is None,
                               own=sl.crc == crc32(payload.code), verdict=Verdict.PASS)

    monkeypatch.setattr(PersistentRunner, "_result", result)
    r: Any = object.__new__(PersistentRunner)
    r.image = SimpleNamespace()
    r.recipe = SimpleNamespace(name="fake", guest=SimpleNamespace(source=Path("/x"), entry=""),
                               backend="")
    # its own temporary directory (as root, /nonexistent/boots was made)
    r.profile, r.workdir = None, Path(tempfile.mkdtemp(prefix="axh-persist-stream-")) / "boots"
    r.standalone = lambda sc, d: SimpleNamespace(name=sc.name, how="standalone", own=True,
                                                 verdict=Verdict.PASS)
    r.accept = lambda sc, res: res.ok and not world.roll("reject")
    r.timeout_scale, r.every, r.stats, r.keep_boots = 1.0, every, Stats(), True
    r.kit, r.worker, r.allowed = False, 0, policy.Decision(True, "")
    r._boot, r._boots, r._in_boot = None, 0, 0
    return r


def _items(tmp_path: Path, names: list[str]) -> list[tuple[Any, Path]]:
    return [(FakeScenario(n), tmp_path / n) for n in names]


FAILURES = [{}, {"reject": 0.3}, {"start_fail": 0.3}, {"submit_fail": 0.2},
            {"collect_fail": 0.2}, {"slice_bad": 0.2},
            {"reject": 0.2, "start_fail": 0.2, "submit_fail": 0.1, "collect_fail": 0.1,
             "slice_bad": 0.1}]


@pytest.mark.parametrize("failures", FAILURES, ids=lambda f: "+".join(f) or "none")
@pytest.mark.parametrize("every", [1, 2, 3, 200])
def test_every_case_gets_one_result_in_order_from_its_own_slice(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, failures: dict[str, float],
        every: int) -> None:
    for seed in range(25):
        world = World(seed, failures)
        r = _runner(monkeypatch, world, every)
        rng = random.Random(seed)
        names = [("alone" if rng.random() < 0.15 else "p") + f"{i}" for i in range(25)]
        out = list(r.run_stream(_items(tmp_path, names)))
        assert [o.name for o in out] == names, (seed, failures)
        assert all(o.own for o in out), (seed, failures)
        assert all(b.closed or b is r._boot for b in world.boots)


def test_a_program_left_queued_by_an_exception_is_never_the_next_programs_slice(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The suite marks the failing case INFRA and streams the rest on the same runner: the
    boot must not hand the next program the slice of one queued before the exception."""
    r = _runner(monkeypatch, World(0, {}))
    good: Any = vars(runner_mod)["build_payload"]  # the fake that _runner put there

    def payload(image: Any, actions: str, *a: Any) -> Any:
        if actions == "bad":
            raise UsageError("cannot assemble")
        return good(image, actions, *a)

    monkeypatch.setattr(runner_mod, "build_payload", payload)
    with pytest.raises(UsageError):
        list(r.run_stream(_items(tmp_path, ["a", "bad"])))
    after: Any
    (after,) = r.run_stream(_items(tmp_path, ["d"]))
    assert after.own


def test_boots_that_refuse_every_frame_end_in_one_standalone_run_per_case(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    world = World(0, {"submit_fail": 1.0})
    r = _runner(monkeypatch, world)
    out = list(r.run_stream(_items(tmp_path, ["p0", "p1", "p2"])))
    assert [(o.name, o.how) for o in out] == [("p0", "standalone"), ("p1", "standalone"),
                                               ("p2", "standalone")]
    assert len(world.boots) <= 3


def test_a_reader_that_stops_early_leaves_nothing_queued(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    world = World(0, {})
    r = _runner(monkeypatch, world)
    stream = r.run_stream(_items(tmp_path, ["p0", "p1", "p2", "p3"]))
    next(stream)  # p0 judged; p1 and p2 queued in the boot
    stream.close()
    assert r._boot is None and world.boots[0].closed
