"""Field value types of AxVCpuExitReason, with the Rust types' ranges and behaviour.

Every constructor range-checks, so a value that exists in Python could also exist in the
hypervisor (usize is 64 bits on all three target architectures).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from harness.errors import HarnessError

U8_MAX = 0xFF
U16_MAX = 0xFFFF
U64_MAX = 0xFFFF_FFFF_FFFF_FFFF
USIZE_MAX = U64_MAX  # all supported targets (aarch64, riscv64, x86_64) are 64-bit


class ModelError(HarnessError):
    """A value or exit that the Rust types could not represent, or that a schema forbids."""

    kind = "model error"


def _check_uint(value: object, limit: int, rust_type: str, what: str) -> int:
    # bool is an int subclass in Python but never a Rust integer.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ModelError(f"{what}: expected {rust_type} integer, got {type(value).__name__}")
    if not 0 <= value <= limit:
        raise ModelError(f"{what}: {value} out of range for {rust_type} (0..={limit:#x})")
    return value


def check_u8(value: object, what: str = "value") -> int:
    """Return value if it fits a Rust u8, else raise ModelError naming `what`."""
    return _check_uint(value, U8_MAX, "u8", what)


def check_u16(value: object, what: str = "value") -> int:
    """Return value if it fits a Rust u16."""
    return _check_uint(value, U16_MAX, "u16", what)


def check_u64(value: object, what: str = "value") -> int:
    """Return value if it fits a Rust u64."""
    return _check_uint(value, U64_MAX, "u64", what)


def check_usize(value: object, what: str = "value") -> int:
    """Return value if it fits a 64-bit Rust usize."""
    return _check_uint(value, USIZE_MAX, "usize", what)


def check_bool(value: object, what: str = "value") -> bool:
    """Return value if it is a bool (not merely truthy)."""
    if not isinstance(value, bool):
        raise ModelError(f"{what}: expected bool, got {type(value).__name__}")
    return value


class AccessWidth(enum.Enum):
    """Width of an MMIO / port access; member names are the Rust variant names (Debug output)."""

    Byte = 1
    Word = 2
    Dword = 4
    Qword = 8

    def size(self) -> int:
        """Bytes accessed, as Rust's `AccessWidth::size`."""
        return self.value

    def bits_range(self) -> range:
        """Bit range covered, as Rust's `bits_range` (`0..8` etc.)."""
        return range(0, self.value * 8)

    @classmethod
    def from_size(cls, size: int) -> AccessWidth:
        """Rust's `TryFrom<usize>`: only 1, 2, 4 and 8 are widths."""
        for member in cls:
            if member.value == size and not isinstance(size, bool):
                return member
        raise ModelError(f"access width: {size!r} bytes is not one of 1, 2, 4, 8")

    @classmethod
    def from_name(cls, name: str) -> AccessWidth:
        """Look a width up by its Rust variant name."""
        try:
            return cls[name]
        except KeyError:
            raise ModelError(
                f"access width: expected Byte, Word, Dword or Qword, got {name!r}"
            ) from None

    def mask(self) -> int:
        """All-ones mask of this width."""
        return (1 << (self.value * 8)) - 1

    # Rust derives PartialOrd/Ord in declaration order: Byte < Word < Dword < Qword.
    def __lt__(self, other: object) -> bool:
        if not isinstance(other, AccessWidth):
            return NotImplemented
        return self.value < other.value

    def __le__(self, other: object) -> bool:
        if not isinstance(other, AccessWidth):
            return NotImplemented
        return self.value <= other.value

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, AccessWidth):
            return NotImplemented
        return self.value > other.value

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, AccessWidth):
            return NotImplemented
        return self.value >= other.value


@dataclass(frozen=True, slots=True, order=True)
class GuestPhysAddr:
    """A guest-physical address (usize newtype); Debug prints `GPA:0x…` in every form."""

    value: int

    def __post_init__(self) -> None:
        if not (type(self.value) is int and 0 <= self.value <= USIZE_MAX):
            check_usize(self.value, "GuestPhysAddr")

    def __int__(self) -> int:
        return self.value


@dataclass(frozen=True, slots=True, order=True)
class Port:
    """An x86 I/O port number (u16); Debug prints `Port(<decimal>)` from axvcpu 0.1.0 on."""

    value: int

    def __post_init__(self) -> None:
        if not (type(self.value) is int and 0 <= self.value <= U16_MAX):
            check_u16(self.value, "Port")

    def __int__(self) -> int:
        return self.value


@dataclass(frozen=True, slots=True, order=True)
class SysRegAddr:
    """A system register identifier (usize); meaning is per architecture, see model.arch."""

    value: int

    def __post_init__(self) -> None:
        if not (type(self.value) is int and 0 <= self.value <= USIZE_MAX):
            check_usize(self.value, "SysRegAddr")

    def __int__(self) -> int:
        return self.value


@dataclass(frozen=True, slots=True)
class MappingFlags:
    """page_table_entry's `MappingFlags` bitflags (usize); unknown bits are kept, as Rust
    `from_bits_retain` would, because a buggy vCPU might report them."""

    bits: int

    READ: ClassVar[int] = 1 << 0
    WRITE: ClassVar[int] = 1 << 1
    EXECUTE: ClassVar[int] = 1 << 2
    USER: ClassVar[int] = 1 << 3
    DEVICE: ClassVar[int] = 1 << 4
    UNCACHED: ClassVar[int] = 1 << 5
    # Declaration order, which is also bitflags' iteration (and so Debug) order.
    NAMED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("READ", 1 << 0),
        ("WRITE", 1 << 1),
        ("EXECUTE", 1 << 2),
        ("USER", 1 << 3),
        ("DEVICE", 1 << 4),
        ("UNCACHED", 1 << 5),
    )

    def __post_init__(self) -> None:
        check_usize(self.bits, "MappingFlags")

    @classmethod
    def of(cls, *names: str) -> MappingFlags:
        """Build from flag names, e.g. `MappingFlags.of("READ", "WRITE")`."""
        table = dict(cls.NAMED)
        bits = 0
        for name in names:
            if name not in table:
                raise ModelError(f"MappingFlags: unknown flag {name!r}")
            bits |= table[name]
        return cls(bits)

    def names(self) -> tuple[str, ...]:
        """Names of the set known flags, in declaration order."""
        return tuple(name for name, bit in self.NAMED if self.bits & bit)

    def unknown_bits(self) -> int:
        """Set bits that no named flag covers."""
        known = 0
        for _, bit in self.NAMED:
            known |= bit
        return self.bits & ~known

    def __contains__(self, bit: int) -> bool:
        return bool(self.bits & bit)


@dataclass(frozen=True, slots=True)
class ByteReg:
    """x86 `X86ByteRegister { gpr: u8, high: bool }` (axvm 0.8): the destination of a byte MOV
    that is AH/CH/DH/BH (`high`) rather than the low byte of GPR `gpr`."""

    gpr: int
    high: bool

    def __post_init__(self) -> None:
        check_u8(self.gpr, "ByteReg.gpr")
        check_bool(self.high, "ByteReg.high")


class Absent(enum.Enum):
    """An attribute the exit's schema does not have (axvcpu 0.1 `MmioRead.signed_ext`, axvm 0.8
    x86 `MsrRead.reg`, `byte_reg` outside axvm 0.8 x86), distinct from Rust's `None`."""

    ABSENT = "absent"

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent.ABSENT
