"""Fuzz runs: N generated programs on one architecture's image, each judged like a conformance
case (reference model, known divergences), and every *new* way of failing shrunk with ddmin to
a minimal program written out as a standalone reproducer.

A generated program is in no entry's scenario list, so a known divergence explains one of its
diffs only when the action behind that exit is of the entry's `access` class (harness.check.access;
the action found by harness.fuzz.attribution) — one entry, or several of the same variant whose
fields together include the diff's (two reviewed causes in one access). Such an entry is never
stale for a random program that does not show it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import signals
from harness.check.compare import ExitDiff
from harness.check.known import KnownDivergence, load_known
from harness.check.verdict import Verdict
from harness.errors import HarnessError, InfraError, UsageError
from harness.fuzz import coverage
from harness.fuzz.attribution import exit_actions
from harness.fuzz.coverage import Combo
from harness.fuzz.generate import for_line, generate, make_scenario
from harness.fuzz.minimize import ddmin_indices
from harness.fuzz.program import write_program
from harness.fuzz.report import write_report_json
from harness.fuzz.shared_boots import SharedBoots, run_streams
from harness.fuzz.signature import Signature, judge
from harness.images.build import Image, build_image
from harness.images.recipe import ImageRecipe, find_recipes, load_recipe
from harness.persist.policy import image_allows
from harness.persist.runner import PersistentRunner, Stats
from harness.qemu.host import probe
from harness.qemu.profiles import get_profile
from harness.run.case import CaseResult, run_case
from harness.run.current_line import is_current_line
from harness.run.suite import KNOWN_FILE
from harness.scenarios.actions import Action
from harness.scenarios.catalogue import Scenario

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class FuzzOptions:
    arch: str
    seeds: Sequence[int]  # a range: never materialised
    size: int
    results_dir: Path
    cache: Path
    jobs: int = 1
    timeout_scale: float = 1.0
    minimise: bool = True
    recipe: str = ""  # empty: the architecture's default recipe
    keep_artifacts: bool = False
    # Many programs per boot where the image allows it (harness.persist); minimisation and
    # reproducers always run one boot per program.
    persistent: bool = True


@dataclass(frozen=True, slots=True)
class ProgramResult:
    seed: int
    scenario: Scenario
    case: CaseResult  # known divergences applied
    new_diffs: tuple[ExitDiff, ...]  # diffs no known divergence covers
    signature: Signature | None  # None: nothing new (pass, xfail) or infrastructure trouble
    combos: frozenset[Combo]

    @property
    def exits(self) -> int:
        """Exits checked, the runtime's and the loader's own marker hypercalls not counted
        (a persistent-mode slice has two per program, the 0.8 runtime two per boot)."""
        return sum(1 for o in self.case.observed if not o.get("runtime"))

    def line(self) -> str:
        return (f"seed {self.seed:<8} actions {len(self.scenario.actions):<3} exits "
                f"{self.exits:<3} {self.case.verdict.value:10} "
                + (self.signature.describe() if self.signature else self.case.detail))


@dataclass(frozen=True, slots=True)
class Finding:
    seed: int
    signature: Signature
    first_diff: ExitDiff | None
    detail: str
    original: Scenario
    minimal: Scenario
    program_file: Path
    command: str
    tests: int  # QEMU runs spent minimising
    reproduced: bool  # the minimal program, run once more, fails the same way
    case_dir: Path  # artifacts of that last run
    also_seeds: tuple[int, ...] = ()  # other programs of this run with the same signature


@dataclass(frozen=True, slots=True)
class FuzzReport:
    arch: str
    recipe: str
    axvisor: str
    size: int
    programs: tuple[ProgramResult, ...]
    findings: tuple[Finding, ...]
    run_seconds: float  # running the programs (without minimisation)
    total_seconds: float
    combos: frozenset[Combo]
    persist: dict[str, Any] | None = None  # harness.persist.runner.Stats, when on
    interrupted: str = ""  # the signal that stopped the run early ("" if it ran to the end)

    @property
    def exits(self) -> int:
        return sum(p.exits for p in self.programs)

    @property
    def infra(self) -> tuple[ProgramResult, ...]:
        return tuple(p for p in self.programs if p.case.verdict is Verdict.INFRA)

    def per_minute(self, n: int) -> float:
        return n * 60.0 / self.run_seconds if self.run_seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """0 nothing new; 2 a new finding; 3 only infrastructure trouble."""
        if self.findings or any(p.signature for p in self.programs):
            return 2
        return 3 if self.infra else 0


# -- the run --------------------------------------------------------------------------------------

def pick_recipe(root: Path, arch: str, name: str = "") -> ImageRecipe:
    """The named recipe, else the one named after the architecture, else its first by name."""
    recipes = {r.name: r for r in (load_recipe(p, root) for p in find_recipes(root))}
    if name:
        if name not in recipes:
            raise UsageError(f"no image recipe {name!r}; known: {', '.join(sorted(recipes))}")
        if recipes[name].arch != arch:
            raise UsageError(f"recipe {name!r} is for {recipes[name].arch}, not {arch}")
        return recipes[name]
    if arch in recipes:
        return recipes[arch]
    names = sorted(n for n, r in recipes.items() if r.arch == arch)
    if not names:
        raise UsageError(f"no image recipe for {arch} in images/recipes/")
    return recipes[names[0]]


def load_repo_known(root: Path) -> tuple[KnownDivergence, ...]:
    path = root / KNOWN_FILE
    return load_known(path) if path.is_file() else ()


def _slim(casedir: Path) -> None:
    """Drop the patched kernel copy (it is rebuilt from payload.S and the cached image)."""
    if casedir.is_dir():
        for heavy in casedir.glob("axvisor*"):
            if heavy.is_file():
                heavy.unlink()


class FuzzSession:
    """One image, its known divergences and a place for artifacts: runs and judges programs."""

    def __init__(self, root: Path, opts: FuzzOptions, log: Log = lambda m: None, *,
                 built: tuple[ImageRecipe, Image] | None = None,
                 known: tuple[KnownDivergence, ...] | None = None) -> None:
        """`built`: a recipe and its image already at hand (the pytest fixtures build them);
        `known`: divergences to apply instead of the repository's file."""
        if opts.jobs < 1 or opts.timeout_scale <= 0:
            raise UsageError("--jobs must be >= 1 and --timeout-scale > 0")
        self.opts = opts
        self.log = log
        self.known = load_repo_known(root) if known is None else known
        self.recipe = built[0] if built else pick_recipe(root, opts.arch, opts.recipe)
        self.profile = get_profile(self.recipe.qemu_profile)
        if built:
            self.image: Image = built[1]
            return
        why = probe().why_not(self.profile)
        if why:
            raise InfraError(f"cannot run {self.recipe.name} on this host: {why}")
        self.image = build_image(self.recipe, opts.cache, progress=log)

    # -- persistent mode (harness.persist) ----------------------------------------------------
    shared: SharedBoots | None = None
    _shared_lock = threading.Lock()  # one per class is enough: taken once per worker

    @property
    def stats(self) -> Stats | None:
        return self.shared.stats if self.shared else None

    def persistent_on(self) -> bool:
        """Whether programs share boots: asked for, and the image can (else one boot each)."""
        if not self.opts.persistent:
            return False
        allowed = image_allows(self.image)
        if not allowed.persistent:
            self.log(f"one boot per program on {self.recipe.name}: {allowed.why}")
        return allowed.persistent

    def _runner(self) -> PersistentRunner:
        with self._shared_lock:  # workers start together: one SharedBoots for them all
            if self.shared is None:
                self.shared = self._shared_boots()
        return self.shared.runner()

    def _shared_boots(self) -> SharedBoots:
        return SharedBoots(self.image, self.recipe, self.profile,
                           self.opts.results_dir / "boots", self._standalone,
                           self._accepted, timeout_scale=self.opts.timeout_scale,
                           keep=self.opts.keep_artifacts)

    def close(self) -> None:
        if self.shared is not None:
            self.shared.close()

    def _standalone(self, scenario: Scenario, casedir: Path) -> CaseResult:
        raw = self._run_once(scenario, casedir)
        return self._run_once(scenario, casedir) if raw.verdict is Verdict.INFRA else raw

    def _accepted(self, scenario: Scenario, raw: CaseResult) -> bool:
        case, _, sig = judge(raw, self.known, exit_actions(scenario.arch, self.recipe.backend,
                                                           scenario.actions))
        return sig is None and case.verdict in (Verdict.PASS, Verdict.XFAIL)

    def run(self, scenario: Scenario, casedir: Path) -> tuple[CaseResult, tuple[ExitDiff, ...],
                                                              Signature | None]:
        """Run and judge one program. Infrastructure trouble is retried once and never ends
        the session: one failed QEMU start must not cost a campaign of a thousand programs."""
        raw = self._run_once(scenario, casedir)
        if raw.verdict is Verdict.INFRA:
            raw = self._run_once(scenario, casedir)
        return judge(raw, self.known,
                     exit_actions(scenario.arch, self.recipe.backend, scenario.actions))

    def _run_once(self, scenario: Scenario, casedir: Path) -> CaseResult:
        try:
            line08 = is_current_line(self.recipe.axvisor_version)
            return run_case(self.image, self.recipe, for_line(scenario, line08), self.profile,
                            casedir, timeout_scale=self.opts.timeout_scale)
        except HarnessError as exc:
            detail = str(exc)
        except Exception as exc:  # e.g. qemu.qmp's ConnectError, which is not a HarnessError
            detail = f"unexpected {type(exc).__name__} while running the case: {exc}"
        return CaseResult(case_id=f"{self.recipe.name}/{scenario.name}", scenario=scenario.name,
                          arch=scenario.arch, verdict=Verdict.INFRA, detail=detail, expected=(),
                          observed=(), diffs=(), duration_s=0.0, artifacts=casedir,
                          image={"recipe": self.recipe.name,
                                 "axvisor": self.recipe.axvisor_version}, qemu={})

    def program(self, seed: int, persistent: bool = False) -> ProgramResult:
        """One program, waited for (--replay, tests; a campaign uses `stream`)."""
        if persistent:
            return next(self.stream(iter([seed])))
        scenario = generate(self.opts.arch, seed, self.opts.size)
        casedir = self.opts.results_dir / "programs" / scenario.name
        case, new, sig = self.run(scenario, casedir)
        return self._finish(seed, scenario, casedir, case, new, sig)

    def stream(self, seeds: Iterator[int]) -> Iterator[ProgramResult]:
        """Programs of `seeds` in this thread's persistent boots, in order: the next one is
        queued in the guest while the last one is judged (harness.persist.runner)."""
        made: deque[tuple[int, Scenario, Path]] = deque()
        line08 = is_current_line(self.recipe.axvisor_version)

        def items() -> Iterator[tuple[Scenario, Path]]:
            for seed in seeds:
                scenario = generate(self.opts.arch, seed, self.opts.size)
                casedir = self.opts.results_dir / "programs" / scenario.name
                made.append((seed, scenario, casedir))
                yield for_line(scenario, line08), casedir  # as _run_once runs it

        for raw in self._runner().run_stream(items()):
            seed, scenario, casedir = made.popleft()
            case, new, sig = judge(raw, self.known, exit_actions(
                scenario.arch, self.recipe.backend, scenario.actions))
            yield self._finish(seed, scenario, casedir, case, new, sig)

    def _finish(self, seed: int, scenario: Scenario, casedir: Path, case: CaseResult,
                new: tuple[ExitDiff, ...], sig: Signature | None) -> ProgramResult:
        if casedir.is_dir():
            (casedir / "manifest.json").write_text(json.dumps(case.to_json(), indent=2,
                                                              default=str))
        if sig is None and not self.opts.keep_artifacts:
            _slim(casedir)
        seen = coverage.combos(self.opts.arch, scenario.actions, case.expected, case.observed)
        return ProgramResult(seed, scenario, case, new, sig, seen)

    def minimise(self, prog: ProgramResult, also: tuple[int, ...] = ()) -> Finding:
        """ddmin over the program's actions, keeping its signature; then the minimal program is
        run once more (reproducibility) and written out as a standalone reproducer."""
        assert prog.signature is not None
        actions = prog.scenario.actions
        arch, name = self.opts.arch, prog.scenario.name
        tries = self.opts.results_dir / "minimise" / name

        def candidate(idx: tuple[int, ...], suffix: str) -> Scenario:
            sub: tuple[Action, ...] = tuple(actions[i] for i in idx)
            return make_scenario(arch, f"{name}-{suffix}", f"subsequence of {name}: "
                                 f"actions {list(idx)}", sub)

        def still_fails(idx: tuple[int, ...]) -> bool:
            key = hashlib.sha256(repr(idx).encode()).hexdigest()[:12]
            casedir = tries / key
            _, _, sig = self.run(candidate(idx, key), casedir)
            shutil.rmtree(casedir, ignore_errors=True)
            return sig == prog.signature

        def batch(cands: Sequence[tuple[int, ...]]) -> list[bool]:
            with ThreadPoolExecutor(max_workers=self.opts.jobs) as pool:
                return list(pool.map(still_fails, cands))

        if self.opts.minimise:
            res = ddmin_indices(len(actions), batch, batch=self.opts.jobs, items=actions)
            idx, tests = res.indices, res.tests
        else:
            idx, tests = tuple(range(len(actions))), 0
        shutil.rmtree(tries, ignore_errors=True)
        minimal = make_scenario(arch, f"{name}-min", f"minimised from {name} "
                                f"(seed {prog.seed}, size {len(actions)}): actions {list(idx)}",
                                tuple(actions[i] for i in idx))
        findings_dir = self.opts.results_dir / "findings"
        casedir = findings_dir / minimal.name
        mcase, mnew, sig = self.run(minimal, casedir)
        reproduced = sig == prog.signature
        program_file = findings_dir / f"{minimal.name}.json"
        command = f"axharness fuzz --replay {program_file}"
        # the minimal program's own first new diff is what a reader compares with its payload
        first = (mnew if reproduced and mnew else prog.new_diffs or (None,))[0]
        detail = mcase.detail if reproduced else prog.case.detail
        write_program(program_file, minimal, self.recipe.name, {
            "seed": prog.seed, "size": len(actions), "kept_actions": list(idx),
            "signature": prog.signature.to_json(),
            "first_diff": first.describe() if first else detail,
            "axvisor": str(prog.case.image.get("axvisor", "")), "command": command})
        return Finding(prog.seed, prog.signature, first, detail, prog.scenario, minimal,
                       program_file, command, tests, reproduced, casedir, also)


