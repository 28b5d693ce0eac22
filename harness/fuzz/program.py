"""Standalone program files: a fuzz finding's minimal program as JSON (arch, recipe, actions by
type name and fields), so it can be re-run after the generator that produced it has changed."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.fuzz.generate import make_scenario
from harness.scenarios.actions import Action
from harness.scenarios.catalogue import Scenario

FORMAT = "axharness-fuzz-program/1"
# Every member of the Action union, so a new action type is serialisable without an edit here.
ACTION_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in typing.get_args(Action)}
# Written as hex strings: these are addresses and data, read by people next to the disassembly.
_HEX_FIELDS = frozenset({"addr", "value", "nr", "args", "eid", "fid", "port"})


def action_to_json(action: Action) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(action).__name__}
    for f in dataclasses.fields(action):
        v = getattr(action, f.name)
        if f.name in _HEX_FIELDS:
            v = [hex(x) for x in v] if isinstance(v, tuple) else hex(v)
        out[f.name] = v
    return out


def _int(v: object, where: str) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            pass
    raise UsageError(f"{where}: expected an integer or a 0x… string, got {v!r}")


def action_from_json(obj: object, where: str) -> Action:
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise UsageError(f"{where}: an action is an object with a \"type\"")
    cls = ACTION_TYPES.get(obj["type"])
    if cls is None:
        raise UsageError(f"{where}: unknown action type {obj['type']!r}; "
                         f"known: {', '.join(sorted(ACTION_TYPES))}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(obj) - set(fields) - {"type"}
    if unknown:
        raise UsageError(f"{where}: {obj['type']} has no field(s) {', '.join(sorted(unknown))}")
    kw: dict[str, Any] = {}
    for name, value in obj.items():
        if name == "type":
            continue
        default = fields[name].default
        if isinstance(value, list):
            kw[name] = tuple(_int(x, f"{where}.{name}") for x in value)
        elif isinstance(default, bool) or isinstance(value, bool):
            if not isinstance(value, bool):
                raise UsageError(f"{where}.{name}: expected true or false, got {value!r}")
            kw[name] = value
        elif isinstance(default, str) and not isinstance(value, str):
            raise UsageError(f"{where}.{name}: expected a string, got {value!r}")
        elif isinstance(value, str) and (name not in _HEX_FIELDS):
            kw[name] = value
        else:
            kw[name] = _int(value, f"{where}.{name}")
    try:
        action: Action = cls(**kw)
    except TypeError as exc:
        raise UsageError(f"{where}: {obj['type']}: {exc}") from None
    return action


def program_to_json(scenario: Scenario, recipe: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT, "name": scenario.name, "arch": scenario.arch, "recipe": recipe,
            "summary": scenario.summary, "expect_panic": scenario.expect_panic, **extra,
            "actions": [action_to_json(a) for a in scenario.actions]}


def write_program(path: Path, scenario: Scenario, recipe: str, extra: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(program_to_json(scenario, recipe, extra), indent=2) + "\n")


def load_program(path: Path) -> tuple[str, Scenario]:
    """(recipe name, scenario) of a program file; any problem is a one-line UsageError."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f"{path}: not a fuzz program file (\"format\": \"{FORMAT}\")")
    for key in ("arch", "recipe", "name"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise UsageError(f"{path}: \"{key}\" must be a non-empty string")
    if not isinstance(data.get("actions"), list):
        raise UsageError(f"{path}: \"actions\" must be a list")
    actions = tuple(action_from_json(a, f"{path}: actions[{i}]")
                    for i, a in enumerate(data["actions"]))
    scenario = make_scenario(data["arch"], data["name"], str(data.get("summary", "")), actions)
    return data["recipe"], scenario


def describe_action(action: Action) -> str:
    """One line for terminals: the type and its fields, numbers in hex where they are data."""
    obj = action_to_json(action)
    kind = obj.pop("type")
    parts = [f"{k}=[{', '.join(v)}]" if isinstance(v, list) else f"{k}={v}"
             for k, v in obj.items()]
    return f"{kind}({', '.join(parts)})"
