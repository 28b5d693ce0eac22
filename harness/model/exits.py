"""The model's exit kinds: one frozen dataclass per canonical kind of schemas/canonical.toml.

These are the reference model's own vocabulary, shared by every schema generation (the Rust
enums of axvcpu 0.1 – 0.7 and axvm 0.8, schemas/*.toml): a generation decides which kinds exist
on an architecture, which attributes they carry and how they print; the values here do not
change between generations (a Port is a `Port` even where Rust had a bare `u16`).  An attribute
a generation lacks is `ABSENT` (axvcpu 0.1 `MmioRead.signed_ext`, axvm 0.8 x86 `MsrRead.reg`),
never Python `None`, which is Rust's `None` where the Rust type is an `Option`.  Kinds only the
current line has are in harness.model.current_kinds; JSON, schema checks and the translation to
a schema's attribute values are in harness.model.convert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeAlias, cast

from harness.model.category import Category, check_gpa, check_width
from harness.model.values import (
    ABSENT,
    U64_MAX,
    Absent,
    AccessWidth,
    ByteReg,
    GuestPhysAddr,
    MappingFlags,
    ModelError,
    Port,
    SysRegAddr,
    check_bool,
    check_u8,
    check_u64,
    check_usize,
)


@dataclass(frozen=True, slots=True)
class Hypercall:
    """`Hypercall { nr: u64, args: [u64; 6] }`."""

    nr: int
    args: tuple[int, int, int, int, int, int]
    VARIANT: ClassVar[str] = "Hypercall"
    CATEGORY: ClassVar[Category] = Category.SYSTEM_CONTROL

    def __post_init__(self) -> None:
        if not (type(self.nr) is int and 0 <= self.nr <= U64_MAX):
            check_u64(self.nr, "Hypercall.nr")
        if not isinstance(self.args, tuple) or len(self.args) != 6:
            raise ModelError("Hypercall.args: expected a tuple of exactly 6 u64")
        for i, a in enumerate(self.args):
            check_u64(a, f"Hypercall.args[{i}]")


@dataclass(frozen=True, slots=True)
class MmioRead:
    """`MmioRead { addr, width, reg: usize, reg_width, signed_ext: bool }`; axvcpu 0.1 has no
    `signed_ext`, axvm 0.8 x86 adds `byte_reg: Option<X86ByteRegister>` (ABSENT elsewhere)."""

    addr: GuestPhysAddr
    width: AccessWidth
    reg: int
    reg_width: AccessWidth
    signed_ext: bool | Absent = ABSENT
    byte_reg: ByteReg | Absent | None = ABSENT
    VARIANT: ClassVar[str] = "MmioRead"
    CATEGORY: ClassVar[Category] = Category.MEMORY

    def __post_init__(self) -> None:
        check_gpa(self.addr, "MmioRead.addr")
        check_width(self.width, "MmioRead.width")
        if not (type(self.reg) is int and 0 <= self.reg <= U64_MAX):
            check_usize(self.reg, "MmioRead.reg")
        check_width(self.reg_width, "MmioRead.reg_width")
        if self.signed_ext is not ABSENT:
            check_bool(self.signed_ext, "MmioRead.signed_ext")
        if self.byte_reg is not ABSENT and self.byte_reg is not None \
                and type(self.byte_reg) is not ByteReg:
            raise ModelError(f"MmioRead.byte_reg: expected ByteReg, None or ABSENT, "
                             f"got {self.byte_reg!r}")


@dataclass(frozen=True, slots=True)
class MmioWrite:
    """`MmioWrite { addr, width, data: u64 }`."""

    addr: GuestPhysAddr
    width: AccessWidth
    data: int
    VARIANT: ClassVar[str] = "MmioWrite"
    CATEGORY: ClassVar[Category] = Category.MEMORY

    def __post_init__(self) -> None:
        check_gpa(self.addr, "MmioWrite.addr")
        check_width(self.width, "MmioWrite.width")
        if not (type(self.data) is int and 0 <= self.data <= U64_MAX):
            check_u64(self.data, "MmioWrite.data")


@dataclass(frozen=True, slots=True)
class SysRegRead:
    """`SysRegRead { addr, reg: usize }`; axvm 0.8 x86 `MsrRead` has no `reg` (ABSENT)."""

    addr: SysRegAddr
    reg: int | Absent = ABSENT
    VARIANT: ClassVar[str] = "SysRegRead"
    CATEGORY: ClassVar[Category] = Category.SYSTEM_CONTROL

    def __post_init__(self) -> None:
        if not isinstance(self.addr, SysRegAddr):
            raise ModelError(f"SysRegRead.addr: expected SysRegAddr, got {self.addr!r}")
        if self.reg is not ABSENT and not (type(self.reg) is int and 0 <= self.reg <= U64_MAX):
            check_usize(self.reg, "SysRegRead.reg")


@dataclass(frozen=True, slots=True)
class SysRegWrite:
    """`SysRegWrite { addr: SysRegAddr, value: u64 }`."""

    addr: SysRegAddr
    value: int
    VARIANT: ClassVar[str] = "SysRegWrite"
    CATEGORY: ClassVar[Category] = Category.SYSTEM_CONTROL

    def __post_init__(self) -> None:
        if not isinstance(self.addr, SysRegAddr):
            raise ModelError(f"SysRegWrite.addr: expected SysRegAddr, got {self.addr!r}")
        if not (type(self.value) is int and 0 <= self.value <= U64_MAX):
            check_u64(self.value, "SysRegWrite.value")


@dataclass(frozen=True, slots=True)
class IoRead:
    """`IoRead { port: Port, width }` (port was a bare u16 in gen 0.1)."""

    port: Port
    width: AccessWidth
    VARIANT: ClassVar[str] = "IoRead"
    CATEGORY: ClassVar[Category] = Category.IO

    def __post_init__(self) -> None:
        if not isinstance(self.port, Port):
            raise ModelError(f"IoRead.port: expected Port, got {self.port!r}")
        check_width(self.width, "IoRead.width")


@dataclass(frozen=True, slots=True)
class IoWrite:
    """`IoWrite { port: Port, width, data: u64 }`."""

    port: Port
    width: AccessWidth
    data: int
    VARIANT: ClassVar[str] = "IoWrite"
    CATEGORY: ClassVar[Category] = Category.IO

    def __post_init__(self) -> None:
        if not isinstance(self.port, Port):
            raise ModelError(f"IoWrite.port: expected Port, got {self.port!r}")
        check_width(self.width, "IoWrite.width")
        if not (type(self.data) is int and 0 <= self.data <= U64_MAX):
            check_u64(self.data, "IoWrite.data")


@dataclass(frozen=True, slots=True)
class ExternalInterrupt:
    """`ExternalInterrupt { vector: u64 }`."""

    vector: int
    VARIANT: ClassVar[str] = "ExternalInterrupt"
    CATEGORY: ClassVar[Category] = Category.CONTROL_FLOW

    def __post_init__(self) -> None:
        if not (type(self.vector) is int and 0 <= self.vector <= U64_MAX):
            check_u64(self.vector, "ExternalInterrupt.vector")


@dataclass(frozen=True, slots=True)
class NestedPageFault:
    """`NestedPageFault { addr, access_flags: MappingFlags }`."""

    addr: GuestPhysAddr
    access_flags: MappingFlags
    VARIANT: ClassVar[str] = "NestedPageFault"
    CATEGORY: ClassVar[Category] = Category.MEMORY

    def __post_init__(self) -> None:
        check_gpa(self.addr, "NestedPageFault.addr")
        if not isinstance(self.access_flags, MappingFlags):
            raise ModelError("NestedPageFault.access_flags: expected MappingFlags")


@dataclass(frozen=True, slots=True)
class Halt:
    """`Halt` (unit)."""

    VARIANT: ClassVar[str] = "Halt"
    CATEGORY: ClassVar[Category] = Category.CONTROL_FLOW


@dataclass(frozen=True, slots=True)
class CpuUp:
    """`CpuUp { target_cpu: u64, entry_point: GuestPhysAddr, arg: u64 }`."""

    target_cpu: int
    entry_point: GuestPhysAddr
    arg: int
    VARIANT: ClassVar[str] = "CpuUp"
    CATEGORY: ClassVar[Category] = Category.POWER

    def __post_init__(self) -> None:
        if not (type(self.target_cpu) is int and 0 <= self.target_cpu <= U64_MAX):
            check_u64(self.target_cpu, "CpuUp.target_cpu")
        check_gpa(self.entry_point, "CpuUp.entry_point")
        if not (type(self.arg) is int and 0 <= self.arg <= U64_MAX):
            check_u64(self.arg, "CpuUp.arg")


@dataclass(frozen=True, slots=True)
class CpuDown:
    """`CpuDown { _state: u64 }` (axvm 0.8 riscv64: `state`; attribute `state`)."""

    state: int
    VARIANT: ClassVar[str] = "CpuDown"
    CATEGORY: ClassVar[Category] = Category.POWER

    def __post_init__(self) -> None:
        if not (type(self.state) is int and 0 <= self.state <= U64_MAX):
            check_u64(self.state, "CpuDown.state")


@dataclass(frozen=True, slots=True)
class SystemDown:
    """`SystemDown` (unit)."""

    VARIANT: ClassVar[str] = "SystemDown"
    CATEGORY: ClassVar[Category] = Category.POWER


@dataclass(frozen=True, slots=True)
class Nothing:
    """`Nothing` (unit): the vCPU handled the exit itself."""

    VARIANT: ClassVar[str] = "Nothing"
    CATEGORY: ClassVar[Category] = Category.CONTROL_FLOW


@dataclass(frozen=True, slots=True)
class PreemptionTimer:
    """`PreemptionTimer` (unit, gen 0.6 on)."""

    VARIANT: ClassVar[str] = "PreemptionTimer"
    CATEGORY: ClassVar[Category] = Category.CONTROL_FLOW


@dataclass(frozen=True, slots=True)
class InterruptEnd:
    """`InterruptEnd { vector: Option<u8> }` (gen 0.6 on); None is Rust's `None`."""

    vector: int | None
    VARIANT: ClassVar[str] = "InterruptEnd"
    CATEGORY: ClassVar[Category] = Category.CONTROL_FLOW

    def __post_init__(self) -> None:
        if self.vector is not None:
            check_u8(self.vector, "InterruptEnd.vector")


