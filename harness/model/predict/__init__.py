"""Predict the exit the contract requires for one trapping guest instruction.

`predict(trap, schema)` answers: *given that this instruction trapped to the hypervisor*, which
exit describes it correctly under the architecture's manuals and the schema generation's
contract?  The per-architecture predictors answer once, in the reference generation's terms
(exit.rs of axvcpu 0.2 – 0.5); harness.model.predict.translate carries that answer to the
generation asked for through its [[change]] data, with a note for every change it applied
(`prediction`).  Whether the instruction traps at all under a given hypervisor
configuration is `harness.model.arch.contract`'s business, not this module's.

The model predicts the architecturally correct value even where axvisor is known to differ
(e.g. AArch64 `signed_ext`, store data wider than the access); the harness reports such
differences as divergences.  Fields the contract leaves undefined are listed by
`free_fields`, and exits a vCPU may substitute by emulating a register itself by
`alternatives`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from harness.model import schemas
from harness.model.arch import Arch, contract
from harness.model.exits import (
    ABSENT,
    CpuDown,
    CpuUp,
    ExitReason,
    MmioRead,
    Nothing,
    SendIPI,
    SysRegRead,
    SysRegWrite,
)
from harness.model.predict.translate import ContractNote, translate
from harness.model.values import U64_MAX, ModelError
from harness.schema import Schema

_MAX_GPR = {Arch.AARCH64: 30, Arch.RISCV64: 31, Arch.X86_64: 15}
_INSN_LEN = {Arch.AARCH64: (4, 4), Arch.RISCV64: (2, 4), Arch.X86_64: (1, 15)}


@dataclass(frozen=True, slots=True)
class GuestTrap:
    """One trapping guest instruction: its bytes as assembled, the registers before it executes,
    and (memory accesses) the guest-physical data address."""

    arch: Arch
    insn: bytes
    gprs: Mapping[int, int]
    gpa: int | None = None
    backend: str = ""
    x86_code_bits: int = 64
    """x86 only: 16 (real mode), 32 or 64 -- the code segment's size, which sets the default
    operand size of IN/OUT (SDM vol. 1 §3.6)."""

    def __post_init__(self) -> None:
        if not isinstance(self.arch, Arch):
            raise ModelError(f"GuestTrap.arch: expected Arch, got {self.arch!r}")
        lo, hi = _INSN_LEN[self.arch]
        if not isinstance(self.insn, bytes) or not lo <= len(self.insn) <= hi:
            raise ModelError(f"GuestTrap.insn: {self.arch.value} needs {lo}..{hi} bytes")
        regs = dict(self.gprs)
        for num, value in regs.items():
            if not (type(num) is int and 0 <= num <= _MAX_GPR[self.arch]):
                raise ModelError(f"GuestTrap.gprs: no register {num!r} on {self.arch.value}")
            if not (type(value) is int and 0 <= value <= U64_MAX):
                raise ModelError(f"GuestTrap.gprs[{num}]: {value!r} is not a 64-bit value")
        object.__setattr__(self, "gprs", MappingProxyType(regs))
        if self.gpa is not None and not (type(self.gpa) is int and 0 <= self.gpa <= U64_MAX):
            raise ModelError(f"GuestTrap.gpa: {self.gpa!r} is not a 64-bit address")
        if self.arch is Arch.X86_64:
            if self.backend not in ("", "vmx", "svm"):
                raise ModelError(
                    f"GuestTrap.backend: expected vmx, svm or '', got {self.backend!r}"
                )
            if self.x86_code_bits not in (16, 32, 64):
                raise ModelError(f"GuestTrap.x86_code_bits: expected 16, 32 or 64, "
                                 f"got {self.x86_code_bits!r}")  # fmt: skip
        elif self.backend:
            raise ModelError(f"GuestTrap.backend is x86-only, got {self.backend!r}")
        elif self.x86_code_bits != 64:
            raise ModelError("GuestTrap.x86_code_bits is x86-only")

    def reg(self, num: int, name: str = "") -> int:
        """Value of GPR `num`; ModelError naming it if the caller did not supply it."""
        if self.arch is Arch.RISCV64 and num == 0:
            return 0  # x0 is hard-wired to zero (Unprivileged spec §2.1)
        try:
            return self.gprs[num]
        except KeyError:
            label = name or f"register {num}"
            raise ModelError(f"prediction needs {label} but GuestTrap.gprs lacks it") from None

    def data_gpa(self, missing: str = "a load/store trap needs GuestTrap.gpa") -> int:
        """The GPA the trapping access touches; ModelError(`missing`) if absent."""
        if self.gpa is None:
            raise ModelError(missing)
        return self.gpa


@dataclass(frozen=True, slots=True)
class Prediction:
    """The exit a schema's contract requires for one trap (None: its enum has none, and a
    note says which [[change]] took it away), and the notes of every change applied."""

    exit: ExitReason | None
    notes: tuple[ContractNote, ...] = ()
    canonical: ExitReason | None = None  # the reference generation's answer (None: none)
    # Attributes of `exit` the trap does not decide (registers the guest left as they were):
    # a comparison holds the vCPU to any value there.
    undecided: frozenset[str] = frozenset()


def canonical(trap: GuestTrap) -> ExitReason:
    """The exit the reference generation's contract requires (ModelError: none, or an
    instruction the model does not know)."""
    from harness.model.predict import aarch64, riscv64, x86_64

    if trap.arch is Arch.AARCH64:
        return aarch64.predict(trap)
    if trap.arch is Arch.RISCV64:
        return riscv64.predict(trap)
    return x86_64.predict(trap)


def prediction(trap: GuestTrap, schema: Schema) -> Prediction:
    """The exit `schema`'s contract requires for `trap`, with the notes of the changes that
    made it differ from the reference generation's answer."""
    try:
        exit: ExitReason | None = canonical(trap)
        error: ModelError | None = None
    except ModelError as exc:
        exit, error = None, exc
    got, notes, undecided = translate(trap, exit, error, schema,
                                      schemas.schema(schemas.REFERENCE), schemas.schema)
    return Prediction(got, notes, exit, undecided)


