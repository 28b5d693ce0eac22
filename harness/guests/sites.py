"""Trap sites: the trapping instructions a guest executes, in order, with the register values
the reference model needs. Emitters produce them; the payload builder fills in the bytes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class TrapSite:
    """One trapping instruction, found by its label in the assembled code."""

    label: str
    gprs: tuple[tuple[int, int], ...]  # register number -> value before the instruction
    gpa: int | None = None  # data address of a memory access
    action_index: int | None = None  # which declared action (None: the runtime's own)
    vcpu: int = 0  # which vCPU executes it (a started secondary vCPU runs its own block)
    # Registers whose value is the address of a label (an entry point), filled in from the
    # assembler's symbols by the payload builder.
    symbolic: tuple[tuple[int, str], ...] = ()


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
    symbolic: tuple[tuple[int, str], ...] = ()
    after: tuple[str, ...] = ()  # lines right after the trapping instruction (e.g. a wait)
    # Code placed after the payload's epilogue (a secondary vCPU's entry), with its sites.
    detached: tuple[str, ...] = ()
    detached_sites: tuple[TrapSite, ...] = ()


@dataclass(frozen=True, slots=True)
class PayloadLayout:
    """The per-architecture frame around the actions."""

    directives: tuple[str, ...]  # before `_start` (e.g. `.code16`, `.option norvc`)
    prologue: tuple[str, ...]
    epilogue: tuple[str, ...]  # ends with the return to the runtime
    spin: str  # a branch to itself


def trap_lines(label: str, emitted: EmittedAction) -> list[str]:
    """Set-up, then the trapping instruction between `<label>` and `<label>_end`."""
    return [*emitted.setup, f".global {label}", f"{label}:", *emitted.trap, f"{label}_end:"]


def place(label: str, emitted: EmittedAction, action_index: int | None, vcpu: int = 0
          ) -> tuple[list[str], TrapSite | None]:
    """One emitted action's lines, and its trap site (none if it does not trap by itself)."""
    if not emitted.trap:
        return [*emitted.setup, *emitted.after], None
    site = TrapSite(label, tuple(sorted(emitted.gprs.items())), emitted.gpa, action_index,
                    vcpu, emitted.symbolic)
    return trap_lines(label, emitted) + list(emitted.after), site


def detached_block(label: str, actions: Sequence[EmittedAction], *, vcpu: int
                   ) -> tuple[tuple[str, ...], tuple[TrapSite, ...]]:
    """A secondary vCPU's code: `<label>:` then its actions (ending with e.g. mark done and
    power off), every trap labelled `<label>_<n>`, their data after the code."""
    lines = [f".global {label}", f"{label}:"]
    sites = []
    data: list[str] = []
    for n, emitted in enumerate(actions):
        data += emitted.detached
        code, site = place(f"{label}_{n}", emitted, None, vcpu)
        lines += code
        if site is not None:
            sites.append(site)
    return (*lines, *data), tuple(sites)


def lay_out(actions: Sequence[object], emit_one: Callable[[object, str], EmittedAction],
            is_spin: Callable[[object], bool], layout: PayloadLayout) -> EmittedPayload:
    """Assemble the payload text: every trapping instruction between `axh_trap_<i>` and
    `axh_trap_<i>_end` labels, so the payload builder can hand its real bytes to the model.
    `emit_one(action, label)` may use `label` as a prefix for labels of its own."""
    body = list(layout.prologue)
    sites = []
    detached: list[str] = []
    detached_sites: list[TrapSite] = []
    for i, action in enumerate(actions):
        if is_spin(action):  # hang without trapping: no trap site
            body += [f"/* action {i}: Spin */", layout.spin]
            continue
        label = f"axh_trap_{i}"
        emitted = emit_one(action, label)
        body.append(f"/* action {i}: {type(action).__name__} */")
        code, site = place(label, emitted, i)
        body += code
        if site is not None:
            sites.append(site)
        detached += emitted.detached
        # The started vCPU's traps belong to the action that started it.
        detached_sites += [replace(s, action_index=i) for s in emitted.detached_sites]
    body += layout.epilogue
    body += detached
    sites += detached_sites
    asm = "".join(f"    {d}\n" for d in layout.directives) + "    .text\n    .global _start\n" \
        "_start:\n" + "".join(f"{ln}\n" if ln.endswith(":") else f"    {ln}\n" for ln in body)
    return EmittedPayload(asm, tuple(sites))
