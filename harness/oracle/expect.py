"""What the syndrome oracle says about one trap, and how an exit is held to it.

A rule rarely knows a whole exit: the syndrome fixes some fields (a load's width, register and
signedness from ESR_EL2.ISS), the register file others (store data, hypercall arguments), and
some stay open (ISV = 0 gives neither width nor register; HPFAR is not logged). So an
`Expectation` lists the exits the contract allows for the trap (`Candidate`s, the rule's own
first), each with the fields it decides (in `exit_to_json` form) and the fields it leaves open
with the reason. `judge` then checks the decided fields plus invariants that hold whatever the
open fields are: store data fits the access width, `reg_width >= width`, and an address whose
page is unknown keeps the faulting address's offset in the page (`page_offset`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from harness.model.convert import exit_to_json
from harness.model.exits import ExitReason
from harness.model.values import AccessWidth

PAGE = 0x1000


@dataclass(frozen=True, slots=True)
class Candidate:
    """One exit the contract allows: its variant, the fields the trap decides (Rust names,
    `exit_to_json` values) and the fields it leaves open, each with why."""

    variant: str
    fields: Mapping[str, object] = field(default_factory=dict)
    undecided: Mapping[str, str] = field(default_factory=dict)
    page_offset: int | None = None  # addr % PAGE when only the offset is known (FAR, no IPA)
    page: int | None = None  # the page addr must be in when only the page is known (HPFAR)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "undecided", MappingProxyType(dict(self.undecided)))


@dataclass(frozen=True, slots=True)
class Expectation:
    """The oracle's answer for one trap. `candidates` empty means the contract has no exit
    for it (`outside` says why); `asynchronous` marks interrupts, whose exit the pairing may
    set aside; `rule` names the manual section the rule follows."""

    rule: str
    candidates: tuple[Candidate, ...] = ()
    asynchronous: bool = False
    outside: str = ""

    @property
    def primary(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(c.variant for c in self.candidates)


class Outcome(enum.Enum):
    AGREE = "agree"  # every field decided and equal, invariants hold
    PARTIAL = "partial"  # decided fields equal, invariants hold, some fields open
    DIFFER = "differ"  # a decided field, the variant or an invariant is wrong
    NO_RULE = "no-rule"  # the contract has no exit for this trap


@dataclass(frozen=True, slots=True)
class Judgement:
    outcome: Outcome
    problems: tuple[str, ...] = ()
    undecided: tuple[str, ...] = ()  # "field: why" of the matched candidate


def _invariants(cand: Candidate, obs: Mapping[str, object]) -> list[str]:
    out: list[str] = []
    if cand.variant in ("MmioWrite", "IoWrite") and "data" in obs and "width" in obs:
        width = AccessWidth.from_name(str(obs["width"]))
        data = obs["data"]
        if isinstance(data, int) and data > width.mask():
            out.append(f"data {data:#x} does not fit the {width.name} access")
    if cand.variant == "MmioRead" and "width" in obs and "reg_width" in obs:
        width = AccessWidth.from_name(str(obs["width"]))
        reg_width = AccessWidth.from_name(str(obs["reg_width"]))
        if reg_width.value < width.value:
            out.append(f"reg_width {reg_width.name} is narrower than the {width.name} access")
    addr = obs.get("addr")
    if "addr" not in cand.fields and isinstance(addr, int):
        if cand.page_offset is not None and addr % PAGE != cand.page_offset:
            out.append(f"addr {addr:#x} is not at offset {cand.page_offset:#x} of its page, "
                       "where the fault was")
        if cand.page is not None and addr - addr % PAGE != cand.page:
            out.append(f"addr {addr:#x} is outside the faulting page {cand.page:#x}")
    return out


def _fmt(value: object) -> str:
    return hex(value) if isinstance(value, int) and not isinstance(value, bool) else repr(value)


def judge(exp: Expectation, exit: ExitReason) -> Judgement:
    """Hold an observed (or instruction-predicted) exit to the expectation."""
    if not exp.candidates:
        return Judgement(Outcome.NO_RULE, (exp.outside,))
    obs = exit_to_json(exit)
    match = next((c for c in exp.candidates if c.variant == obs["variant"]), None)
    if match is None:
        allowed = " or ".join(exp.variants)
        return Judgement(Outcome.DIFFER, (f"variant {obs['variant']}, the trap allows "
                                          f"{allowed} ({exp.rule})",))
    fields = obs["fields"]
    problems = [f"{name}: expected {_fmt(want)}, got {_fmt(fields.get(name))}"
                for name, want in match.fields.items() if fields.get(name) != want]
    problems += _invariants(match, fields)
    open_fields = tuple(f"{k}: {why}" for k, why in match.undecided.items())
    if problems:
        return Judgement(Outcome.DIFFER, tuple(problems), open_fields)
    return Judgement(Outcome.PARTIAL if open_fields else Outcome.AGREE, (), open_fields)
