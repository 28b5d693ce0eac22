"""Named values of scenarios/aarch64.toml ([values]) for code: the fuzz generator's device
window and data pattern. The scenarios themselves are in that file."""

from __future__ import annotations

from harness.scenarios.load import shipped_values

_VALUES = shipped_values("aarch64")
DEV = _VALUES.integer("DEV")
PATTERN = _VALUES.integer("PATTERN")
HC_ARGS = _VALUES.integers("HC_ARGS")
