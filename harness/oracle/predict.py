"""The syndrome oracle's entry point: a trap as the hardware reports it, plus what is known of
the register file, to the exits a correct vCPU may report (harness.oracle.expect).

The schema generation is a parameter: a rule names canonical exit classes
(harness.model.exits) and `expect` drops the candidates the generation does not have, so a new
generation needs no new rules unless it brings a new exit kind.
"""

from __future__ import annotations

from harness.oracle import aarch64, riscv64, x86_svm
from harness.oracle.context import TrapContext
from harness.oracle.expect import Expectation
from harness.oracle.records import A64Trap, RvTrap, SvmExit, Trap

__all__ = ["TrapContext", "expect"]


def expect(trap: Trap, ctx: TrapContext) -> Expectation:
    """The oracle's answer for one trap, restricted to the kinds `ctx.schema` has."""
    if isinstance(trap, A64Trap):
        exp = aarch64.expect(trap, ctx)
    elif isinstance(trap, RvTrap):
        exp = riscv64.expect(trap, ctx)
    elif isinstance(trap, SvmExit):
        exp = x86_svm.expect(trap, ctx)
    else:  # pragma: no cover - Trap is a closed union
        raise TypeError(trap)
    arch = "aarch64" if isinstance(trap, A64Trap) else "riscv64" if isinstance(trap, RvTrap) \
        else "x86_64"
    kept = tuple(c for c in exp.candidates if ctx.schema.has(arch, c.variant))
    if exp.candidates and not kept:
        return Expectation(exp.rule, (), exp.asynchronous,
                           f"schema {ctx.schema.id} has none of {', '.join(exp.variants)}")
    return Expectation(exp.rule, kept, exp.asynchronous, exp.outside)