@dataclass(frozen=True, slots=True)
class FailEntry:
    """`FailEntry { hardware_entry_failure_reason: u64 }`."""

    hardware_entry_failure_reason: int
    VARIANT: ClassVar[str] = "FailEntry"
    CATEGORY: ClassVar[Category] = Category.CONTROL_FLOW

    def __post_init__(self) -> None:
        reason = self.hardware_entry_failure_reason
        if not (type(reason) is int and 0 <= reason <= U64_MAX):
            check_u64(reason, "FailEntry.hardware_entry_failure_reason")


@dataclass(frozen=True, slots=True)
class SendIPI:
    """`SendIPI { target_cpu, target_cpu_aux, send_to_all, send_to_self, vector }` (gen 0.2 on)."""

    target_cpu: int
    target_cpu_aux: int
    send_to_all: bool
    send_to_self: bool
    vector: int
    VARIANT: ClassVar[str] = "SendIPI"
    CATEGORY: ClassVar[Category] = Category.MULTIPROCESSING

    def __post_init__(self) -> None:
        if not (type(self.target_cpu) is int and 0 <= self.target_cpu <= U64_MAX):
            check_u64(self.target_cpu, "SendIPI.target_cpu")
        if not (type(self.target_cpu_aux) is int and 0 <= self.target_cpu_aux <= U64_MAX):
            check_u64(self.target_cpu_aux, "SendIPI.target_cpu_aux")
        check_bool(self.send_to_all, "SendIPI.send_to_all")
        check_bool(self.send_to_self, "SendIPI.send_to_self")
        if not (type(self.vector) is int and 0 <= self.vector <= U64_MAX):
            check_u64(self.vector, "SendIPI.vector")




