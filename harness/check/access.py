"""The access a known divergence documents, as a class of guest actions.

A fuzz program is in no entry's scenario list, so an entry explains one of its diffs only when
the action behind that exit is of the class the entry names: its action type and, per field of
that type, the values the entry's cause needs (`width = [1, 2, 4]`, `form = ["pre", "post"]`,
`signed = true`). Same fields in both: the action dataclasses of harness.scenarios.actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import get_args

from harness.scenarios.actions import Action

Scalar = int | str | bool
ACTION_TYPES: dict[str, type] = {cls.__name__: cls for cls in get_args(Action)}
_SCALARS: dict[str, type] = {"int": int, "str": str, "bool": bool}


@dataclass(frozen=True, slots=True)
class AccessClass:
    action: str  # an action type name, e.g. "MmioStore"
    where: tuple[tuple[str, tuple[Scalar, ...]], ...] = ()  # field → the values it may take

    def matches(self, action: object) -> bool:
        """`action` is of this class (equal values of the same type: `True` is not `1`)."""
        if type(action).__name__ != self.action:
            return False
        for name, allowed in self.where:
            value = getattr(action, name)
            if not any(type(value) is type(a) and value == a for a in allowed):
                return False
        return True

    def describe(self) -> str:
        conds = [f"{n} {' or '.join(str(v) for v in vs)}" for n, vs in self.where]
        return self.action + (f" with {', '.join(conds)}" if conds else "")


def access_from_toml(value: object) -> AccessClass:
    """An `access = { action = "…", field = value-or-list, … }` table; ValueError says what is
    wrong (the caller adds file and line)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("action"), str):
        raise ValueError("`access` must be a table with `action` = an action type name")
    name = value["action"]
    cls = ACTION_TYPES.get(name)
    if cls is None:
        raise ValueError(f"`access.action` {name!r} is no action type; known: "
                         f"{', '.join(sorted(ACTION_TYPES))}")
    types = {f.name: _SCALARS.get(str(f.type)) for f in fields(cls)}
    where = []
    for key, raw in value.items():
        if key == "action":
            continue
        if key not in types:
            raise ValueError(f"`access.{key}`: {name} has no field {key!r}; fields: "
                             f"{', '.join(types)}")
        kind = types[key]
        if kind is None:
            raise ValueError(f"`access.{key}`: only int, str and bool fields can be matched")
        values = tuple(raw) if isinstance(raw, list) else (raw,)
        if not values or not all(type(v) is kind for v in values):
            raise ValueError(f"`access.{key}` must be a {kind.__name__} or a non-empty list "
                             f"of them, got {raw!r}")
        where.append((key, values))
    return AccessClass(name, tuple(where))
