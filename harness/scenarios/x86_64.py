"""Named values of scenarios/x86_64.toml ([values]) for code: the fuzz generator's panic text
for port I/O without a device, read when first used. The scenarios are in that file."""

from __future__ import annotations

from harness.scenarios.load import module_values

HOLE: int
HC_ARGS: tuple[int, ...]
NO_DEVICE: str
NPF_LOOP: str

__getattr__ = module_values("x86_64", __annotations__)
