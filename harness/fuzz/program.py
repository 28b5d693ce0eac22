"""Standalone program files: a fuzz finding's minimal program as JSON (arch, recipe, actions by
type name and fields), so it can be re-run after the generator that produced it has changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.fuzz.generate import make_scenario
from harness.scenarios.actions import Action
from harness.scenarios.catalogue import Scenario
from harness.scenarios.codec import action_from_json, action_to_json
from harness.textfile import read_json

FORMAT = "axharness-fuzz-program/1"


def program_to_json(scenario: Scenario, recipe: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT, "name": scenario.name, "arch": scenario.arch, "recipe": recipe,
            "summary": scenario.summary, "expect_panic": scenario.expect_panic, **extra,
            "actions": [action_to_json(a) for a in scenario.actions]}


def write_program(path: Path, scenario: Scenario, recipe: str, extra: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(program_to_json(scenario, recipe, extra), indent=2) + "\n")


def load_program(path: Path) -> tuple[str, Scenario]:
    """(recipe name, scenario) of a program file; any problem is a one-line UsageError."""
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f"{path}: not a fuzz program file (\"format\": \"{FORMAT}\")")
    for key in ("arch", "recipe", "name"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise UsageError(f"{path}: \"{key}\" must be a non-empty string")
    from harness.scenarios.load import (  # it imports the fuzz generator
        EMITTERS,
        SCENARIO_NAME,
        check_form,
        check_values,
    )

    if not SCENARIO_NAME.match(data["name"]):
        raise UsageError(f"{path}: \"name\" must be letters, digits, '.', '_' and '-' (it "
                         f"names the replay's directory), got {data['name']!r}")
    if not isinstance(data.get("actions"), list) or not data["actions"]:
        raise UsageError(f"{path}: \"actions\" must be a non-empty list")
    actions = tuple(action_from_json(a, f"{path}: actions[{i}]")
                    for i, a in enumerate(data["actions"]))

    if data["arch"] not in EMITTERS:
        raise UsageError(f"{path}: \"arch\" must be one of {', '.join(EMITTERS)}")
    for i, action in enumerate(actions):  # as a scenario file's: before any image is built
        def error(message: str, i: int = i) -> UsageError:
            return UsageError(f"{path}: actions[{i}]: {message}")
        check_values(data["arch"], action, error)
        check_form(data["arch"], action, error)
    scenario = make_scenario(data["arch"], data["name"], str(data.get("summary", "")), actions)
    return data["recipe"], scenario


def describe_action(action: Action) -> str:
    """One line for terminals: the type and its fields, numbers in hex where they are data."""
    obj = action_to_json(action)
    kind = obj.pop("type")
    parts = [f"{k}=[{', '.join(v)}]" if isinstance(v, list) else f"{k}={v}"
             for k, v in obj.items()]
    return f"{kind}({', '.join(parts)})"
