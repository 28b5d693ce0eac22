"""Exit kinds only the current axvisor line (axvm 0.8's per-architecture enums) has, as
canonical.toml lists them.  Enum-typed attributes (a GIC CPU interface register, an IPI ABI, a
port I/O direction) hold the Rust member name; which names exist is the schema's to check
(harness.model.convert.validate), as the spelling of every other field is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from harness.model.category import Category, check_gpa, check_width
from harness.model.values import (
    U64_MAX,
    AccessWidth,
    GuestPhysAddr,
    ModelError,
    Port,
    check_bool,
    check_u64,
    check_usize,
)

U32_MAX = 0xFFFF_FFFF


def _name(value: object, what: str) -> None:
    if not (isinstance(value, str) and value.isidentifier()):
        raise ModelError(f"{what}: expected a Rust enum member name, got {value!r}")


def _u64(value: object, what: str) -> None:
    if not (type(value) is int and 0 <= value <= U64_MAX):
        check_u64(value, what)


@dataclass(frozen=True, slots=True)
class WaitForInterrupt:
    """`WaitForInterrupt` (unit): a trapped WFI/WFE (aarch64)."""

    VARIANT: ClassVar[str] = "WaitForInterrupt"
    CATEGORY: ClassVar[Category] = Category.CONTROL_FLOW


@dataclass(frozen=True, slots=True)
class GicCpuInterfaceRead:
    """`GicCpuInterfaceRead { register, destination: usize }`: an MRS of ICC_CTLR/PMR/RPR_EL1."""

    register: str
    destination: int
    VARIANT: ClassVar[str] = "GicCpuInterfaceRead"
    CATEGORY: ClassVar[Category] = Category.SYSTEM_CONTROL

    def __post_init__(self) -> None:
        _name(self.register, "GicCpuInterfaceRead.register")
        check_usize(self.destination, "GicCpuInterfaceRead.destination")


@dataclass(frozen=True, slots=True)
class GicCpuInterfaceWrite:
    """`GicCpuInterfaceWrite { register, value: u64 }`: an MSR of ICC_CTLR/PMR/RPR_EL1."""

    register: str
    value: int
    VARIANT: ClassVar[str] = "GicCpuInterfaceWrite"
    CATEGORY: ClassVar[Category] = Category.SYSTEM_CONTROL

    def __post_init__(self) -> None:
        _name(self.register, "GicCpuInterfaceWrite.register")
        _u64(self.value, "GicCpuInterfaceWrite.value")


@dataclass(frozen=True, slots=True)
class DeactivateInterrupt:
    """`DeactivateInterrupt { intid: u32 }`: an ICC_DIR_EL1 write."""

    intid: int
    VARIANT: ClassVar[str] = "DeactivateInterrupt"
    CATEGORY: ClassVar[Category] = Category.CONTROL_FLOW

    def __post_init__(self) -> None:
        if not (type(self.intid) is int and 0 <= self.intid <= U32_MAX):
            raise ModelError(f"DeactivateInterrupt.intid: {self.intid!r} is not a u32")


@dataclass(frozen=True, slots=True)
class SendIPISgi1r:
    """aarch64 `SendIPI { value: u64 }`: the raw ICC_SGI1R_EL1 value the guest wrote."""

    value: int
    VARIANT: ClassVar[str] = "SendIPISgi1r"
    CATEGORY: ClassVar[Category] = Category.MULTIPROCESSING

    def __post_init__(self) -> None:
        _u64(self.value, "SendIPISgi1r.value")


@dataclass(frozen=True, slots=True)
class SendIPIHartMask:
    """riscv64 `SendIpi(RiscvIpiRequest { hart_mask, hart_mask_base, abi })`: an SBI IPI."""

    hart_mask: int
    hart_mask_base: int
    abi: str
    VARIANT: ClassVar[str] = "SendIPIHartMask"
    CATEGORY: ClassVar[Category] = Category.MULTIPROCESSING

    def __post_init__(self) -> None:
        check_usize(self.hart_mask, "SendIPIHartMask.hart_mask")
        check_usize(self.hart_mask_base, "SendIPIHartMask.hart_mask_base")
        _name(self.abi, "SendIPIHartMask.abi")


@dataclass(frozen=True, slots=True)
class IoString:
    """x86 `PortIoString(X86PortIoStringExit { … })`: one element of INS/OUTS."""

    port: Port
    width: AccessWidth
    direction: str
    guest_paddr: GuestPhysAddr
    updated_index: int
    updated_count: int | None
    instruction_complete: bool
    next_rip: int
    VARIANT: ClassVar[str] = "IoString"
    CATEGORY: ClassVar[Category] = Category.IO

    def __post_init__(self) -> None:
        if not isinstance(self.port, Port):
            raise ModelError(f"IoString.port: expected Port, got {self.port!r}")
        check_width(self.width, "IoString.width")
        _name(self.direction, "IoString.direction")
        check_gpa(self.guest_paddr, "IoString.guest_paddr")
        _u64(self.updated_index, "IoString.updated_index")
        if self.updated_count is not None:
            _u64(self.updated_count, "IoString.updated_count")
        check_bool(self.instruction_complete, "IoString.instruction_complete")
        _u64(self.next_rip, "IoString.next_rip")


@dataclass(frozen=True, slots=True)
class RiscvMachineExit:
    """riscv64 `Machine(Exit { scause, stval, htval, htinst, pc })`: the raw trap, which axvm
    interprets before the trace (never logged)."""

    scause: int
    stval: int
    htval: int
    htinst: int
    pc: int
    VARIANT: ClassVar[str] = "RiscvMachineExit"
    CATEGORY: ClassVar[Category] = Category.CONTROL_FLOW

    def __post_init__(self) -> None:
        for name in ("scause", "stval", "htval", "htinst", "pc"):
            check_usize(getattr(self, name), f"RiscvMachineExit.{name}")