def run_fuzz(root: Path, opts: FuzzOptions, log: Log = lambda m: None,
             on_program: Callable[[ProgramResult], None] = lambda p: None) -> FuzzReport:
    """Run every seed's program, then minimise one program per new signature."""
    if not opts.seeds:
        raise UsageError("no seeds to run (--count must be >= 1)")
    started = time.monotonic()
    session = FuzzSession(root, opts, log)
    persistent = session.persistent_on()
    t0 = time.monotonic()
    stream = session.stream if persistent else \
        (lambda seeds: (session.program(s) for s in seeds))
    # A signal only stops the workers taking seeds; what finished is reported in fuzz.json.
    stop = signals.current()
    try:
        with stop.deferred():
            programs = run_streams(stream, opts.seeds, opts.jobs, on_program,
                                   key=lambda p: p.seed)
    finally:
        session.close()
    run_seconds = time.monotonic() - t0
    by_sig: dict[Signature, list[ProgramResult]] = {}
    for p in programs:
        if p.signature is not None:
            by_sig.setdefault(p.signature, []).append(p)
    findings = []
    for sig, progs in [] if stop.requested else by_sig.items():
        # the smallest program of a signature minimises fastest
        first = min(progs, key=lambda p: (len(p.scenario.actions), p.seed))
        log(f"minimising seed {first.seed} ({sig.describe()}) ...")
        findings.append(session.minimise(first, tuple(p.seed for p in progs
                                                         if p is not first)))
    report = FuzzReport(opts.arch, session.recipe.name, session.image.axvisor_version, opts.size,
                        tuple(programs), tuple(findings), run_seconds,
                        time.monotonic() - started,
                        coverage.union(p.combos for p in programs),
                        session.stats.to_json() if persistent and session.stats else None,
                        stop.name if stop.requested else "")
    write_report_json(report, opts.results_dir / "fuzz.json")
    return report