def configured(p: Prediction, arch: Arch, schema: Schema) -> Prediction:
    """`p` as the line's trap configuration lets it happen: an exit of a kind the
    architecture's contract rules out under that schema's hypervisors (harness.model.arch:
    an aarch64 WFI with HCR_EL2.TWI clear) is no exit, with a note giving the reason; the
    instruction completes in the guest instead."""
    why = contract(arch, schema).impossible.get(p.exit.VARIANT) if p.exit is not None else None
    if p.exit is None or why is None:
        return p
    note = ContractNote(schema.id, arch.value, p.exit.VARIANT, "", why, "harness.model.arch")
    return Prediction(None, (*p.notes, note), p.canonical)


def predict(trap: GuestTrap, schema: Schema) -> ExitReason:
    """The exit `schema`'s contract requires for `trap`; ModelError for unknown instructions
    and for traps its enum has no exit for."""
    p = prediction(trap, schema)
    if p.exit is None:
        raise ModelError(f"{schema.enum(trap.arch.value).name} ({schema.id}) has no exit for "
                         f"this trap: {'; '.join(n.what for n in p.notes)}")
    return p.exit


def free_fields(exit: ExitReason, arch: Arch) -> frozenset[str]:
    """Rust field names of `exit` whose value the contract leaves undefined, so a comparison
    must not hold the vCPU to the predicted value.

    * `CpuDown._state`: "currently unused" (exit.rs).
    * `SendIPI.target_cpu`/`target_cpu_aux` when `send_to_all` or `send_to_self`: "invalid"
      then (exit.rs); `target_cpu_aux` off AArch64: "currently used only on AArch64".
    * `MmioRead.signed_ext` when width == reg_width: nothing is left to extend.
    * x86 `SysRegRead.reg` ("unused on x86_64", the result goes to EDX:EAX) and
      `CpuUp.arg` ("currently unused" on x86_64).
    """
    free: set[str] = set()
    if isinstance(exit, CpuDown):
        free.add("state")
    elif isinstance(exit, SendIPI):
        if exit.send_to_all or exit.send_to_self:
            free |= {"target_cpu", "target_cpu_aux"}
        if arch is not Arch.AARCH64:
            free.add("target_cpu_aux")
    elif isinstance(exit, MmioRead):
        if exit.width is exit.reg_width and exit.signed_ext is not ABSENT:
            free.add("signed_ext")
    elif isinstance(exit, SysRegRead) and arch is Arch.X86_64:
        free.add("reg")
    elif isinstance(exit, CpuUp) and arch is Arch.X86_64:
        free.add("arg")
    return frozenset(free)


def alternatives(predicted: ExitReason) -> tuple[ExitReason, ...]:
    """Other exits the contract equally allows for the same trap.

    A system-register access (MSR/MRS, CSR, RDMSR/WRMSR) names a register the vCPU may
    emulate itself, in which case exit.rs's `Nothing` ("the VCpu handled the exit
    internally") is also correct.  Memory, port and power exits have no such latitude.
    """
    if isinstance(predicted, SysRegRead | SysRegWrite | SendIPI):
        return (Nothing(),)
    return ()


__all__ = ["ContractNote", "GuestTrap", "Prediction", "alternatives", "canonical", "configured",
           "free_fields", "predict", "prediction"]
