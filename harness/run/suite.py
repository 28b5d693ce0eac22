"""The conformance suite: for every architecture this host can run, build its image and run
every scenario, in parallel up to --jobs; infrastructure trouble is reported as such."""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from harness.check.known import KnownDivergence, apply_known, load_known
from harness.check.verdict import Verdict
from harness.errors import HarnessError, UsageError
from harness.images.build import Image, build_image
from harness.images.recipe import ImageRecipe, find_recipes, load_recipe
from harness.qemu.host import probe
from harness.qemu.profiles import get_profile
from harness.run.case import CaseResult, case_id, run_case
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
    recipes: tuple[str, ...] = ()  # recipe names; empty: every recipe of the chosen arches


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


def run_suite(root: Path, opts: SuiteOptions,
              log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)
              ) -> tuple[list[CaseResult], dict[str, object], tuple[KnownDivergence, ...]]:
    known: tuple[KnownDivergence, ...] = load_known(root / KNOWN_FILE) \
        if (root / KNOWN_FILE).is_file() else ()
    recipes = [load_recipe(p, root) for p in find_recipes(root)]
    if opts.arches:
        recipes = [r for r in recipes if r.arch in opts.arches]
    if opts.recipes:
        unknown = set(opts.recipes) - {r.name for r in recipes}
        if unknown:
            raise UsageError(f"no recipe named {', '.join(sorted(unknown))} in images/recipes/ "
                             "(for the chosen architectures)")
        recipes = [r for r in recipes if r.name in opts.recipes]
    host = probe()
    results: list[CaseResult] = []
    images: dict[str, object] = {}
    work: list[tuple[ImageRecipe, Image, Scenario]] = []
    cases_dir = opts.results_dir / "cases"
    for recipe in recipes:
        scenarios = scenarios_for_recipe(recipe.name, recipe.arch, recipe.own_scenarios_only,
                                         opts.pattern)
        if not scenarios:
            continue
        profile = get_profile(recipe.qemu_profile)
        why = host.why_not(profile)
        if why:
            results += [_placeholder(recipe, s, Verdict.SKIP, why,
                                     cases_dir / case_dirname(recipe, s)) for s in scenarios]
            log(f"skip {recipe.name}: {why}")
            continue
        try:
            image = build_image(recipe, opts.cache, progress=log)
        except HarnessError as exc:
            results += [_placeholder(recipe, s, Verdict.INFRA, f"image build failed: {exc}",
                                     cases_dir / case_dirname(recipe, s)) for s in scenarios]
            log(f"infra {recipe.name}: {exc}")
            continue
        images[recipe.name] = {"key": image.key, "kernel": str(image.kernel),
                               "manifest": str(image.manifest_path),
                               "axvisor": image.axvisor_version, "axvcpu": image.axvcpu_version,
                               "build_seconds": image.manifest().get("build_seconds")}
        work += [(recipe, image, s) for s in scenarios]

    def one(item: tuple[ImageRecipe, Image, Scenario]) -> CaseResult:
        recipe, image, scenario = item
        casedir = cases_dir / case_dirname(recipe, scenario)
        try:
            res = run_case(image, recipe, scenario, get_profile(recipe.qemu_profile), casedir,
                           timeout_scale=opts.timeout_scale)
        except UsageError as exc:  # the scenario asks for what its architecture cannot do
            res = _placeholder(recipe, scenario, Verdict.ERROR, f"scenario error: {exc}",
                               casedir)
        except HarnessError as exc:
            res = _placeholder(recipe, scenario, Verdict.INFRA, str(exc), casedir)
        except Exception as exc:  # a harness bug must not hide the other cases' results
            casedir.mkdir(parents=True, exist_ok=True)
            (casedir / "internal-error.txt").write_text(traceback.format_exc())
            res = _placeholder(recipe, scenario, Verdict.ERROR,
                               f"internal error {exc!r}; traceback in "
                               f"{casedir / 'internal-error.txt'}", casedir)
        res = apply_known(res, known)
        if casedir.is_dir():
            (casedir / "manifest.json").write_text(json.dumps(res.to_json(), indent=2,
                                                              default=str))
        log(f"{res.verdict.value:10} {res.case_id} ({res.duration_s:.1f}s) {res.detail}")
        if not opts.keep_artifacts and not res.verdict.is_failure and casedir.is_dir():
            for heavy in casedir.glob("axvisor.*"):
                heavy.unlink()  # the patched image is rebuilt from payload.S + the cached image
        return replace(res)

    with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        results += list(pool.map(one, work))
    return results, {"images": images}, known
