"""pytest as its users expect it: `--arch`/`--recipe` deselect (never skip), `-m` selects by
architecture and image under `--strict-markers`, the CLI's option names work, case artifacts
stay out of the checkout unless asked, each case records the provenance `axharness run` puts in
its JUnit properties, and `--lf` works in ci/test.sh's own mode."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.images.build import Image
from harness.images.recipe import ImageRecipe, find_recipes, load_recipe
from harness.pytest_plugin import AxhOptions
from harness.scenarios.registry import scenarios_for_recipe

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = "tests/conformance/test_conformance.py"
FIRST_GUEST = f"{CONFORMANCE}::test_scenario_conforms[aarch64/first-guest]"
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest"]


def pytest_run(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PYTEST, *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=600, env=dict(os.environ, **env))


def collected(*args: str) -> tuple[set[str], int]:
    """The conformance case ids `--collect-only` keeps, and how many it says it deselected."""
    res = pytest_run("--collect-only", "-q", "--strict-markers", *args, CONFORMANCE)
    assert res.returncode in (0, 5), res.stdout[-2000:] + res.stderr[-2000:]
    ids = set(re.findall(r"test_scenario_conforms\[(.+)\]$", res.stdout, re.M))
    m = re.search(r"(\d+) deselected", res.stdout)
    return ids, int(m[1]) if m else 0


def catalogue(keep: Callable[[ImageRecipe], bool] = lambda r: True) -> set[str]:
    recipes = [load_recipe(p, ROOT) for p in find_recipes(ROOT)]
    return {f"{r.name}/{s.name}" for r in recipes if keep(r)
            for s in scenarios_for_recipe(r.name, r.arch, r.own_scenarios_only)}


def test_arch_deselects_the_other_architectures_cases_instead_of_skipping_them() -> None:
    ids, deselected = collected("--arch", "riscv64")
    assert ids == catalogue(lambda r: r.arch == "riscv64")
    assert deselected == len(catalogue()) - len(ids) > 0


def test_recipe_deselects_the_other_images_and_the_tests_of_their_default_image() -> None:
    ids, _ = collected("--recipe", "aarch64-smp")
    assert ids == catalogue(lambda r: r.name == "aarch64-smp")
    # test_results_dir.py is marked aarch64 and uses the architecture's default image.
    res = pytest_run("--collect-only", "-q", "--recipe", "aarch64-smp",
                     "tests/integration/test_results_dir.py")
    assert "no tests collected" in res.stdout and " deselected" in res.stdout, res.stdout
    res = pytest_run("--collect-only", "-q", "--recipe", "aarch64",
                     "tests/integration/test_results_dir.py")
    assert " deselected" not in res.stdout, res.stdout
    res = pytest_run("--collect-only", "-q", "--recipe", "no-such-image", CONFORMANCE)
    assert res.returncode == 4
    assert "--recipe no-such-image: no such recipe in images/recipes/" in res.stderr


@pytest.mark.parametrize(("expr", "keep"), [
    ("aarch64", lambda r: r.arch == "aarch64"),
    ("image_aarch64_smp", lambda r: r.name == "aarch64-smp"),
    ("x86_64 and not image_x86_64_vmx", lambda r: r.name == "x86_64-svm"),
    ("image_riscv64 or image_riscv64_smp", lambda r: r.name in ("riscv64", "riscv64-smp")),
])
def test_markers_select_conformance_cases_by_architecture_and_image(
        expr: str, keep: Callable[[ImageRecipe], bool]) -> None:
    ids, _ = collected("-m", expr)
    assert ids == catalogue(keep) and ids


def test_the_image_markers_are_registered_and_listed() -> None:
    res = pytest_run("--markers")
    assert "@pytest.mark.image_aarch64_smp: a conformance case on the aarch64-smp image" \
        in res.stdout
    assert "@pytest.mark.riscv64: needs an riscv64 image (--arch riscv64)" in res.stdout


def test_the_clis_option_names_are_accepted_and_used(tmp_path: Path) -> None:
    res = pytest_run("--collect-only", "--cache-dir", str(tmp_path / "images"),
                     "--results", str(tmp_path / "r"), CONFORMANCE)
    assert f"axharness: case artifacts in {tmp_path}/r/<worker>; images in " \
        f"{tmp_path}/images" in res.stdout, res.stdout[:2000]


@pytest.fixture
def aarch64(axh_image: Callable[[str], tuple[ImageRecipe, Image]]) -> None:
    axh_image("aarch64")


@pytest.mark.aarch64
def test_a_run_case_records_the_junit_properties_of_axharness_run_and_stays_out_of_the_checkout(
        aarch64: None, axh_options: AxhOptions, tmp_path: Path) -> None:
    cli = subprocess.run([sys.executable, "-m", "harness", "run", "--recipe", "aarch64",
                          "--scenario", "first-guest", "--results", str(tmp_path / "run"),
                          "--cache-dir", str(axh_options.cache)], cwd=ROOT, capture_output=True,
                         text=True, check=False, timeout=300)
    assert cli.returncode == 0, cli.stderr[-2000:]
    suite = ET.parse(tmp_path / "run" / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    expected = [(p.get("name"), p.get("value")) for p in suite.iter("property")]

    old_default = ROOT / "results" / "pytest" / "main" / "aarch64_first-guest" / "console.log"
    started = time.time()
    res = pytest_run(FIRST_GUEST, "--cache-dir", str(axh_options.cache), "--basetemp",
                     str(tmp_path / "bt"), "--junitxml", str(tmp_path / "p.xml"))
    assert res.returncode == 0, res.stdout[-3000:]
    case = ET.parse(tmp_path / "p.xml").getroot().find(".//testcase")
    assert case is not None
    got = [(p.get("name"), p.get("value")) for p in case.iter("property")]
    assert got == expected and ("accelerator", "tcg") in got
    assert {"axvisor", "image_key", "qemu", "crate.axvcpu", "crate.arm_vcpu"} <= dict(got).keys()

    assert (tmp_path / "bt" / "axharness" / "aarch64_first-guest" / "console.log").is_file()
    assert not old_default.exists() or old_default.stat().st_mtime < started


@pytest.mark.aarch64
def test_results_puts_the_artifacts_where_asked_and_arch_leaves_no_skip(
        aarch64: None, axh_options: AxhOptions, tmp_path: Path) -> None:
    res = pytest_run(CONFORMANCE, "-k", "first-guest", "--recipe", "aarch64", "--arch",
                     "aarch64", "--cache-dir", str(axh_options.cache),
                     "--results", str(tmp_path / "r"))
    last = res.stdout.splitlines()[-1]
    assert res.returncode == 0 and re.search(r"\b1 passed, \d+ deselected\b", last), last
    assert "skipped" not in last
    assert (tmp_path / "r" / "main" / "aarch64_first-guest" / "manifest.json").is_file()


def test_lf_reruns_only_the_last_failures_in_ci_test_sh_mode(tmp_path: Path) -> None:
    """ci/test.sh itself, with every step before pytest replaced by a no-op and a project of
    two tests: the second invocation with --lf runs only the one that failed."""
    script = (ROOT / "ci" / "test.sh").read_text()
    fake = tmp_path / "checkout"
    (fake / "ci").mkdir(parents=True)
    (fake / "ci" / "test.sh").write_text(script)
    (fake / "ci" / "bootstrap.sh").write_text("")
    bin_dir, venv = tmp_path / "bin", fake / ".venv" / "bin"
    bin_dir.mkdir()
    venv.mkdir(parents=True)
    version = re.search(r"^actionlint_version=(\S+)$", script, re.M)
    for tool, text in (("ruff", ""), ("mypy", ""), ("axharness", ""),
                       ("actionlint", f"echo {version[1] if version else ''}")):
        (venv / tool).write_text(f"#!/bin/sh\n{text}\n")
        (venv / tool).chmod(0o755)
    (bin_dir / "shellcheck").write_text("#!/bin/sh\n")
    (bin_dir / "shellcheck").chmod(0o755)
    (venv / "pytest").symlink_to(ROOT / ".venv" / "bin" / "pytest")
    (fake / "tests").mkdir()
    (fake / "tests" / "test_two.py").write_text(
        "from pathlib import Path\n"
        "def test_passes():\n"
        "    with (Path(__file__).parent / 'runs').open('a') as f:\n"
        "        f.write('passes\\n')\n"
        "def test_fails():\n"
        "    with (Path(__file__).parent / 'runs').open('a') as f:\n"
        "        f.write('fails\\n')\n"
        "    assert False\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("AXH_PYTEST_CACHE", "XDG_CACHE_HOME", "PYTEST_ADDOPTS")}
    env |= {"HOME": str(tmp_path / "home"), "PATH": f"{bin_dir}:{env['PATH']}"}

    def ci(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(fake / "ci" / "test.sh"), *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, check=False, timeout=300)

    first = ci()
    assert first.returncode == 1, first.stdout[-2000:] + first.stderr[-2000:]
    again = ci("--lf")
    assert again.returncode == 1, again.stdout[-2000:] + again.stderr[-2000:]
    last = again.stdout.splitlines()[-1]
    assert "1 failed" in last and "passed" not in last, again.stdout[-2000:]
    runs = (fake / "tests" / "runs").read_text().split()
    assert sorted(runs) == ["fails", "fails", "passes"]
    assert not list(fake.rglob(".pytest_cache")) and not list(fake.rglob("lastfailed"))
    assert list((tmp_path / "home" / ".cache" / "axharness-pytest").rglob("lastfailed"))
