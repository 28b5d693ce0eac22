"""Actions as plain data (`{type = "MmioStore", addr = …}`): the one codec shared by scenario
files (TOML) and fuzz program files (JSON).

Every member of the Action union is a type, its dataclass fields are the keys, their
annotations say what a value must be. Integers may be written as numbers or as "0x…" strings;
in a scenario file they may also name an entry of its `[values]` table (`"$DEV"`,
`"$DEV + 0x10"`), and a list or string field may name a list or string there (`"$HC_ARGS"`).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from typing import Any

from harness.errors import UsageError
from harness.scenarios.actions import Action

ACTION_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in typing.get_args(Action)}
# Written as hex strings: these are addresses and data, read by people next to the disassembly.
_HEX_FIELDS = frozenset({"addr", "value", "nr", "args", "eid", "fid", "port", "offset"})
# Left out at their defaults, so that files written before they existed read the same.
_QUIET = frozenset({"offset", "extend", "scaled", "once"})
_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)\s*(?:([+-])\s*(\S+))?$")

Value = int | tuple[int, ...] | str
"""What a `[values]` entry may hold."""


class FieldError(ValueError):
    """A bad value, with its place inside the action: ("addr",) or ("actions", 0, "reg")."""

    def __init__(self, at: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.at = at
        self.message = message


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _ref(text: str, values: Mapping[str, Value], at: tuple[str | int, ...]) -> Value | None:
    """The value `text` names ("$NAME", "$NAME + 4"), None if it is not a reference."""
    m = _REF.match(text.strip())
    if not m:
        return None
    name, sign, delta = m.groups()
    if name not in values:
        known = ", ".join(sorted(values)) or "none"
        raise FieldError(at, f"{text!r} names no entry of [values] (defined: {known})")
    value = values[name]
    if sign is None:
        return value
    if not isinstance(value, int):
        raise FieldError(at, f"{text!r}: only an integer value takes an offset")
    try:
        step = int(delta, 0)
    except ValueError:
        raise FieldError(at, f"{text!r}: expected $NAME + an integer") from None
    return value + step if sign == "+" else value - step


def integer(v: object, values: Mapping[str, Value], at: tuple[str | int, ...]) -> int:
    """An integer written as a number, a "0x…" string or a reference to [values]."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            pass
        ref = _ref(v, values, at)
        if isinstance(ref, int):
            return ref
        if ref is not None:
            raise FieldError(at, f"expected an integer, but {v!r} is {ref!r}")
    raise FieldError(at, f"expected an integer or a 0x… string, got {v!r}")


def _ints(v: object, values: Mapping[str, Value], at: tuple[str | int, ...],
          length: int | None) -> tuple[int, ...]:
    if isinstance(v, str) and (ref := _ref(v, values, at)) is not None:
        v = list(ref) if isinstance(ref, tuple) else ref
    if not isinstance(v, list):
        raise FieldError(at, f"expected a list of integers, got {v!r}")
    out = tuple(integer(x, values, (*at, i)) for i, x in enumerate(v))
    if length is not None and len(out) != length:
        raise FieldError(at, f"expected a list of {length} integers, got {len(out)}")
    return out


def _str(v: object, values: Mapping[str, Value], at: tuple[str | int, ...]) -> str:
    if isinstance(v, str):
        ref = _ref(v, values, at) if v.startswith("$") else None
        if ref is None:
            return v
        if isinstance(ref, str):
            return ref
        raise FieldError(at, f"expected a string, but {v!r} is {ref!r}")
    raise FieldError(at, f"expected a string, got {v!r}")


def decode_action(obj: object, values: Mapping[str, Value] | None = None,
                  at: tuple[str | int, ...] = ()) -> Action:
    """One action from its data form; FieldError says where inside it a value is wrong."""
    values = values or {}
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise FieldError(at, 'an action is a table (an object) with a "type"')
    cls = ACTION_TYPES.get(obj["type"])
    if cls is None:
        raise FieldError((*at, "type"), f"unknown action type {obj['type']!r}; "
                         f"known: {', '.join(sorted(ACTION_TYPES))}")
    hints = _hints(cls)
    unknown = set(obj) - set(hints) - {"type"}
    if unknown:
        raise FieldError(at, f"{obj['type']} has no field(s) {', '.join(sorted(unknown))}; "
                         f"fields: {', '.join(hints)}")
    kw: dict[str, Any] = {}
    for name, value in obj.items():
        if name != "type":
            kw[name] = _field(hints[name], value, values, (*at, name))
    try:
        action: Action = cls(**kw)
    except TypeError as exc:
        raise FieldError(at, f"{obj['type']}: {exc}") from None
    return action


def _field(hint: Any, value: object, values: Mapping[str, Value],
           at: tuple[str | int, ...]) -> object:
    args = typing.get_args(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise FieldError(at, f"expected true or false, got {value!r}")
        return value
    if hint is int:
        return integer(value, values, at)
    if hint is str:
        return _str(value, values, at)
    if typing.get_origin(hint) is tuple:
        if args[0] is int:
            return _ints(value, values, at, None if args[-1] is Ellipsis else len(args))
        if not isinstance(value, list):  # nested actions (a started vCPU's)
            raise FieldError(at, f"expected a list of actions, got {value!r}")
        return tuple(decode_action(a, values, (*at, i)) for i, a in enumerate(value))
    if type(None) in args:  # `int | None`: absent means None; a value must be an integer
        return integer(value, values, at)
    raise FieldError(at, f"no data form for a field of type {hint!r}")


def _dotted(at: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at)


def action_from_json(obj: object, where: str) -> Action:
    """One action of a JSON file; errors are one-line UsageErrors starting with `where`."""
    try:
        return decode_action(obj)
    except FieldError as exc:
        raise UsageError(f"{where}{_dotted(exc.at)}: {exc.message}") from None


def action_to_json(action: Action) -> dict[str, Any]:
    """The data form of `action`: every field but unset addressing ones, data in hex."""
    out: dict[str, Any] = {"type": type(action).__name__}
    for f in dataclasses.fields(action):
        v = getattr(action, f.name)
        if v is None or (f.name in _QUIET and v == f.default):
            continue
        if f.name == "actions":
            v = [action_to_json(a) for a in v]
        elif f.name in _HEX_FIELDS:
            v = [hex(x) for x in v] if isinstance(v, tuple) else hex(v)
        out[f.name] = v
    return out
