"""From the model's canonical prediction to the exit one schema generation's contract requires.

The predictors (aarch64.py, riscv64.py, x86_64.py) answer in the terms of the reference
generation (harness.model.schemas.REFERENCE: AxVCpuExitReason of axvcpu 0.2 – 0.5, whose exit.rs
the model was built from).  What other generations do differently is data: the [[change]]
entries of schemas/*.toml, from the reference along the baseline chain to the schema asked for
(or back, for the older axvcpu 0.1).  Each entry that bears on a prediction has a rule here,
keyed by (arch, old kind, new kind), that rewrites the prediction from the trapping instruction;
a rule that does not fit the trap leaves it alone.  Every rule applied becomes a note (the
entry's own words and source), so a case judged by a different contract says so.  Then the
exit is fitted to the schema's variant: attributes it lacks become ABSENT (noted), and a kind
the schema has not got is no prediction at all, with the entry that says it is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from harness.model.convert import ATTRS, validate
from harness.model.exits import (
    ABSENT,
    DeactivateInterrupt,
    ExitReason,
    GicCpuInterfaceRead,
    GicCpuInterfaceWrite,
    Halt,
    Hypercall,
    IoWrite,
    MmioRead,
    Nothing,
    SendIPI,
    SendIPIHartMask,
    SendIPISgi1r,
    SysRegRead,
    SysRegWrite,
    SystemDown,
    WaitForInterrupt,
)
from harness.model.isa import aarch64 as a64
from harness.model.isa import riscv64 as rv
from harness.model.isa import x86_64 as x86
from harness.model.sysreg import A64
from harness.model.values import ModelError, Port, SysRegAddr
from harness.schema import Schema
from harness.schema.schema import Change

if TYPE_CHECKING:
    from harness.model.predict import GuestTrap


@dataclass(frozen=True, slots=True)
class ContractNote:
    """A prediction made under a contract that differs from the reference generation's."""

    schema: str
    arch: str
    old: str  # the reference kind ("" for a kind new in `schema`)
    new: str  # the kind in `schema` ("" when it has none)
    what: str
    source: str

    def __str__(self) -> str:
        change = f"{self.old or '—'} → {self.new or '(none)'}"
        return f"{self.schema} {self.arch}: {change}: {self.what} ({self.source})"


@dataclass(frozen=True, slots=True)
class Undecided:
    """A rule's exit with attributes the trap does not decide: registers the guest program
    left as they were (the runtime's own PSCI call passes no arguments, but the new contract
    reports x1..x6 whatever they hold)."""

    exit: ExitReason
    fields: frozenset[str]


Rule = Callable[["GuestTrap", "ExitReason | None", Change], "ExitReason | Undecided | None"]


def _a64_access(trap: GuestTrap) -> a64.SysRegAccess | None:
    insn = a64.decode(trap.insn)
    return insn if isinstance(insn, a64.SysRegAccess) else None


def _psci(trap: GuestTrap, exit: ExitReason | None, change: Change
          ) -> ExitReason | Undecided | None:
    """PSCI calls reach the VM runtime as Hypercall { nr: x0, args: x1..x6 }: the registers
    as they are, which a call that takes fewer arguments leaves undecided when the trap does
    not say what they hold."""
    if exit is None or change.old != exit.VARIANT:
        return None
    nr = change.fixed.get("nr")
    if not isinstance(nr, int) or trap.reg(0, "x0") & 0xFFFF_FFFF != nr:
        return None
    x = [trap.gprs.get(n) for n in range(1, 7)]
    got = Hypercall(nr=nr, args=(x[0] or 0, x[1] or 0, x[2] or 0, x[3] or 0, x[4] or 0,
                                  x[5] or 0))
    return got if None not in x else Undecided(got, frozenset({"args"}))


PSCI_VERSION = 0x8400_0000


def _psci_version(trap: GuestTrap, exit: ExitReason | None, change: Change
                  ) -> ExitReason | None:
    """PSCI_VERSION through HVC: answered by the vCPU itself (x0 exactly the function id)."""
    if isinstance(exit, Hypercall) and exit.nr == PSCI_VERSION \
            and isinstance(a64.decode(trap.insn), a64.Hvc):
        return Nothing()
    return None


def _wfi(trap: GuestTrap, exit: ExitReason | None, change: Change) -> ExitReason | None:
    return WaitForInterrupt() if isinstance(exit, Halt) else None


def _sgi1r(trap: GuestTrap, exit: ExitReason | None, change: Change) -> ExitReason | None:
    acc = _a64_access(trap)
    if acc is None or acc.is_read or acc.reg != A64["ICC_SGI1R_EL1"]:
        return None
    return SendIPISgi1r(value=0 if acc.rt == 31 else trap.reg(acc.rt, f"x{acc.rt}"))


_GIC_CPU = {A64["ICC_CTLR_EL1"].addr: "Control", A64["ICC_PMR_EL1"].addr: "PriorityMask",
            A64["ICC_RPR_EL1"].addr: "RunningPriority"}
