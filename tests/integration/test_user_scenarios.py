"""docs/writing-a-scenario.md holds: its example file, run with the command it shows on real
QEMU (aarch64 image), passes with the output it shows; its documented mistake gives its
documented one-line error."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli import main
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.paths import repo_root
from harness.pytest_plugin import AxhOptions
from harness.scenarios import registry

DOC = repo_root() / "docs" / "writing-a-scenario.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


def blocks(lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(DOC.read_text()) if kind == lang]


def example() -> str:
    """The first TOML block: the example file."""
    return blocks("toml")[0]


def shown_line(prefix: str) -> str:
    """The documented line starting with `prefix`, from the doc's plain code blocks."""
    for body in blocks("") + blocks("sh"):
        for line in body.splitlines():
            if line.startswith(prefix):
                return line
    raise AssertionError(f"{DOC} shows no line starting with {prefix!r}")


@pytest.fixture
def catalogue_after() -> object:
    yield
    registry.use_files(None)


def test_the_documented_mistake_is_refused_with_the_documented_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], catalogue_after: object) -> None:
    text = example()
    first_store = "width = 4, value = 0x1234_5678"
    assert text.count(first_store) == 1
    path = tmp_path / "my-scenarios.toml"
    path.write_text(text.replace(first_store, first_store.replace("4", "3", 1)))
    assert main(["run", "--scenarios", str(path), "--results", str(tmp_path / "r")]) == 1
    documented = shown_line("axharness: error: my-scenarios.toml:")
    assert capsys.readouterr().err.strip() == documented.replace("my-scenarios.toml", str(path))


@pytest.mark.integration
@pytest.mark.aarch64
def test_the_documented_example_passes_on_real_qemu_with_the_documented_command(
        tmp_path: Path, axh_options: AxhOptions,
        axh_image: Callable[[str], tuple[ImageRecipe, Image]]) -> None:
    axh_image("aarch64")  # built (or this test skipped with the host's reason) first
    (tmp_path / "my-scenarios.toml").write_text(example())
    command = shlex.split(shown_line("axharness run --scenarios my-scenarios.toml"))
    results = tmp_path / "results" / "mine"
    assert command[-2:] == ["--results", "results/mine"]
    argv = [sys.executable, "-m", "harness", *command[1:], "--cache-dir", str(axh_options.cache),
            "--timeout-scale", str(axh_options.timeout_scale), "-j", "1"]
    run = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    names = re.findall(r'^name = "([^"]+)"$', example(), re.M)
    cases = json.loads((results / "results.json").read_text())["cases"]
    assert sorted(c["case"] for c in cases) == sorted(f"aarch64/{n}" for n in names)
    assert all(c["verdict"] == "pass" for c in cases), [c["detail"] for c in cases]
    # the console lines the doc shows, durations aside
    def plain(line: str) -> str:
        return re.sub(r" \(\d+\.\d+s\)", "", line)
    logged = {plain(line) for line in run.stderr.splitlines()}
    for name in names:
        assert plain(shown_line(f"pass       aarch64/{name} ")) in logged
