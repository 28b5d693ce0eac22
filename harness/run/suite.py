"""The conformance suite: for every architecture this host can run, build its image and run
every scenario, in parallel up to --jobs; infrastructure trouble is reported as such.

A missing QEMU stops the suite before anything runs (InfraError). After SIGINT/SIGTERM
(harness.signals) no case starts: the running ones end `interrupted`, the others are listed
`interrupted` without a case directory, and the results so far are returned as usual."""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from harness import signals
from harness.check.known import KnownDivergence, apply_known, check_references, load_known
from harness.check.verdict import Verdict
from harness.errors import HarnessError, InfraError, Interrupted, UsageError
from harness.images.build import Image, build_image
from harness.images.local import LocalCrate
from harness.images.progress import StatusSink
from harness.images.recipe import ImageRecipe
from harness.images.select import select_recipes
from harness.persist.policy import image_allows, scenario_allows
from harness.persist.runner import PersistentRunner, Stats
from harness.persist.snapshot import Snapshots
from harness.qemu.host import HostCaps, missing_tools, probe
from harness.qemu.profiles import get_profile
from harness.run.case import CaseResult, case_id, run_case
from harness.run.slots import run_in_order
from harness.run.watchers import declared_waits
from harness.scenarios.catalogue import Scenario
from harness.scenarios.registry import scenarios_for_recipe

KNOWN_FILE = Path("tests/conformance/known-divergences.toml")


@dataclass(frozen=True, slots=True)
class SuiteOptions:
    arches: tuple[str, ...]  # empty: every architecture with a recipe
    pattern: str
    results_dir: Path
    cache: Path
    jobs: int
    timeout_scale: float
    keep_artifacts: bool
    # recipe names or files (harness.images.select); empty: images/recipes/ of the arches
    recipes: tuple[str, ...] = ()
    trap_log: bool = False  # QEMU's trap log on, the syndrome oracle's second opinion recorded
    local_crates: tuple[LocalCrate, ...] = ()  # --crate / --axvisor, applied to every recipe
    # Scenarios the policy lets share a boot run many per boot, grouped per image, and those
    # that must run alone start from a snapshot where that is faithful (harness.persist);
    # --boot-per-case turns both off. Never with trap_log.
    persistent: bool = True


def catalogue_references(root: Path) -> tuple[dict[str, frozenset[str]],
                                               dict[str, frozenset[str]]]:
    """What known divergences may name: each architecture's scenarios of the shipped catalogue
    (scenarios/*.toml, whatever --scenarios a run reads instead) and the axvisor versions its
    recipes build (images/recipes and images/recipes-lossy)."""
    from harness.images.recipe import load_recipe
    from harness.scenarios.load import load_file

    versions: dict[str, set[str]] = {}
    for path in sorted((root / "images").glob("recipes*/*.toml")):
        recipe = load_recipe(path, root)
        versions.setdefault(recipe.arch, set()).add(recipe.axvisor_version)
    names: dict[str, set[str]] = {}
    for path in sorted((root / "scenarios").glob("*.toml")):
        f = load_file(path)
        names.setdefault(f.arch, set()).update(s.name for s in f.scenarios)
    return ({a: frozenset(n) for a, n in names.items()},
            {a: frozenset(v) for a, v in versions.items()})


def _placeholder(recipe: ImageRecipe, scenario: Scenario, verdict: Verdict, detail: str,
                 casedir: Path) -> CaseResult:
    return CaseResult(case_id=case_id(recipe, scenario), scenario=scenario.name,
                      arch=scenario.arch,
                      verdict=verdict, detail=detail, expected=(), observed=(), diffs=(),
                      duration_s=0.0, artifacts=casedir,
                      image={"recipe": recipe.name, "axvisor": recipe.axvisor_version},
                      qemu={"profile": recipe.qemu_profile})


def case_dirname(recipe: ImageRecipe, scenario: Scenario) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", case_id(recipe, scenario))


Plan = tuple[tuple[ImageRecipe, tuple[Scenario, ...]], ...]


def image_entry(image: Image) -> dict[str, object]:
    """What results.json's "images" says of one built image (read by the provenance)."""
    return {"key": image.key, "kernel": str(image.kernel), "manifest": str(image.manifest_path),
            "axvisor": image.axvisor_version, "axvcpu": image.axvcpu_version,
            "build_seconds": image.manifest().get("build_seconds")}