_TIMER = frozenset(A64[n].addr for n in ("CNTFRQ_EL0", "CNTPCT_EL0", "CNTP_TVAL_EL0",
                                         "CNTP_CTL_EL0", "CNTP_CVAL_EL0"))


def _gic_read(trap: GuestTrap, exit: ExitReason | None, change: Change) -> ExitReason | None:
    if isinstance(exit, SysRegRead) and exit.addr.value in _GIC_CPU:
        assert isinstance(exit.reg, int)
        return GicCpuInterfaceRead(register=_GIC_CPU[exit.addr.value], destination=exit.reg)
    return None


def _gic_write(trap: GuestTrap, exit: ExitReason | None, change: Change) -> ExitReason | None:
    if isinstance(exit, SysRegWrite) and exit.addr.value in _GIC_CPU:
        return GicCpuInterfaceWrite(register=_GIC_CPU[exit.addr.value], value=exit.value)
    return None


def _dir(trap: GuestTrap, exit: ExitReason | None, change: Change) -> ExitReason | None:
    if isinstance(exit, SysRegWrite) and exit.addr.value == A64["ICC_DIR_EL1"].addr:
        return DeactivateInterrupt(intid=exit.value & 0x00FF_FFFF)
    return None


def _timer(trap: GuestTrap, exit: ExitReason | None, change: Change) -> ExitReason | None:
    """The EL1 physical timer's registers, read or written, are emulated inside the vCPU."""
    if isinstance(exit, SysRegRead | SysRegWrite) and exit.addr.value in _TIMER:
        return Nothing()
    return None


LEGACY_SEND_IPI = 0x04


def _sbi_ipi(trap: GuestTrap, exit: ExitReason | None, change: Change
             ) -> ExitReason | Undecided | None:
    """SBI sPI send_ipi(hart_mask, hart_mask_base) (SBI v2.0 §7.1): the request as passed.
    The legacy sbi_send_ipi(const unsigned long *hart_mask) (SBI v2.0 legacy EID 0x04) passes
    the mask through guest memory, which the trap does not show: base 0, the mask undecided."""
    if not isinstance(rv.decode(trap.insn), rv.RvEcall):
        return None
    from harness.model.predict.riscv64 import A0, A1, A6, A7, EID_IPI

    eid = trap.reg(A7, "a7 (SBI EID)")
    if eid == LEGACY_SEND_IPI:
        return Undecided(SendIPIHartMask(hart_mask=0, hart_mask_base=0, abi="Legacy"),
                         frozenset({"hart_mask"}))
    if eid != EID_IPI or trap.reg(A6, "a6 (SBI FID)") != 0:
        return None
    return SendIPIHartMask(hart_mask=trap.reg(A0, "a0"), hart_mask_base=trap.reg(A1, "a1"),
                           abi="SbiV02")


def _acpi_off(trap: GuestTrap, exit: ExitReason | None, change: Change) -> ExitReason | None:
    """The ACPI sleep write the axvcpu line turned into SystemDown is a plain port write."""
    insn = x86.decode(trap.insn, trap.x86_code_bits)
    if not isinstance(exit, SystemDown) or not isinstance(insn, x86.PortIo) or insn.is_in:
        return None
    from harness.model.predict.x86_64 import RAX, RDX

    port = insn.port if insn.port is not None else trap.reg(RDX, "RDX") & 0xFFFF
    return IoWrite(port=Port(port), width=insn.width,
                   data=trap.reg(RAX, "RAX") & insn.width.mask())


def _byte_reg(trap: GuestTrap, exit: ExitReason | None, change: Change) -> ExitReason | None:
    """`byte_reg` names AH/CH/DH/BH destinations; the model's x86 decoder emulates no MMIO
    load into them (its loads fault as NestedPageFault), so a predicted MmioRead has None."""
    if isinstance(exit, MmioRead) and exit.byte_reg is ABSENT:
        return replace(exit, byte_reg=None)
    return None


def _sgi1r_back(trap: GuestTrap, exit: ExitReason | None, change: Change) -> ExitReason | None:
    """Before SendIPI existed (axvcpu 0.1) an SGI write was an ordinary system register."""
    acc = _a64_access(trap)
    if not isinstance(exit, SendIPI) or acc is None:
        return None
    value = 0 if acc.rt == 31 else trap.reg(acc.rt, f"x{acc.rt}")
    return SysRegWrite(addr=SysRegAddr(acc.reg.addr), value=value)


def _icr_back(trap: GuestTrap, exit: ExitReason | None, change: Change) -> ExitReason | None:
    if not isinstance(exit, SendIPI):
        return None
    from harness.model.predict.x86_64 import RAX, RDX, X2APIC_ICR

    value = (trap.reg(RDX, "RDX") & 0xFFFF_FFFF) << 32 | trap.reg(RAX, "RAX") & 0xFFFF_FFFF
    return SysRegWrite(addr=SysRegAddr(X2APIC_ICR), value=value)


