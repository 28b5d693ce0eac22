"""What the oracle's rules share: the context of a trap beyond its syndrome, and the way to a
register-level rule of the reference model.

What the syndrome decodes (ESR_EL2.ISS, scause/stval, EXITINFO1/2) is decoded here, in the
per-architecture modules. What only the registers decide (PSCI and SBI function numbers, the
hypercall ABI, the SGI1R and ICR layouts, the ACPI power-off pattern) is the reference model's
rule already: `via_model` hands those to harness.model.predict with the trapping instruction
rebuilt from the syndrome, so both predictors share one copy of those rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from harness.model.arch import Arch
from harness.model.convert import exit_to_json
from harness.model.exits import ExitReason
from harness.model.predict import GuestTrap, alternatives, free_fields
from harness.model.predict import predict as model_predict
from harness.model.values import ModelError
from harness.oracle.expect import Candidate, Expectation
from harness.schema import Schema


@dataclass(frozen=True, slots=True)
class TrapContext:
    """What the oracle may know besides the logged syndrome.

    `gprs`: general-purpose registers at the trap (number -> value), as far as known.
    `stage1_off`: the guest runs without its own translation, so the logged fault address
    (FAR_EL2, stval) is the guest-physical address. `hpfar` (AArch64 HPFAR_EL2), `htval` and
    `htinst` (RISC-V): registers QEMU does not log, for a caller that read them elsewhere.
    """

    schema: Schema
    gprs: Mapping[int, int] = field(default_factory=dict)
    stage1_off: bool = False
    hpfar: int | None = None
    htval: int | None = None
    htinst: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "gprs", MappingProxyType(dict(self.gprs)))


def whole(exit: ExitReason, arch: Arch) -> Candidate:
    """A candidate that decides every field of `exit` but those the contract leaves free."""
    free = free_fields(exit, arch)
    fields = exit_to_json(exit)["fields"]
    return Candidate(exit.VARIANT, {k: v for k, v in fields.items() if k not in free},
                     {k: "the contract leaves it undefined" for k in fields if k in free})


def via_model(arch: Arch, insn: bytes, ctx: TrapContext, rule: str, *,
              backend: str = "", gprs: Mapping[int, int] | None = None,
              unknown: tuple[Candidate, ...] = ()) -> Expectation:
    """The model's register-level rule for the instruction the syndrome names. Registers it
    needs but the context lacks leave the exit open among `unknown`."""
    trap = GuestTrap(arch=arch, insn=insn, gprs=dict(ctx.gprs if gprs is None else gprs),
                     backend=backend)
    try:
        exit = model_predict(trap, ctx.schema)
    except ModelError as exc:
        if "lacks" not in str(exc):
            return Expectation(rule, outside=str(exc))
        return Expectation(rule, tuple(
            Candidate(c.variant, c.fields, {**c.undecided, "*": str(exc)}) for c in unknown))
    cands = (whole(exit, arch), *(whole(a, arch) for a in alternatives(exit)))
    return Expectation(rule, cands)