# Kinds only the current line has (imported after the shared helpers exist).
from harness.model.current_kinds import (  # noqa: E402
    DeactivateInterrupt,
    GicCpuInterfaceRead,
    GicCpuInterfaceWrite,
    IoString,
    RiscvMachineExit,
    SendIPIHartMask,
    SendIPISgi1r,
    WaitForInterrupt,
)

ExitReason: TypeAlias = (
    Hypercall
    | MmioRead
    | MmioWrite
    | SysRegRead
    | SysRegWrite
    | IoRead
    | IoWrite
    | ExternalInterrupt
    | NestedPageFault
    | Halt
    | CpuUp
    | CpuDown
    | SystemDown
    | Nothing
    | PreemptionTimer
    | InterruptEnd
    | FailEntry
    | SendIPI
    | WaitForInterrupt
    | GicCpuInterfaceRead
    | GicCpuInterfaceWrite
    | DeactivateInterrupt
    | SendIPISgi1r
    | SendIPIHartMask
    | IoString
    | RiscvMachineExit
)
ExitClass: TypeAlias = type[ExitReason]

# canonical.toml's order (tests/unit/test_model_exits.py keeps the two equal).
ALL_VARIANTS: tuple[ExitClass, ...] = (
    Hypercall, MmioRead, MmioWrite, SysRegRead, SysRegWrite, IoRead, IoWrite,
    ExternalInterrupt, NestedPageFault, Halt, CpuUp, CpuDown, SystemDown, Nothing,
    PreemptionTimer, InterruptEnd, FailEntry, SendIPI,
    WaitForInterrupt, GicCpuInterfaceRead, GicCpuInterfaceWrite, DeactivateInterrupt,
    SendIPISgi1r, SendIPIHartMask, IoString, RiscvMachineExit,
)  # fmt: skip
VARIANT_BY_NAME: dict[str, ExitClass] = {cls.VARIANT: cls for cls in ALL_VARIANTS}