def plan_suite(root: Path, opts: SuiteOptions) -> Plan:
    """The recipes chosen by the options, each with its matching scenarios (none: omitted).
    Raises InfraError naming the QEMU binaries the plan needs and this host lacks: the
    harness's own tools missing is the host's fault, not a property of an image, so it is
    one line and exit 3 before anything is built or run, never a skip."""
    recipes = select_recipes(root, opts.arches, opts.recipes, opts.local_crates)
    plan = tuple((r, s) for r in recipes
                 if (s := scenarios_for_recipe(r.name, r.arch, r.own_scenarios_only,
                                               opts.pattern)))
    missing = missing_tools(get_profile(r.qemu_profile).binary for r, _ in plan)
    if missing:
        raise InfraError(missing)
    return plan


def run_suite(root: Path, opts: SuiteOptions, plan: Plan | None = None,
              log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
              status: StatusSink | None = None
              ) -> tuple[list[CaseResult], dict[str, object], tuple[KnownDivergence, ...]]:
    known: tuple[KnownDivergence, ...] = load_known(root / KNOWN_FILE) \
        if (root / KNOWN_FILE).is_file() else ()
    check_references(known, root / KNOWN_FILE, *catalogue_references(root))
    if plan is None:
        plan = plan_suite(root, opts)
    host = probe()
    stop = signals.current()
    results: list[CaseResult] = []
    images: dict[str, object] = {}
    work: list[tuple[ImageRecipe, Image, Scenario]] = []
    cases_dir = opts.results_dir / "cases"
    try:
        with stop.raising():  # a build polls nothing: the signal raises, cargo is killed
            for recipe, scenarios in plan:
                results += _prepare(recipe, scenarios, host, opts, images, work, log, status)
    except Interrupted:
        work.clear()  # nothing has started yet: every case not judged is interrupted
        have = {r.case_id for r in results}
        results += [_placeholder(r, s, Verdict.INTERRUPTED, f"interrupted by {stop.name} "
                                 "while preparing the images", cases_dir / case_dirname(r, s))
                    for r, scenarios in plan for s in scenarios
                    if case_id(r, s) not in have]

    def standalone(recipe: ImageRecipe, image: Image, scenario: Scenario, casedir: Path,
                   restore: bool = False) -> CaseResult:
        try:
            return run_case(image, recipe, scenario, get_profile(recipe.qemu_profile),
                            casedir, timeout_scale=opts.timeout_scale, trap_log=opts.trap_log,
                            snapshots=snapshots if restore else None)
        except UsageError as exc:  # the scenario asks for what its architecture cannot do
            return _placeholder(recipe, scenario, Verdict.ERROR, f"scenario error: {exc}",
                                casedir)
        except HarnessError as exc:
            return _placeholder(recipe, scenario, Verdict.INFRA, str(exc), casedir)
        except OSError as exc:  # a full disk, no descriptors left: the host's trouble
            return _placeholder(recipe, scenario, Verdict.INFRA, f"host error: {exc}", casedir)
        except Exception as exc:  # a harness bug must not hide the other cases' results
            casedir.mkdir(parents=True, exist_ok=True)
            (casedir / "internal-error.txt").write_text(traceback.format_exc())
            return _placeholder(recipe, scenario, Verdict.ERROR,
                                f"internal error {exc!r}; traceback in "
                                f"{casedir / 'internal-error.txt'}", casedir)

    def finish(res: CaseResult, casedir: Path) -> CaseResult:
        res = apply_known(res, known)
        if casedir.is_dir():
            try:
                (casedir / "manifest.json").write_text(json.dumps(res.to_json(), indent=2,
                                                                  default=str))
            except OSError as exc:  # a case without its artifacts is no result to trust
                res = replace(res, verdict=Verdict.INFRA, detail=f"cannot write "
                              f"{casedir / 'manifest.json'}: {exc}; the run said: {res.detail}")
        log(f"{res.verdict.value:10} {res.case_id} ({res.duration_s:.1f}s) {res.detail}")
        if not opts.keep_artifacts and not res.verdict.is_failure and casedir.is_dir():
            for heavy in casedir.glob("axvisor.*"):
                heavy.unlink()  # the patched image is rebuilt from payload.S + the cached image
        return res

    def one(item: tuple[ImageRecipe, Image, Scenario]) -> CaseResult:
        recipe, image, scenario = item
        casedir = cases_dir / case_dirname(recipe, scenario)
        if stop.requested:  # listed, never started: no case directory
            return _placeholder(recipe, scenario, Verdict.INTERRUPTED,
                                f"not started: interrupted by {stop.name}", casedir)
        res = standalone(recipe, image, scenario, casedir, restore=snapshots is not None)
        if res.restored:
            persist_stats.add("restored")
            if apply_known(res, known).verdict not in (
                    Verdict.PASS, Verdict.XFAIL, Verdict.INTERRUPTED):
                # Only a real boot may fail a case: the restored run is kept as a note. Once
                # a stop is asked for, that boot returns interrupted, and so does the case.
                first = res
                res = standalone(recipe, image, scenario, casedir)
                agreed = res.verdict is first.verdict
                persist_stats.add("restore_reruns")
                persist_stats.add("restore_rerun_agreed", int(agreed))
                res = replace(res, restored={"rerun_on_boot": True, "agreed": agreed,
                                             "restored_verdict": first.verdict.value,
                                             "restored_detail": first.detail})
        return finish(res, casedir)

    def group(items: list[tuple[ImageRecipe, Image, Scenario]], worker: int) -> list[CaseResult]:
        """Scenarios of one image over shared boots; a case not accepted there is re-run
        standalone by the runner (harness.persist.runner)."""
        recipe, image, _ = items[0]
        runner = PersistentRunner(
            image, recipe, get_profile(recipe.qemu_profile),
            opts.results_dir / "boots" / recipe.name,
            lambda sc, d: standalone(recipe, image, sc, d),
            lambda sc, res: apply_known(res, known).verdict in (Verdict.PASS, Verdict.XFAIL),
            timeout_scale=opts.timeout_scale, stats=persist_stats,
            keep_boots=opts.keep_artifacts, worker=worker)
        out: list[CaseResult] = []
        try:
            while len(out) < len(items):
                if stop.requested:  # listed, never started: no case directory
                    r, _, sc = items[len(out)]
                    out.append(_placeholder(r, sc, Verdict.INTERRUPTED, "not started: "
                                            f"interrupted by {stop.name}",
                                            cases_dir / case_dirname(r, sc)))
                    continue
                base = len(out)
                todo = [(sc, cases_dir / case_dirname(r, sc)) for r, _, sc in items[base:]]
                try:  # the next case is queued while one is judged (harness.persist.runner)
                    for res in runner.run_stream(_until_stopped(todo, stop)):
                        out.append(finish(res, todo[len(out) - base][1]))
                except (HarnessError, OSError) as exc:  # the oldest unfinished case; the
                    r, _, sc = items[len(out)]          # rest go on
                    d = cases_dir / case_dirname(r, sc)
                    why = str(exc) if isinstance(exc, HarnessError) else f"host error: {exc}"
                    out.append(finish(_placeholder(r, sc, Verdict.INFRA, why, d), d))
        finally:
            runner.close()
        return out

    persist_stats = Stats()
    # Cases that must run alone start from a saved loader instead of a boot, where the image
    # allows it (harness.persist.snapshot); never with the trap log (it needs the whole boot).
    snapshots = Snapshots(opts.timeout_scale) if opts.persistent and not opts.trap_log \
        else None
    tasks = waits_first(persistent_tasks(work, opts.jobs) if opts.persistent and
                        not opts.trap_log else [(False, [w]) for w in work])
    order = {id(w): i for i, w in enumerate(work)}

    def task(it: tuple[int, tuple[bool, list[tuple[ImageRecipe, Image, Scenario]]]]
             ) -> list[CaseResult]:
        i, (shared, items) = it  # i: the group's own boot directories (boot-<i>-<n>)
        return group(items, i) if shared else [one(items[0])]

    # The workers poll the stop request; this thread only waits (a signal is just recorded).
    # -j counts cases that keep a core busy: a declared hang may give its slot back during its
    # quiet window (harness.run.slots), so the pool has a thread more for each of them.
    hangs = sum(not shared and items[0][2].for_image(items[0][0].name).expect_hang
                for shared, items in tasks)
    try:
        with stop.deferred():
            done_tasks = run_in_order(list(enumerate(tasks)), task, opts.jobs, hangs)
    finally:
        if snapshots is not None:
            snapshots.close()
    ran = sorted(((order[id(w)], r) for t, rs in zip(tasks, done_tasks, strict=True)
                  for w, r in zip(t[1], rs, strict=True)), key=lambda x: x[0])
    results += [r for _, r in ran]
    used = persist_stats.boots + persist_stats.fallbacks + persist_stats.restored
    if opts.persistent and used:
        log(f"persistent mode: {persist_stats.shared} case(s) in {persist_stats.boots} shared "
            f"boot(s), {persist_stats.reruns} re-run on their own boot; "
            f"{persist_stats.restored} started from a snapshot, "
            f"{persist_stats.restore_reruns} of them re-run on a boot")
    if stop.requested:
        done = sum(r.verdict is not Verdict.INTERRUPTED for r in results)
        log(f"interrupted by {stop.name}: {done} case(s) judged, "
            f"{len(results) - done} interrupted")
    extra: dict[str, object] = {"images": images}
    if opts.persistent and used:
        extra["persistent"] = persist_stats.to_json()
    return results, extra, known


