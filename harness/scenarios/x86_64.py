"""Named values of scenarios/x86_64.toml ([values]) for code: the fuzz generator's panic text
for port I/O without a device. The scenarios themselves are in that file."""

from __future__ import annotations

from harness.scenarios.load import shipped_values

_VALUES = shipped_values("x86_64")
HOLE = _VALUES.integer("HOLE")
HC_ARGS = _VALUES.integers("HC_ARGS")
NO_DEVICE = _VALUES.text("NO_DEVICE")
NPF_LOOP = _VALUES.text("NPF_LOOP")
