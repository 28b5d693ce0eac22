"""`axharness list`: the scenarios with their one-line summaries, and for each image of their
architecture whether it runs them here, and if not, why (the scenario names other images, the
image runs only the scenarios naming it, or this host cannot run the image)."""

from __future__ import annotations

import argparse
import fnmatch
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.images.recipe import ARCHES, ImageRecipe, find_recipes, load_recipe
from harness.paths import repo_root
from harness.qemu.host import probe
from harness.qemu.profiles import get_profile
from harness.scenarios.catalogue import Scenario
from harness.scenarios.registry import all_arches, scenarios_for, use_files

OWN_ONLY = "runs only the scenarios that name it"


def register(sub: Any) -> None:
    p = sub.add_parser("list", help="scenarios, their summaries, and which images run them")
    p.add_argument("--arch", choices=ARCHES, action="append",
                   help="only this architecture (repeatable; default: all)")
    p.add_argument("--recipe", action="append", metavar="NAME|FILE",
                   help="only this image: a recipe name or a recipe file (repeatable)")
    p.add_argument("--scenario", default="*", help="glob over scenario names (default: *)")
    p.add_argument("--scenarios", type=Path, action="append", metavar="FILE",
                   help="list this scenario file (repeatable) instead of the catalogue")
    p.set_defaults(func=run)


def _recipes(args: argparse.Namespace) -> list[ImageRecipe]:
    root = repo_root()
    shipped = [load_recipe(p, root) for p in find_recipes(root)]
    if not args.recipe:
        chosen = shipped
    else:
        by_name = {r.name: r for r in shipped}
        chosen = []
        for item in args.recipe:
            if item in by_name:
                chosen.append(by_name[item])
            elif item.endswith(".toml") and Path(item).is_file():
                chosen.append(load_recipe(Path(item).resolve(), root))
            else:
                raise UsageError(f"--recipe {item}: no recipe of that name in images/recipes/ "
                                 "and no such recipe file")
    return [r for r in chosen if not args.arch or r.arch in args.arch]


def why_not(scenario: Scenario, recipe: ImageRecipe) -> str:
    """Empty if `recipe`'s image runs `scenario` (the suite's rule), else the reason."""
    if scenario.images:
        if recipe.name in scenario.images:
            return ""
        return f"the scenario names only {', '.join(scenario.images)}"
    return OWN_ONLY if recipe.own_scenarios_only else ""


def describe(scenario: Scenario, recipes: list[ImageRecipe],
             host_why: Callable[[ImageRecipe], str]) -> list[str]:
    """The scenario's line, then where it runs and, grouped by reason, where not."""
    lines = [f"{scenario.case_id}  {scenario.summary}"]
    runs: list[str] = []
    cannot: list[str] = []
    reasons: dict[str, list[str]] = {}
    for r in recipes:
        if r.arch != scenario.arch:
            continue
        why = why_not(scenario, r)
        if why:
            reasons.setdefault(why, []).append(r.name)
        elif host_why(r):
            cannot.append(r.name)
        else:
            runs.append(r.name)
    lines.append(f"    runs on: {', '.join(runs) if runs else 'no image here'}")
    if cannot:
        lines.append(f"    not on:  {', '.join(cannot)} (this host cannot run the image, "
                     "see above)")
    for why, names in reasons.items():
        lines.append(f"    not on:  {', '.join(names)} ({why})")
    return lines


def run(args: argparse.Namespace) -> int:
    if args.scenarios:
        use_files(args.scenarios)
    recipes = _recipes(args)
    scenarios = [s for a in all_arches() if not args.arch or a in args.arch
                 for s in scenarios_for(a) if fnmatch.fnmatch(s.name, args.scenario)]
    host = probe()
    host_why = {r.name: host.why_not(get_profile(r.qemu_profile)) for r in recipes}
    if not scenarios:
        raise UsageError(f"no scenario matches --scenario {args.scenario!r}")
    recipes = [r for r in recipes if any(s.arch == r.arch for s in scenarios)]
    print("images:")
    width = max((len(r.name) for r in recipes), default=0)
    for r in recipes:
        notes = [f"this host cannot run it: {host_why[r.name]}" if host_why[r.name]
                 else "runs here"]
        if r.own_scenarios_only:
            notes.append(OWN_ONLY)
        print(f"  {r.name:{width}}  {r.arch}, QEMU profile {r.qemu_profile}: "
              f"{'; '.join(notes)}")
    arch = ""
    for s in scenarios:
        if s.arch != arch:
            arch = s.arch
            print(f"\n{arch}: {sum(x.arch == arch for x in scenarios)} scenario(s)")
        print("\n".join(describe(s, recipes, lambda r: host_why[r.name])))
    return 0
