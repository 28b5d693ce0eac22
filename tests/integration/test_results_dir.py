"""`axharness run --results DIR`: a directory the run cannot write its results into is refused
with one line (exit 1) before any case runs, never found out by a traceback after the cases
ran; `--force` replaces the previous run instead of mixing its cases with the new ones."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.images.build import Image
from harness.images.recipe import ImageRecipe

pytestmark = [pytest.mark.integration, pytest.mark.aarch64]

ROOT = Path(__file__).resolve().parents[2]
# One real case: if the directory were checked only at the end, it would have run.
RUN = [sys.executable, "-m", "harness", "run", "--recipe", "aarch64", "--scenario", "first-guest"]


def run(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, *RUN, *args], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=300)


def assert_refused(res: subprocess.CompletedProcess[str], message: str) -> None:
    assert res.returncode == 1, res.stderr[-2000:]
    assert res.stderr.splitlines() == [f"axharness: error: {message}"], res.stderr[-2000:]
    assert "aarch64/first-guest" not in res.stderr + res.stdout  # no case ran


@pytest.fixture
def image(axh_image: Callable[[str], tuple[ImageRecipe, Image]]) -> None:
    axh_image("aarch64")  # built and runnable: only the results directory can stop the run


def test_results_that_is_a_file_is_refused(image: None, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert_refused(run("--results", str(tmp_path / "f")), f"--results {tmp_path}/f is not a "
                   "directory")


def test_results_under_a_file_is_refused(image: None, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert_refused(run("--results", str(tmp_path / "f" / "r")),
                   f"cannot create --results {tmp_path}/f/r: Not a directory")


def test_results_json_that_is_a_directory_is_refused_even_with_force(
        image: None, tmp_path: Path) -> None:
    (tmp_path / "results.json").mkdir()
    assert_refused(run("--results", str(tmp_path), "--force"),
                   f"{tmp_path}/results.json is a directory, not a file; remove it or choose "
                   "another --results")


def test_results_on_a_read_only_file_system_is_refused(image: None, tmp_path: Path) -> None:
    # A private mount namespace: a read-only tmpfs nobody else sees, gone with the process.
    mnt = tmp_path / "ro"
    mnt.mkdir()
    script = (f"mount -t tmpfs -o size=1m none {mnt} && mkdir {mnt}/r && "
              f"mount -o remount,ro {mnt} && exec \"$@\"")
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-m", "sh", "-c", script, "sh", "true"],
                           capture_output=True, text=True, check=False) if unshare else None
    if probe is None or probe.returncode != 0:
        pytest.skip("cannot make a read-only mount here (unshare -m needs CAP_SYS_ADMIN): "
                    + (probe.stderr.strip() if probe else "no unshare"))
    res = run("--results", f"{mnt}/r", prefix=("unshare", "-m", "sh", "-c", script, "sh"))
    assert_refused(res, f"cannot write in --results {mnt}/r: Read-only file system")


def test_force_replaces_the_previous_run_instead_of_mixing_cases(
        image: None, tmp_path: Path) -> None:
    old = tmp_path / "cases" / "aarch64_old-scenario"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text("{}")
    (tmp_path / "results.json").write_text("{}")
    refused = run("--results", str(tmp_path))
    assert_refused(refused, f"{tmp_path}/results.json exists; pass --force or choose another "
                   "--results")
    res = run("--results", str(tmp_path), "--force")
    assert res.returncode == 0, res.stderr[-2000:]
    assert sorted(os.listdir(tmp_path / "cases")) == ["aarch64_first-guest"]
    doc = json.loads((tmp_path / "results.json").read_text())
    assert [c["case"] for c in doc["cases"]] == ["aarch64/first-guest"]


def test_cases_of_an_unfinished_run_need_force_too(image: None, tmp_path: Path) -> None:
    (tmp_path / "cases" / "aarch64_old-scenario").mkdir(parents=True)
    assert_refused(run("--results", str(tmp_path)),
                   f"{tmp_path}/cases exists; pass --force or choose another --results")
