"""Named values of scenarios/riscv64.toml ([values]) for code: the fuzz generator's device
window, SBI extension ids and the vPLIC's width panic, read when first used. The scenarios
themselves are in that file."""

from __future__ import annotations

from harness.scenarios.load import module_values

DEV: int
PATTERN: int
HC_ARGS: tuple[int, ...]
EID_DBCN: int
EID_HSM: int
WIDTH_PANIC: str
WIDTH_VM_ERROR: str

__getattr__ = module_values("riscv64", __annotations__)
