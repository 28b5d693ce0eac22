"""Stage-2 faults that no architecture can report as an MMIO access."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.model.exits import NestedPageFault
from harness.model.predict.address import data_address
from harness.model.values import GuestPhysAddr, MappingFlags

if TYPE_CHECKING:
    from harness.model.predict import GuestTrap


def nested_fault(trap: GuestTrap, flags: int, no_gpa: str, computed: int | None = None,
                 how: str = "") -> NestedPageFault:
    """NestedPageFault at the trap's GPA with `flags` (MappingFlags bits); `no_gpa` is the
    error when the scenario gave none. `computed`: the address the instruction itself makes
    from its registers (None: unknown), which must be that GPA, or the scenario's emitter
    slipped and axvisor would be blamed for it; `how` names the addressing."""
    return NestedPageFault(addr=GuestPhysAddr(data_address(trap, computed, how, no_gpa)),
                           access_flags=MappingFlags(flags))


def fetch_fault(trap: GuestTrap, target: int | None = None, how: str = "") -> NestedPageFault:
    """A branch whose target is not mapped in stage 2: the fetch there faults (AArch64
    Instruction Abort EC 0x20, RISC-V instruction guest-page fault scause 20, x86 #NPF / EPT
    violation with the fetch bit). An instruction fetch is no device access, so it cannot
    be MmioRead: the vCPU hands the fault over as NestedPageFault (exit.rs: "guest accesses
    unmapped memory regions") at the target, with the access it was: EXECUTE."""
    return nested_fault(trap, MappingFlags.EXECUTE, "a branch trap needs the target GPA",
                        target, how)
