"""The six categories exits are reported by, and the type checks every exit kind shares."""

from __future__ import annotations

import enum

from harness.model.values import AccessWidth, GuestPhysAddr, ModelError


class Category(enum.Enum):
    """axvcpu's own doc headings, regrouped; the same six names as schemas/canonical.toml's
    [category], which places every kind of every generation in one of them."""

    MEMORY = "Memory Operations"
    SYSTEM_CONTROL = "System Control"
    IO = "I/O Operations"
    CONTROL_FLOW = "Interrupts & Faults"
    POWER = "Power Management"
    MULTIPROCESSING = "Multiprocessing"


def check_gpa(value: object, what: str) -> None:
    if type(value) is not GuestPhysAddr:
        raise ModelError(f"{what}: expected GuestPhysAddr, got {type(value).__name__}")


def check_width(value: object, what: str) -> None:
    if type(value) is not AccessWidth:
        raise ModelError(f"{what}: expected AccessWidth, got {type(value).__name__}")
