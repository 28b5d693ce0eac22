"""The data address of a trapped load or store, held against what its instruction computes.

The trap carries the GPA the scenario meant; the decoded instruction and the register values
give the address the access really has. When the registers are known the two must agree: an
emitter that set up the base or index wrongly is a model error, not a divergence blamed on
the hypervisor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.model.values import ModelError

if TYPE_CHECKING:
    from harness.model.predict import GuestTrap


def data_address(trap: GuestTrap, computed: int | None, how: str, missing: str = "") -> int:
    """trap.gpa, checked against `computed` (None: registers unknown); `how` names the
    instruction's addressing for the error, `missing` the trap without a GPA (default: a
    load/store's)."""
    gpa = trap.data_gpa(missing) if missing else trap.data_gpa()
    if computed is not None and computed != gpa:
        raise ModelError(f"the instruction addresses {computed:#x} ({how}) but the trap's "
                         f"GPA is {gpa:#x}")
    return gpa
