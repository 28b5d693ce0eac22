"""Reference model of axvcpu's `AxVCpuExitReason`: one frozen dataclass per variant, and the
three schema generations the enum went through.

The Python field types do not change between generations (a Port is a `Port` even where Rust
had a bare `u16`); what a generation decides is which variants and fields exist and how their
Debug output looks (see harness.parse.render).  Facts, verified in the crate sources:

* Gen 0.1 — axvcpu git history up to 34fc106 (its Cargo.toml already says 0.1.0, but it was
  never published in that shape): no `signed_ext`, no `SendIPI`, `SysReg*.addr: usize`,
  `Io*.port: u16`.
* Gen 0.2 — every *published* axvcpu 0.1.x … 0.5.x (0.1.0, 0.1.1, 0.2.2, 0.5.9 checked):
  `MmioRead.signed_ext`, `SysRegAddr`, `Port`, `SendIPI` (appended last).
* Gen 0.6 — axvcpu 0.6.0 … 0.7.2: `PreemptionTimer` and `InterruptEnd { vector: Option<u8> }`
  inserted between `Nothing` and `FailEntry`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeAlias, cast

from harness.model.values import (
    U64_MAX,
    AccessWidth,
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


class Category(enum.Enum):
    """The grouping the harness reports exits by (axvcpu's own doc headings, regrouped)."""

    MEMORY = "Memory Operations"
    SYSTEM_CONTROL = "System Control"
    IO = "I/O Operations"
    CONTROL_FLOW = "Interrupts & Faults"
    POWER = "Power Management"
    MULTIPROCESSING = "Multiprocessing"


class FieldKind(enum.Enum):
    """Rust type of a field, as far as Debug formatting and range checks care."""

    U64 = "u64"
    USIZE = "usize"
    BOOL = "bool"
    GPA = "GuestPhysAddr"
    WIDTH = "AccessWidth"
    PORT = "Port"  # newtype, Debug `Port(1016)` in decimal whatever the flags
    PORT_U16 = "u16"  # gen 0.1: bare u16 port, follows the hex flag
    SYSREG = "SysRegAddr"  # newtype, Debug `SysRegAddr(…)` in decimal
    SYSREG_USIZE = "usize "  # gen 0.1: bare usize address, follows the hex flag
    FLAGS = "MappingFlags"
    ARGS6 = "[u64; 6]"
    OPT_U8 = "Option<u8>"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of one variant in one generation: Rust name, Python attribute, Rust type."""

    name: str
    attr: str
    kind: FieldKind


def _chk_gpa(value: object, what: str) -> None:
    if type(value) is not GuestPhysAddr:
        raise ModelError(f"{what}: expected GuestPhysAddr, got {type(value).__name__}")


def _chk_width(value: object, what: str) -> None:
    if type(value) is not AccessWidth:
        raise ModelError(f"{what}: expected AccessWidth, got {type(value).__name__}")


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
    """`MmioRead { addr, width, reg: usize, reg_width, signed_ext: bool }`; signed_ext is
    None for generation 0.1, which had no such field."""

    addr: GuestPhysAddr
    width: AccessWidth
    reg: int
    reg_width: AccessWidth
    signed_ext: bool | None = None
    VARIANT: ClassVar[str] = "MmioRead"
    CATEGORY: ClassVar[Category] = Category.MEMORY

    def __post_init__(self) -> None:
        _chk_gpa(self.addr, "MmioRead.addr")
        _chk_width(self.width, "MmioRead.width")
        if not (type(self.reg) is int and 0 <= self.reg <= U64_MAX):
            check_usize(self.reg, "MmioRead.reg")
        _chk_width(self.reg_width, "MmioRead.reg_width")
        if self.signed_ext is not None:
            check_bool(self.signed_ext, "MmioRead.signed_ext")


@dataclass(frozen=True, slots=True)
class MmioWrite:
    """`MmioWrite { addr, width, data: u64 }`."""

    addr: GuestPhysAddr
    width: AccessWidth
    data: int
    VARIANT: ClassVar[str] = "MmioWrite"
    CATEGORY: ClassVar[Category] = Category.MEMORY

    def __post_init__(self) -> None:
        _chk_gpa(self.addr, "MmioWrite.addr")
        _chk_width(self.width, "MmioWrite.width")
        if not (type(self.data) is int and 0 <= self.data <= U64_MAX):
            check_u64(self.data, "MmioWrite.data")


@dataclass(frozen=True, slots=True)
class SysRegRead:
    """`SysRegRead { addr: SysRegAddr, reg: usize }` (addr was a bare usize in gen 0.1)."""

    addr: SysRegAddr
    reg: int
    VARIANT: ClassVar[str] = "SysRegRead"
    CATEGORY: ClassVar[Category] = Category.SYSTEM_CONTROL

    def __post_init__(self) -> None:
        if not isinstance(self.addr, SysRegAddr):
            raise ModelError(f"SysRegRead.addr: expected SysRegAddr, got {self.addr!r}")
        if not (type(self.reg) is int and 0 <= self.reg <= U64_MAX):
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
        _chk_width(self.width, "IoRead.width")


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
        _chk_width(self.width, "IoWrite.width")
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
        _chk_gpa(self.addr, "NestedPageFault.addr")
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
        _chk_gpa(self.entry_point, "CpuUp.entry_point")
        if not (type(self.arg) is int and 0 <= self.arg <= U64_MAX):
            check_u64(self.arg, "CpuUp.arg")


@dataclass(frozen=True, slots=True)
class CpuDown:
    """`CpuDown { _state: u64 }` (Python attribute `state`)."""

    state: int
    VARIANT: ClassVar[str] = "CpuDown"
    CATEGORY: ClassVar[Category] = Category.POWER

    def __post_init__(self) -> None:
        if not (type(self.state) is int and 0 <= self.state <= U64_MAX):
            check_u64(self.state, "CpuDown._state")


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
)
ExitClass: TypeAlias = type[ExitReason]

ALL_VARIANTS: tuple[ExitClass, ...] = (
    Hypercall, MmioRead, MmioWrite, SysRegRead, SysRegWrite, IoRead, IoWrite,
    ExternalInterrupt, NestedPageFault, Halt, CpuUp, CpuDown, SystemDown, Nothing,
    PreemptionTimer, InterruptEnd, FailEntry, SendIPI,
)  # fmt: skip
VARIANT_BY_NAME: dict[str, ExitClass] = {cls.VARIANT: cls for cls in ALL_VARIANTS}



FACTORIES: dict[str, Callable[..., ExitReason]] = {
    name: cast("Callable[..., ExitReason]", cls) for name, cls in VARIANT_BY_NAME.items()
}


def construct(name: str, kwargs: Mapping[str, object]) -> ExitReason:
    """Build variant `name` from Python attribute values (range-checked by the class)."""
    return FACTORIES[name](**kwargs)


_K = FieldKind
_FIELDS_0_6: dict[str, tuple[FieldSpec, ...]] = {
    "Hypercall": (FieldSpec("nr", "nr", _K.U64), FieldSpec("args", "args", _K.ARGS6)),
    "MmioRead": (
        FieldSpec("addr", "addr", _K.GPA),
        FieldSpec("width", "width", _K.WIDTH),
        FieldSpec("reg", "reg", _K.USIZE),
        FieldSpec("reg_width", "reg_width", _K.WIDTH),
        FieldSpec("signed_ext", "signed_ext", _K.BOOL),
    ),
    "MmioWrite": (
        FieldSpec("addr", "addr", _K.GPA),
        FieldSpec("width", "width", _K.WIDTH),
        FieldSpec("data", "data", _K.U64),
    ),
    "SysRegRead": (FieldSpec("addr", "addr", _K.SYSREG), FieldSpec("reg", "reg", _K.USIZE)),
    "SysRegWrite": (FieldSpec("addr", "addr", _K.SYSREG), FieldSpec("value", "value", _K.U64)),
    "IoRead": (FieldSpec("port", "port", _K.PORT), FieldSpec("width", "width", _K.WIDTH)),
    "IoWrite": (
        FieldSpec("port", "port", _K.PORT),
        FieldSpec("width", "width", _K.WIDTH),
        FieldSpec("data", "data", _K.U64),
    ),
    "ExternalInterrupt": (FieldSpec("vector", "vector", _K.U64),),
    "NestedPageFault": (
        FieldSpec("addr", "addr", _K.GPA),
        FieldSpec("access_flags", "access_flags", _K.FLAGS),
    ),
    "Halt": (),
    "CpuUp": (
        FieldSpec("target_cpu", "target_cpu", _K.U64),
        FieldSpec("entry_point", "entry_point", _K.GPA),
        FieldSpec("arg", "arg", _K.U64),
    ),
    "CpuDown": (FieldSpec("_state", "state", _K.U64),),
    "SystemDown": (),
    "Nothing": (),
    "PreemptionTimer": (),
    "InterruptEnd": (FieldSpec("vector", "vector", _K.OPT_U8),),
    "FailEntry": (
        FieldSpec("hardware_entry_failure_reason", "hardware_entry_failure_reason", _K.U64),
    ),
    "SendIPI": (
        FieldSpec("target_cpu", "target_cpu", _K.U64),
        FieldSpec("target_cpu_aux", "target_cpu_aux", _K.U64),
        FieldSpec("send_to_all", "send_to_all", _K.BOOL),
        FieldSpec("send_to_self", "send_to_self", _K.BOOL),
        FieldSpec("vector", "vector", _K.U64),
    ),
}
_ORDER_0_1 = [
    "Hypercall", "MmioRead", "MmioWrite", "SysRegRead", "SysRegWrite", "IoRead", "IoWrite",
    "ExternalInterrupt", "NestedPageFault", "Halt", "CpuUp", "CpuDown", "SystemDown", "Nothing",
    "FailEntry",
]  # fmt: skip
_ORDER_0_2 = [*_ORDER_0_1, "SendIPI"]
_ORDER_0_6 = [*_ORDER_0_1[:14], "PreemptionTimer", "InterruptEnd", "FailEntry", "SendIPI"]


def _fields_0_2() -> dict[str, tuple[FieldSpec, ...]]:
    return {name: _FIELDS_0_6[name] for name in _ORDER_0_2}


def _fields_0_1() -> dict[str, tuple[FieldSpec, ...]]:
    table = {name: _FIELDS_0_6[name] for name in _ORDER_0_1}
    table["MmioRead"] = table["MmioRead"][:4]
    table["SysRegRead"] = (
        FieldSpec("addr", "addr", _K.SYSREG_USIZE),
        FieldSpec("reg", "reg", _K.USIZE),
    )
    table["SysRegWrite"] = (
        FieldSpec("addr", "addr", _K.SYSREG_USIZE),
        FieldSpec("value", "value", _K.U64),
    )
    table["IoRead"] = (FieldSpec("port", "port", _K.PORT_U16), table["IoRead"][1])
    table["IoWrite"] = (FieldSpec("port", "port", _K.PORT_U16), *table["IoWrite"][1:])
    return table


_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?$")


class Generation(enum.Enum):
    """A schema generation of AxVCpuExitReason (the axvcpu version that introduced it)."""

    G0_1 = "0.1"
    G0_2 = "0.2"
    G0_6 = "0.6"

    @classmethod
    def for_axvcpu(cls, version: str) -> Generation:
        """Schema of a *published* axvcpu version ("0.7.2", "0.1.1", "v0.5.9").

        Published 0.1.x already has the 0.2 schema; use `Generation("0.1")` or
        `Generation.parse("schema:0.1")` for the pre-release git schema.
        """
        m = _VERSION_RE.match(version.strip())
        if not m:
            raise ModelError(f"axvcpu version: expected MAJOR.MINOR[.PATCH], got {version!r}")
        major, minor = int(m.group(1)), int(m.group(2))
        if major != 0 or minor == 0:
            raise ModelError(f"axvcpu version {version!r}: no known schema (known: 0.1 .. 0.7)")
        return cls.G0_6 if minor >= 6 else cls.G0_2

    @classmethod
    def parse(cls, spec: str) -> Generation:
        """`schema:0.1` / `schema:0.2` / `schema:0.6` names a schema; anything else is an
        axvcpu version."""
        if spec.startswith("schema:"):
            try:
                return cls(spec.removeprefix("schema:"))
            except ValueError:
                raise ModelError(
                    f"unknown schema {spec!r}: expected schema:0.1, schema:0.2 or schema:0.6"
                ) from None
        return cls.for_axvcpu(spec)

    def variant_names(self) -> tuple[str, ...]:
        """Variant names in Rust declaration order."""
        return _SCHEMAS[self][0]

    def variants(self) -> tuple[ExitClass, ...]:
        """Variant classes in Rust declaration order."""
        return tuple(VARIANT_BY_NAME[n] for n in _SCHEMAS[self][0])

    def has_variant(self, name: str) -> bool:
        """Whether the generation's enum has a variant called `name`."""
        return name in _SCHEMAS[self][1]

    def fields(self, variant: ExitClass | str) -> tuple[FieldSpec, ...]:
        """Fields of `variant` in declaration order; ModelError if the variant is absent."""
        name = variant if isinstance(variant, str) else variant.VARIANT
        table = _SCHEMAS[self][1]
        if name not in table:
            raise ModelError(f"variant {name} does not exist in axvcpu schema {self.value}")
        return table[name]


_SCHEMAS: dict[Generation, tuple[tuple[str, ...], dict[str, tuple[FieldSpec, ...]]]] = {
    Generation.G0_1: (tuple(_ORDER_0_1), _fields_0_1()),
    Generation.G0_2: (tuple(_ORDER_0_2), _fields_0_2()),
    Generation.G0_6: (tuple(_ORDER_0_6), dict(_FIELDS_0_6)),
}


def validate(exit: ExitReason, generation: Generation) -> ExitReason:
    """Raise ModelError unless `exit` is a value of `generation`'s enum; return it."""
    generation.fields(type(exit))  # raises for a missing variant
    if isinstance(exit, MmioRead):
        if generation is Generation.G0_1 and exit.signed_ext is not None:
            raise ModelError("MmioRead.signed_ext does not exist in axvcpu schema 0.1")
        if generation is not Generation.G0_1 and exit.signed_ext is None:
            raise ModelError(f"MmioRead.signed_ext is required in axvcpu schema {generation.value}")
    return exit


def generations_of(exit: ExitReason) -> tuple[Generation, ...]:
    """All generations whose enum can hold `exit`."""
    out = []
    for g in Generation:
        try:
            validate(exit, g)
        except ModelError:
            continue
        out.append(g)
    return tuple(out)


JsonValue: TypeAlias = Any


def field_to_json(kind: FieldKind, value: object) -> JsonValue:
    """One field in the CLI JSON form (integers for addresses, names for widths)."""
    if isinstance(value, GuestPhysAddr | Port | SysRegAddr):
        return value.value
    if isinstance(value, AccessWidth):
        return value.name
    if isinstance(value, MappingFlags):
        return value.bits
    if isinstance(value, tuple):
        return list(value)
    return value


def exit_to_json(exit: ExitReason) -> dict[str, JsonValue]:
    """`{"variant": name, "fields": {rust_name: value}}`; absent gen-0.1 fields are omitted."""
    out: dict[str, JsonValue] = {}
    for spec in _FIELDS_0_6[exit.VARIANT]:
        value = getattr(exit, spec.attr)
        if value is None and spec.kind is not FieldKind.OPT_U8:
            continue  # MmioRead.signed_ext of generation 0.1
        out[spec.name] = field_to_json(spec.kind, value)
    return {"variant": exit.VARIANT, "fields": out}


def _field_from_json(spec: FieldSpec, value: JsonValue, where: str) -> object:
    k = spec.kind
    if k in (FieldKind.U64, FieldKind.USIZE, FieldKind.BOOL, FieldKind.OPT_U8):
        return value  # the dataclass checks range and type
    if k is FieldKind.GPA:
        return GuestPhysAddr(value)
    if k is FieldKind.WIDTH:
        if not isinstance(value, str):
            raise ModelError(f"{where}: expected an AccessWidth name, got {value!r}")
        return AccessWidth.from_name(value)
    if k in (FieldKind.PORT, FieldKind.PORT_U16):
        return Port(value)
    if k in (FieldKind.SYSREG, FieldKind.SYSREG_USIZE):
        return SysRegAddr(value)
    if k is FieldKind.FLAGS:
        return MappingFlags(value)
    if k is FieldKind.ARGS6:
        if not isinstance(value, list):
            raise ModelError(f"{where}: expected an array of 6 integers, got {value!r}")
        return tuple(value)
    raise AssertionError(k)  # pragma: no cover


def exit_from_json(obj: Mapping[str, JsonValue], generation: Generation) -> ExitReason:
    """Inverse of exit_to_json, checked against `generation`'s schema (exact field set)."""
    name = obj.get("variant")
    if not isinstance(name, str) or name not in VARIANT_BY_NAME:
        raise ModelError(f"unknown exit variant {name!r}")
    specs = generation.fields(name)
    given = obj.get("fields", {})
    if not isinstance(given, Mapping):
        raise ModelError(f"{name}: 'fields' must be an object")
    expected = [s.name for s in specs]
    if set(given) != set(expected):
        missing = [n for n in expected if n not in given]
        extra = [n for n in given if n not in expected]
        raise ModelError(f"{name} (schema {generation.value}): missing {missing}, extra {extra}")
    kwargs = {s.attr: _field_from_json(s, given[s.name], f"{name}.{s.name}") for s in specs}
    return validate(construct(name, kwargs), generation)


def field_values(exit: ExitReason, generation: Generation) -> tuple[tuple[FieldSpec, object], ...]:
    """(spec, value) pairs of `exit` in `generation`'s declaration order."""
    return tuple((s, getattr(exit, s.attr)) for s in generation.fields(type(exit)))


def dataclass_field_names(cls: ExitClass) -> tuple[str, ...]:
    """Python attribute names of a variant class (for tests and tooling)."""
    return tuple(f.name for f in fields(cls))
