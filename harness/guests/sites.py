"""Trap sites: the trapping instructions a guest executes, in order, with the register values
the reference model needs. Emitters produce them; the payload builder fills in the bytes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TrapSite:
    """One trapping instruction, found by its label in the assembled code."""

    label: str
    gprs: tuple[tuple[int, int], ...]  # register number -> value before the instruction
    gpa: int | None = None  # data address of a memory access
    action_index: int | None = None  # which declared action (None: the runtime's own)


@dataclass(frozen=True, slots=True)
class EmittedPayload:
    asm: str
    sites: tuple[TrapSite, ...]