# (arch, old, new) of a [[change]] → its rule; "back" rules undo a change for an older schema.
RULES: dict[tuple[str, str, str], Rule] = {
    ("aarch64", "SystemDown", "Hypercall"): _psci,
    ("aarch64", "CpuDown", "Hypercall"): _psci,
    ("aarch64", "CpuUp", "Hypercall"): _psci,
    ("aarch64", "Hypercall", "Nothing"): _psci_version,
    ("aarch64", "Halt", "WaitForInterrupt"): _wfi,
    ("aarch64", "SendIPI", "SendIPISgi1r"): _sgi1r,
    ("aarch64", "SysRegRead", "GicCpuInterfaceRead"): _gic_read,
    ("aarch64", "SysRegWrite", "GicCpuInterfaceWrite"): _gic_write,
    ("aarch64", "SysRegWrite", "DeactivateInterrupt"): _dir,
    ("aarch64", "SysRegRead", "Nothing"): _timer,
    ("riscv64", "SendIPI", "SendIPIHartMask"): _sbi_ipi,
    ("x86_64", "IoWrite", "IoWrite"): _acpi_off,
    ("x86_64", "MmioRead", "MmioRead"): _byte_reg,
}
BACK_RULES: dict[tuple[str, str, str], Rule] = {
    ("aarch64", "", "SendIPI"): _sgi1r_back,
    ("x86_64", "", "SendIPI"): _icr_back,
}


def _chain(target: Schema, reference: Schema, lookup: Callable[[str], Schema]
           ) -> tuple[list[Schema], list[Schema]]:
    """(schemas whose changes lead from the reference to `target`, oldest first;
    schemas whose changes lead back from the reference to `target`, newest first)."""
    forward: list[Schema] = []
    s: Schema | None = target
    while s is not None and s.id != reference.id:
        forward.append(s)
        s = lookup(s.baseline) if s.baseline else None
    if s is not None:
        return list(reversed(forward)), []
    back: list[Schema] = []
    s = reference
    while s.id != target.id:
        back.append(s)
        if not s.baseline:
            return [], []  # unrelated schemas: nothing to translate along
        s = lookup(s.baseline)
    return [], back


def _steps(target: Schema, reference: Schema, arch: str, lookup: Callable[[str], Schema]
           ) -> Iterator[tuple[Schema, Change, Rule | None]]:
    forward, back = _chain(target, reference, lookup)
    for s in forward:
        for c in s.changes_for(arch):
            yield s, c, RULES.get((arch, c.old, c.new))
    for s in back:
        for c in s.changes_for(arch):
            yield s, c, BACK_RULES.get((arch, c.old, c.new))


def translate(trap: GuestTrap, canonical: ExitReason | None, error: ModelError | None,
              target: Schema, reference: Schema, lookup: Callable[[str], Schema]
              ) -> tuple[ExitReason | None, tuple[ContractNote, ...], frozenset[str]]:
    """The exit `target`'s contract requires on the trap's architecture (None: its enum has
    no exit for this trap; the notes say which entry removed it), with the notes of every
    change applied and the attributes the trap leaves undecided.  `error` is why the
    reference has no prediction (re-raised when no rule of `target` makes one)."""
    arch = trap.arch.value
    exit, notes = canonical, []
    gone: list[Change] = []
    undecided: frozenset[str] = frozenset()
    for s, change, rule in _steps(target, reference, arch, lookup):
        if rule is not None:
            got = rule(trap, exit, change)
            if isinstance(got, Undecided):
                undecided |= got.fields
            new = got.exit if isinstance(got, Undecided) else got
            if new is not None:
                exit = new
                notes.append(_note(s, change))
                continue
        if exit is not None and change.old == exit.VARIANT and not change.new:
            gone.append(change)
        if exit is not None and change.old == change.new == exit.VARIANT \
                and _reshaped(s, arch, exit.VARIANT, lookup):
            notes.append(_note(s, change))  # the same kind, other attributes: fitted below
    if exit is None:
        assert error is not None
        raise error
    if not target.has(arch, exit.VARIANT):
        if gone:
            return None, tuple(notes) + tuple(_note(target, c) for c in gone), frozenset()
        raise ModelError(f"{target.enum(arch).name} ({target.id}, {arch}) has no "
                         f"{exit.VARIANT}, and no [[change]] says what became of it")
    return validate(_fit(exit, target, arch), target, arch), tuple(notes), undecided


def _reshaped(s: Schema, arch: str, kind: str, lookup: Callable[[str], Schema]) -> bool:
    base = lookup(s.baseline) if s.baseline else None
    return base is None or not base.has(arch, kind) or base.attrs(arch, kind) != s.attrs(arch, kind)


def _fit(exit: ExitReason, schema: Schema, arch: str) -> ExitReason:
    """Attributes the schema's variant lacks become ABSENT."""
    keep = set(schema.attrs(arch, exit.VARIANT))
    drop: dict[str, Any] = {n: ABSENT for n, _ in ATTRS[exit.VARIANT] if n not in keep}
    return cast(ExitReason, replace(cast(Any, exit), **drop)) if drop else exit


def _note(s: Schema, c: Change) -> ContractNote:
    return ContractNote(s.id, c.arch, c.old, c.new, c.what, c.source)
