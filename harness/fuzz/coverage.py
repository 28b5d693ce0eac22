"""Coverage of a fuzz run: which (variant, width, signedness, register class, addressing form)
combinations actually reached axvisor and came back as an exit — the measure of whether more
seeds still explore something new."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.check.compare import ASYNC_VARIANTS
from harness.scenarios.actions import Action, MmioLoad, MmioStore

NA = "-"


@dataclass(frozen=True, slots=True, order=True)
class Combo:
    variant: str  # the observed exit's variant
    width: str  # access width in bytes, or "-"
    signedness: str  # "signed"/"unsigned" for loads, "-" otherwise
    reg_class: str  # aarch64: w, x, wzr, xzr; riscv64: x0, x8-x15, gpr
    form: str  # addressing form (imm, pre, post, compressed), or "-"

    def __str__(self) -> str:
        return "/".join((self.variant, self.width, self.signedness, self.reg_class, self.form))


def reg_class(arch: str, action: MmioStore | MmioLoad) -> str:
    if arch == "aarch64":
        if isinstance(action, MmioStore):
            wide = action.width == 8
            return ("xzr" if wide else "wzr") if action.reg == 31 else ("x" if wide else "w")
        wide = action.reg64 if action.signed else action.width == 8
        return "x" if wide else "w"
    if isinstance(action, MmioStore) and action.reg == 0:
        return "x0"
    return "x8-x15" if 8 <= action.reg <= 15 else "gpr"


def synchronous(expected: Sequence[dict[str, Any]], observed: Sequence[dict[str, Any]]
                ) -> list[dict[str, Any]]:
    """Observed exits (JSON form) without the unpredicted asynchronous ones, as
    harness.check.compare.split_async sets them aside: position i is then the i-th trap."""
    kept: list[dict[str, Any]] = []
    for rec in observed:
        nxt = expected[len(kept)] if len(kept) < len(expected) else None
        if rec["variant"] in ASYNC_VARIANTS and (nxt is None or nxt["variant"] != rec["variant"]):
            continue
        kept.append(rec)
    return kept


def combos(arch: str, actions: Sequence[Action], expected: Sequence[dict[str, Any]],
           observed: Sequence[dict[str, Any]]) -> frozenset[Combo]:
    """Combinations seen in one run: each action paired with the exit observed for it."""
    seen = synchronous(expected, observed)
    out = set()
    for action, rec in zip(actions, seen, strict=False):
        variant = str(rec["variant"])
        if isinstance(action, MmioStore):
            out.add(Combo(variant, str(action.width), NA, reg_class(arch, action), action.form))
        elif isinstance(action, MmioLoad):
            out.add(Combo(variant, str(action.width), "signed" if action.signed else "unsigned",
                          reg_class(arch, action), action.form))
        else:
            out.add(Combo(variant, NA, NA, NA, type(action).__name__))
    return frozenset(out)


def union(sets: Iterable[frozenset[Combo]]) -> frozenset[Combo]:
    out: set[Combo] = set()
    for s in sets:
        out |= s
    return frozenset(out)
