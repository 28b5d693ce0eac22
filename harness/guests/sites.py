"""Trap sites: the trapping instructions a guest executes, in order, with the register values
the reference model needs. Emitters produce them; the payload builder fills in the bytes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


@dataclass(frozen=True, slots=True)
class EmittedAction:
    """One action in assembly: set-up lines, then the trapping instruction (as lines, since
    riscv64 wraps compressed forms in `.option` directives), and what the model needs."""

    setup: tuple[str, ...]
    trap: tuple[str, ...]
    gprs: dict[int, int]
    gpa: int | None = None


@dataclass(frozen=True, slots=True)
class PayloadLayout:
    """The per-architecture frame around the actions."""

    directives: tuple[str, ...]  # before `_start` (e.g. `.code16`, `.option norvc`)
    prologue: tuple[str, ...]
    epilogue: tuple[str, ...]  # ends with the return to the runtime
    spin: str  # a branch to itself


def lay_out(actions: Sequence[object], emit_one: Callable[[object], EmittedAction],
            is_spin: Callable[[object], bool], layout: PayloadLayout) -> EmittedPayload:
    """Assemble the payload text: every trapping instruction between `axh_trap_<i>` and
    `axh_trap_<i>_end` labels, so the payload builder can hand its real bytes to the model."""
    body = list(layout.prologue)
    sites = []
    for i, action in enumerate(actions):
        if is_spin(action):  # hang without trapping: no trap site
            body += [f"/* action {i}: Spin */", layout.spin]
            continue
        emitted = emit_one(action)
        label = f"axh_trap_{i}"
        body.append(f"/* action {i}: {type(action).__name__} */")
        body += [*emitted.setup, f".global {label}", f"{label}:", *emitted.trap, f"{label}_end:"]
        sites.append(TrapSite(label, tuple(sorted(emitted.gprs.items())), emitted.gpa, i))
    body += layout.epilogue
    asm = "".join(f"    {d}\n" for d in layout.directives) + "    .text\n    .global _start\n" \
        "_start:\n" + "".join(f"{ln}\n" if ln.endswith(":") else f"    {ln}\n" for ln in body)
    return EmittedPayload(asm, tuple(sites))
