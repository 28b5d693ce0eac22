"""Model exits ↔ the canonical terms of the schema files (harness.schema.Exit: kind + attribute
values as ints, bools, member names, tuples and mappings), their JSON form, and the check that
an exit is a value of one schema's enum on one architecture.

The JSON form is `{"variant": <kind>, "fields": {<attribute>: value}}`, attributes a generation
lacks left out.  Files written before the schemas were data spelled CpuDown's attribute with
its axvcpu Rust name `_state`; exit_from_json still reads it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from harness.errors import HarnessError
from harness.model.exits import VARIANT_BY_NAME, ExitClass, ExitReason, construct
from harness.model.values import (
    ABSENT,
    AccessWidth,
    ByteReg,
    GuestPhysAddr,
    MappingFlags,
    ModelError,
    Port,
    SysRegAddr,
)
from harness.schema import Exit, Schema
from harness.schema.codecs import Value, to_json

JsonValue: TypeAlias = Any
_ALIASES: dict[tuple[str, str], str] = {("CpuDown", "_state"): "state"}


def _width(value: object) -> AccessWidth:
    if not isinstance(value, str):
        raise ModelError(f"expected an access width name, got {value!r}")
    return AccessWidth.from_name(value)


def _byte_reg(value: object) -> ByteReg | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"gpr", "high"}:
        raise ModelError(f"expected {{gpr, high}} or None, got {value!r}")
    return ByteReg(value["gpr"], value["high"])


def _args(value: object) -> tuple[object, ...]:
    if not isinstance(value, list | tuple):
        raise ModelError(f"expected an array, got {value!r}")
    return tuple(value)


def _same(value: object) -> object:
    return value


# Python attribute type (as annotated) → converter from the canonical value.
_FROM: dict[str, Callable[[Any], object]] = {
    "GuestPhysAddr": GuestPhysAddr,
    "Port": Port,
    "SysRegAddr": SysRegAddr,
    "MappingFlags": MappingFlags,
    "AccessWidth": _width,
    "ByteReg": _byte_reg,
    "tuple": _args,
}


def _converter(annotation: str) -> Callable[[Any], object]:
    head = annotation.split("[")[0].split("|")[0].strip()
    return _FROM.get(head, _same)


ATTRS: dict[str, tuple[tuple[str, Callable[[Any], object]], ...]] = {
    name: tuple((f.name, _converter(str(f.type))) for f in dataclasses.fields(cls))
    for name, cls in VARIANT_BY_NAME.items()
}


def _value(v: object) -> Value:
    if isinstance(v, GuestPhysAddr | Port | SysRegAddr):
        return v.value
    if isinstance(v, AccessWidth):
        return v.name
    if isinstance(v, MappingFlags):
        return v.bits
    if isinstance(v, ByteReg):
        return {"gpr": v.gpr, "high": v.high}
    if isinstance(v, tuple):
        return tuple(_value(x) for x in v)
    assert v is None or isinstance(v, int | str), v
    return v


def to_canonical(exit: ExitReason) -> Exit:
    """The exit in schema terms; ABSENT attributes are left out."""
    attrs = {name: _value(v) for name, _ in ATTRS[exit.VARIANT]
             if (v := getattr(exit, name)) is not ABSENT}
    return Exit(exit.VARIANT, attrs)


def from_canonical(exit: Exit) -> ExitReason:
    """A model exit from schema terms (missing attributes become ABSENT); ModelError when a
    value does not fit the kind's Python type."""
    if exit.kind not in ATTRS:
        raise ModelError(f"unknown exit kind {exit.kind!r}")
    kwargs: dict[str, object] = {}
    for name, conv in ATTRS[exit.kind]:
        if name in exit.attrs:
            try:
                kwargs[name] = conv(exit.attrs[name])
            except (TypeError, ValueError) as exc:
                raise ModelError(f"{exit.kind}.{name}: {exc}") from None
        else:
            kwargs[name] = ABSENT
    extra = set(exit.attrs) - {n for n, _ in ATTRS[exit.kind]}
    if extra:
        raise ModelError(f"{exit.kind}: unknown attributes {sorted(extra)}")
    try:
        return construct(exit.kind, kwargs)
    except TypeError as exc:  # an attribute without a default left out
        raise ModelError(f"{exit.kind}: {exc}") from None


def validate(exit: ExitReason, schema: Schema, arch: str) -> ExitReason:
    """`exit` if it is a value of `schema`'s enum on `arch` (kind, exact attribute set, every
    value in its Rust type's domain); ModelError otherwise."""
    try:
        schema.check(arch, to_canonical(exit))
    except HarnessError as exc:
        raise ModelError(str(exc)) from None
    return exit


def exit_to_json(exit: ExitReason) -> dict[str, JsonValue]:
    """`{"variant": kind, "fields": {attribute: value}}` (absent attributes left out)."""
    c = to_canonical(exit)
    return {"variant": c.kind, "fields": {k: to_json(v) for k, v in c.attrs.items()}}


def exit_from_json(obj: Mapping[str, JsonValue], schema: Schema | None = None,
                   arch: str = "") -> ExitReason:
    """Inverse of exit_to_json; with `schema` and `arch`, checked against that enum."""
    kind = obj.get("variant")
    if not isinstance(kind, str) or kind not in VARIANT_BY_NAME:
        raise ModelError(f"unknown exit variant {kind!r}")
    given = obj.get("fields", {})
    if not isinstance(given, Mapping):
        raise ModelError(f"{kind}: 'fields' must be an object")
    attrs: dict[str, Value] = {_ALIASES.get((kind, str(k)), str(k)): v for k, v in given.items()}
    exit = from_canonical(Exit(kind, attrs))
    return validate(exit, schema, arch) if schema is not None else exit


def kind_class(kind: str) -> ExitClass:
    try:
        return VARIANT_BY_NAME[kind]
    except KeyError:
        raise ModelError(f"unknown exit kind {kind!r}") from None
