"""Named values of scenarios/aarch64.toml ([values]) for code: the fuzz generator's device
window and data pattern, read when first used. The scenarios themselves are in that file."""

from __future__ import annotations

from harness.scenarios.load import module_values

DEV: int
PATTERN: int
HC_ARGS: tuple[int, ...]

__getattr__ = module_values("aarch64", __annotations__)