FACTORIES: dict[str, Callable[..., ExitReason]] = {
    name: cast("Callable[..., ExitReason]", cls) for name, cls in VARIANT_BY_NAME.items()
}


def construct(name: str, kwargs: Mapping[str, object]) -> ExitReason:
    """Build kind `name` from Python attribute values (range-checked by the class)."""
    return FACTORIES[name](**kwargs)


__all__ = [
    "ABSENT",
    "ALL_VARIANTS",
    "VARIANT_BY_NAME",
    "Absent",
    "ByteReg",
    "Category",
    "CpuDown",
    "CpuUp",
    "DeactivateInterrupt",
    "ExitClass",
    "ExitReason",
    "ExternalInterrupt",
    "FailEntry",
    "GicCpuInterfaceRead",
    "GicCpuInterfaceWrite",
    "Halt",
    "Hypercall",
    "InterruptEnd",
    "IoRead",
    "IoString",
    "IoWrite",
    "MmioRead",
    "MmioWrite",
    "NestedPageFault",
    "Nothing",
    "PreemptionTimer",
    "RiscvMachineExit",
    "SendIPI",
    "SendIPIHartMask",
    "SendIPISgi1r",
    "SysRegRead",
    "SysRegWrite",
    "SystemDown",
    "WaitForInterrupt",
    "construct",
]  # fmt: skip