def _shared(item: tuple[ImageRecipe, Image, Scenario]) -> bool:
    recipe, image, scenario = item
    return image_allows(image).persistent and \
        scenario_allows(scenario.for_image(recipe.name)).persistent


Task = tuple[bool, list[tuple[ImageRecipe, Image, Scenario]]]  # (shared boots?, cases)


def _until_stopped(todo: list[tuple[Scenario, Path]], stop: signals.StopRequest
                   ) -> Iterator[tuple[Scenario, Path]]:
    """`todo` until a stop is requested (the cases not handed out are never started)."""
    for item in todo:
        if stop.requested:
            return
        yield item


def persistent_tasks(work: list[tuple[ImageRecipe, Image, Scenario]], jobs: int
                     ) -> list[Task]:
    """The work as tasks for the pool: the shareable scenarios of each image in up to `jobs`
    groups (each one boot, or more past policy.EVERY), first; then every other case alone."""
    shared: dict[str, list[tuple[ImageRecipe, Image, Scenario]]] = {}
    alone: list[Task] = []
    for item in work:
        if _shared(item):
            shared.setdefault(item[0].name, []).append(item)
        else:
            alone.append((False, [item]))
    groups: list[Task] = []
    for items in shared.values():
        n = max(1, min(jobs, len(items) // 8))  # a boot costs about as much as 8 shared cases
        size = -(-len(items) // n)
        groups += [(True, items[i: i + size]) for i in range(0, len(items), size)]
    return groups + alone


def waits_first(tasks: list[Task]) -> list[Task]:
    """The cases that end on a declared wait (a 6 s hang window, a 5 s stuck-VM settle: the
    longest by far) first, the rest in their order: a wait started last is the run's tail."""
    def waits(t: Task) -> bool:
        shared, items = t
        recipe, _, scenario = items[0]
        return not shared and bool(declared_waits(scenario.for_image(recipe.name)))

    return [t for t in tasks if waits(t)] + [t for t in tasks if not waits(t)]


def _prepare(recipe: ImageRecipe, scenarios: tuple[Scenario, ...], host: HostCaps,
             opts: SuiteOptions, images: dict[str, object],
             work: list[tuple[ImageRecipe, Image, Scenario]],
             log: Callable[[str], None], status: StatusSink | None) -> list[CaseResult]:
    """Build `recipe`'s image and queue its scenarios on `work`; the placeholders of the
    scenarios that cannot run (skip: the host lacks a capability; infra: its set-up is at
    fault, or the build failed)."""
    cases_dir = opts.results_dir / "cases"
    profile = get_profile(recipe.qemu_profile)
    if fault := host.infra(profile):
        log(f"infra {recipe.name}: {fault}")
        return [_placeholder(recipe, s, Verdict.INFRA, fault,
                             cases_dir / case_dirname(recipe, s)) for s in scenarios]
    if why_not := host.why_not(profile):
        log(f"skip {recipe.name}: {why_not}")
        return [_placeholder(recipe, s, Verdict.SKIP, why_not,
                             cases_dir / case_dirname(recipe, s)) for s in scenarios]
    try:
        image = build_image(recipe, opts.cache, progress=log, status=status)
    except UsageError:  # a --crate the image's graph lacks: the user's to fix, exit 1
        raise
    except HarnessError as exc:
        log(f"infra {recipe.name}: {exc}")
        return [_placeholder(recipe, s, Verdict.INFRA, f"image build failed: {exc}",
                             cases_dir / case_dirname(recipe, s)) for s in scenarios]
    images[recipe.name] = image_entry(image)
    work += [(recipe, image, s) for s in scenarios]
    return []
