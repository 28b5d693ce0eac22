"""All scenarios by architecture."""

from __future__ import annotations

import fnmatch

from harness.scenarios import aarch64, riscv64, x86_64
from harness.scenarios.catalogue import Scenario

_BY_ARCH: dict[str, tuple[Scenario, ...]] = {
    "aarch64": aarch64.SCENARIOS,
    "riscv64": riscv64.SCENARIOS,
    "x86_64": x86_64.SCENARIOS,
}


def scenarios_for(arch: str, pattern: str = "*") -> tuple[Scenario, ...]:
    return tuple(s for s in _BY_ARCH.get(arch, ()) if fnmatch.fnmatch(s.name, pattern))


def scenarios_for_recipe(name: str, arch: str, own_only: bool, pattern: str = "*"
                         ) -> tuple[Scenario, ...]:
    """Scenarios an image runs: those that name it, plus (unless the recipe runs only its
    own) those that name no image."""
    return tuple(s for s in scenarios_for(arch, pattern)
                 if name in s.images or (not s.images and not own_only))


def all_arches() -> tuple[str, ...]:
    return tuple(_BY_ARCH)
