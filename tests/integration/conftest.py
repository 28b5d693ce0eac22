"""Hooks shared by the integration tests."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.images.build import build_image
from harness.images.cache import cache_root
from harness.images.recipe import load_recipe
from harness.oracle.linux.boot import boot_and_judge
from harness.paths import repo_root


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A real Linux guest takes tens of seconds to minutes per boot under TCG: tests marked
    `slow_guest` run only with `-m slow_guest` (the nightly workflow) or AXH_SLOW_GUEST=1."""
    if item.get_closest_marker("slow_guest") is None:
        return
    if "slow_guest" not in (item.config.getoption("markexpr") or "") \
            and os.environ.get("AXH_SLOW_GUEST") != "1":
        pytest.skip("slow guest boot: selected by -m slow_guest (the nightly workflow)")


@pytest.fixture
def booted_linux(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Boot the Linux guest of images/recipes-linux/<name>.toml in tmp_path/<name>-gdb|log,
    judge every exit, check it reached its init and powered off; its summary (linux.json)."""

    def run(name: str, *, gdb: bool) -> dict[str, Any]:
        root = repo_root()
        recipe = load_recipe(root / "images/recipes-linux" / f"{name}.toml", root)
        image = build_image(recipe, cache_root(None))
        data = boot_and_judge(image, recipe, tmp_path / f"{name}-{'gdb' if gdb else 'log'}",
                              gdb=gdb)
        print(json.dumps({k: v for k, v in data.items() if k not in ("differences", "unpaired")}))
        assert data["panic"] is None, data["panic"]
        assert data["ending"] == "watcher" and data["detail"] == "end", data["detail"]
        assert data["markers"] == {"init": True, "poweroff": True}
        assert data["variants"].get("SystemDown") == 1
        assert data["parse_errors"] == []
        return data

    return run
