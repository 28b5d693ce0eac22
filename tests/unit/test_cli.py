"""The CLI's contract with users: usage mistakes exit 1 with one line naming the problem, and
never print a Python traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def axharness(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=cwd, check=False, timeout=120)


@pytest.mark.parametrize(("args", "message"), [
    (("run", "--recipe", "nope", "--results", "{tmp}/r"), "no recipe named nope"),
    (("run", "--jobs", "0", "--results", "{tmp}/r"), "--jobs must be >= 1"),
    (("images", "list", "--recipe", "{tmp}/missing.toml"), "cannot read recipe"),
    (("parse", "{tmp}/missing.log"), "missing.log"),
    (("run", "--no-such-option"), "unrecognized arguments"),
])
def test_usage_errors_exit_1_with_a_message_and_no_traceback(
        tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    res = axharness(*(a.format(tmp=tmp_path) for a in args))
    assert res.returncode == 1, res.stderr
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_run_refuses_to_overwrite_existing_results(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("{}")
    res = axharness("run", "--results", str(tmp_path))
    assert res.returncode == 1 and "exists; pass --force" in res.stderr
    assert (tmp_path / "results.json").read_text() == "{}"


def test_images_list_names_every_recipe() -> None:
    res = axharness("images", "list")
    assert res.returncode == 0
    for name in ("aarch64", "aarch64-emu-irq", "riscv64", "x86_64-svm", "x86_64-vmx"):
        assert any(line.startswith(name + " ") for line in res.stdout.splitlines()), name
