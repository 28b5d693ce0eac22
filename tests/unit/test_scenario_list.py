"""`axharness list`: each scenario with its summary, where it runs, and why not elsewhere."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.cli import main
from harness.commands.list import OWN_ONLY, describe, why_not
from harness.images.recipe import find_recipes, load_recipe
from harness.paths import repo_root
from harness.scenarios import registry
from harness.scenarios.actions import Hypercall
from harness.scenarios.catalogue import Scenario

RECIPES = {r.name: r for r in (load_recipe(p, repo_root()) for p in find_recipes(repo_root()))}
PLAIN = Scenario("p", "aarch64", "plain", (Hypercall(1, (0,) * 6),))
NAMED = dataclasses.replace(PLAIN, name="n", images=("aarch64-smp",))


def test_an_image_runs_what_the_suite_would_run_and_names_the_reason_otherwise() -> None:
    assert why_not(PLAIN, RECIPES["aarch64"]) == ""
    assert why_not(PLAIN, RECIPES["aarch64-smp"]) == OWN_ONLY
    assert why_not(NAMED, RECIPES["aarch64-smp"]) == ""
    assert why_not(NAMED, RECIPES["aarch64"]) == "the scenario names only aarch64-smp"


def test_a_scenario_lists_runs_and_each_reason_against_the_images_of_its_arch() -> None:
    recipes = [RECIPES["aarch64"], RECIPES["aarch64-smp"], RECIPES["x86_64-svm"]]
    lines = describe(PLAIN, recipes, lambda r: "no KVM" if r.name == "aarch64" else "")
    assert lines == ["aarch64/p  plain",
                     "    runs on: no image here",
                     "    not on:  aarch64 (this host cannot run the image, see above)",
                     f"    not on:  aarch64-smp ({OWN_ONLY})"]


@pytest.fixture
def restore_registry() -> object:
    yield
    registry.use_files(None)


def test_list_shows_a_users_file_with_summaries(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                restore_registry: object) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('arch = "riscv64"\n\n[[scenario]]\nname = "mine"\nsummary = "my summary"\n'
                    'actions = [{ type = "SbiCall", eid = 1, fid = 0, args = [65] }]\n')
    assert main(["list", "--scenarios", str(path), "--recipe", "riscv64"]) == 0
    out = capsys.readouterr().out
    assert "riscv64/mine  my summary\n    runs on: riscv64\n" in out
    assert "aarch64" not in out


def test_an_unknown_recipe_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--recipe", "no-such-image"]) == 1
    assert "--recipe no-such-image" in capsys.readouterr().err


def test_run_refuses_a_bad_scenario_file_with_its_line_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_registry: object) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('arch = "riscv64"\n\n[[scenario]]\nname = "w"\nsummary = "s"\n'
                    'actions = [{ type = "WaitForInterrupt" }]\n')
    results = tmp_path / "results"
    assert main(["run", "--scenarios", str(path), "--results", str(results)]) == 1
    assert f"{path}:6: no riscv64 form for WaitForInterrupt" in capsys.readouterr().err
    assert not (results / "results.json").exists()
