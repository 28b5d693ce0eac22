"""Every scenario on every image, checked exit by exit against the reference model.
Known divergences (tests/conformance/known-divergences.toml) show as xfail, never as pass;
images this host cannot run (e.g. x86 VMX without nested VMX) skip with the probed reason.
Each case carries its architecture's marker and its image's (`-m aarch64`,
`-m image_aarch64_smp`); `--arch`/`--recipe` deselect the others."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.images.recipe import find_recipes, load_recipe
from harness.paths import repo_root
from harness.pytest_plugin import assert_conformant, image_marker
from harness.run.case import CaseResult
from harness.scenarios.catalogue import Scenario
from harness.scenarios.registry import scenarios_for_recipe

RECIPES = sorted((load_recipe(p, repo_root()) for p in find_recipes(repo_root())),
                 key=lambda r: r.name)


PARAMS = [pytest.param(r.name, s, id=f"{r.name}/{s.name}", marks=[
    getattr(pytest.mark, r.arch), getattr(pytest.mark, image_marker(r.name))])
    for r in RECIPES for s in scenarios_for_recipe(r.name, r.arch, r.own_scenarios_only)]


@pytest.mark.conformance
@pytest.mark.parametrize(("recipe", "scenario"), PARAMS)
def test_scenario_conforms(recipe: str, scenario: Scenario,
                           axh_case: Callable[..., CaseResult]) -> None:
    assert_conformant(axh_case(scenario, recipe_name=recipe))
