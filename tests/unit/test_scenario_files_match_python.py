"""Transient: the data catalogue (scenarios/*.toml) loads to exactly the Python catalogue it
replaces, scenario by scenario and field by field (removed with the Python catalogue)."""

from __future__ import annotations

import pytest

from harness.paths import repo_root
from harness.scenarios import aarch64, riscv64, x86_64
from harness.scenarios.load import load_file


@pytest.mark.parametrize("module", [aarch64, riscv64, x86_64], ids=lambda m: m.__name__)
def test_the_data_catalogue_is_the_python_catalogue(module: object) -> None:
    arch = module.__name__.rsplit(".", 1)[1]  # type: ignore[attr-defined]
    loaded = load_file(repo_root() / "scenarios" / f"{arch}.toml").scenarios
    python = module.SCENARIOS  # type: ignore[attr-defined]
    assert [s.name for s in loaded] == [s.name for s in python]
    for a, b in zip(loaded, python, strict=True):
        assert a == b, a.name
