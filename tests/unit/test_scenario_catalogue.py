"""The scenario catalogue and the reviewed lists agree with each other and with the recipes:
a renamed scenario or recipe cannot leave a known divergence, a reachability entry or an image
restriction pointing at nothing."""

from __future__ import annotations

import tomllib
from collections import defaultdict

from harness.check.known import load_known
from harness.images.recipe import find_recipes, load_recipe
from harness.paths import repo_root
from harness.report.reachability import REACHABILITY_FILE, load_reachability
from harness.run.suite import KNOWN_FILE
from harness.scenarios.registry import all_arches, scenarios_for

ROOT = repo_root()
RECIPES = [load_recipe(p, ROOT) for p in find_recipes(ROOT)]
SCENARIOS = [s for a in all_arches() for s in scenarios_for(a)]


def test_every_image_a_scenario_names_is_a_recipe_of_its_architecture() -> None:
    by_name = {r.name: r.arch for r in RECIPES}
    for s in SCENARIOS:
        for image in s.images:
            assert by_name.get(image) == s.arch, f"{s.case_id} names image {image!r}"


def test_every_image_an_end_is_declared_for_is_a_recipe_that_runs_the_scenario() -> None:
    by_name = {r.name: r for r in RECIPES}
    for s in SCENARIOS:
        for image, _ in s.on:
            r = by_name.get(image)
            assert r is not None and r.arch == s.arch, f"{s.case_id}: on.{image}"
            assert image in s.images or (not s.images and not r.own_scenarios_only), \
                f"{s.case_id}: declares an end on {image}, which does not run it"


def test_every_recipe_runs_at_least_one_scenario() -> None:
    for r in RECIPES:
        own = [s for s in SCENARIOS if s.arch == r.arch
               and (r.name in s.images or (not s.images and not r.own_scenarios_only))]
        assert own, f"recipe {r.name} runs no scenario (a build for nothing)"


def test_scenario_names_are_unique_per_architecture_and_summaries_are_one_line() -> None:
    seen: set[str] = set()
    for s in SCENARIOS:
        assert s.case_id not in seen, s.case_id
        seen.add(s.case_id)
        assert s.summary and "\n" not in s.summary, s.case_id


def test_known_divergences_list_existing_scenarios_of_their_architecture() -> None:
    names = defaultdict(set)
    for s in SCENARIOS:
        names[s.arch].add(s.name)
    versions = defaultdict(set)
    for r in RECIPES:
        versions[r.arch].add(r.axvisor_version)
    for k in load_known(ROOT / KNOWN_FILE):
        assert set(k.scenarios) <= names[k.arch], f"{k.id}: {set(k.scenarios) - names[k.arch]}"
        assert set(k.axvisor) & versions[k.arch], f"{k.id}: no recipe pins {k.axvisor}"


def test_reachability_entries_name_a_pinned_version_and_backend() -> None:
    pinned = {(r.arch, r.axvisor_version, r.backend) for r in RECIPES}
    for e in load_reachability(ROOT / REACHABILITY_FILE):
        assert any((e.arch, v, e.backend) in pinned for v in e.axvisor), e


def test_cross_architecture_semantics_span_more_than_one_architecture() -> None:
    arches = defaultdict(set)
    for s in SCENARIOS:
        if s.semantic:
            arches[s.semantic].add(s.arch)
    lonely = {sem for sem, a in arches.items() if len(a) < 2}
    assert not lonely, f"semantic ids used by one architecture only: {lonely}"


def test_recipe_files_name_themselves_after_their_file() -> None:
    for path in find_recipes(ROOT):
        assert tomllib.loads(path.read_text())["recipe"]["name"] == path.stem, path
