"""Named values of scenarios/riscv64.toml ([values]) for code: the fuzz generator's device
window, SBI extension ids and the vPLIC's width panic. The scenarios are in that file."""

from __future__ import annotations

from harness.scenarios.load import shipped_values

_VALUES = shipped_values("riscv64")
DEV = _VALUES.integer("DEV")
PATTERN = _VALUES.integer("PATTERN")
HC_ARGS = _VALUES.integers("HC_ARGS")
EID_DBCN = _VALUES.integer("EID_DBCN")
EID_HSM = _VALUES.integer("EID_HSM")
WIDTH_PANIC = _VALUES.text("WIDTH_PANIC")
