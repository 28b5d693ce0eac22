"""Hooks shared by the integration tests."""

from __future__ import annotations

import os

import pytest


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A real Linux guest takes tens of seconds to minutes per boot under TCG: tests marked
    `slow_guest` run only with `-m slow_guest` (the nightly workflow) or AXH_SLOW_GUEST=1."""
    if item.get_closest_marker("slow_guest") is None:
        return
    if "slow_guest" not in (item.config.getoption("markexpr") or "") \
            and os.environ.get("AXH_SLOW_GUEST") != "1":
        pytest.skip("slow guest boot: selected by -m slow_guest (the nightly workflow)")
