"""Scenario files (scenarios/*.toml, or a user's file): TOML → checked Scenario values.

The format is documented at the top of every shipped file and in docs/writing-a-scenario.md.
Every key is checked, and so is every action against its architecture's emitter (a form for
that architecture, registers it may use, widths it has), so a mistake is a one-line
`file:line: …` UsageError when the file is loaded, not an ERROR verdict after a boot.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.check.compare import async_requirement
from harness.errors import UsageError
from harness.guests import emit_aarch64, emit_riscv64, emit_x86_64
from harness.model.exits import ALL_VARIANTS
from harness.model.sysreg import a64 as a64_sysreg
from harness.model.values import ModelError
from harness.paths import repo_root
from harness.scenarios.actions import Action, StartSecondary, SysRegRead, SysRegWrite
from harness.scenarios.catalogue import ENDS, Scenario
from harness.scenarios.codec import FieldError, Value, decode_action, integer
from harness.tomlcheck import Locations, Path_, fail

SCENARIO_DIR = "scenarios"
EMITTERS: dict[str, ModuleType] = {"aarch64": emit_aarch64, "riscv64": emit_riscv64,
                                   "x86_64": emit_x86_64}
_TOP_KEYS = ("arch", "values", "scenario")
# A scenario's (and a fuzz program's) name: it names the case's directory too.
SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_VALUE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VARIANTS = frozenset(cls.__name__ for cls in ALL_VARIANTS)
# Scenario fields a file sets, with their types (arch comes from the file).
_FIELDS: dict[str, Any] = {f.name: typing.get_type_hints(Scenario)[f.name]
                           for f in fields(Scenario) if f.name != "arch"}
_REQUIRED = ("name", "summary", "actions")


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    """One loaded file: its architecture, named values and scenarios, in file order."""

    path: Path
    arch: str
    values: Mapping[str, Value]
    scenarios: tuple[Scenario, ...]


class _File:
    """One file's text, data and line locator; `fail` names file and line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read scenario file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[:exc.start].count(b"\n") + 1
            raise UsageError(f"{path}:{line}: not UTF-8 text (byte {exc.object[exc.start]:#x}); "
                             "a scenario file is TOML") from None
        try:
            self.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"at line (\d+)", str(exc))
            raise UsageError(f"{path}:{m.group(1) if m else 1}: not valid TOML: {exc}") from None
        self.loc = Locations(text)

    def fail(self, at: Path_, message: str) -> UsageError:
        return fail(self.path, self.loc, at, message)


def _values(f: _File) -> dict[str, Value]:
    raw = f.data.get("values", {})
    if not isinstance(raw, dict):
        raise f.fail(("values",), "expected a table [values] of named integers, integer "
                     "lists and strings")
    out: dict[str, Value] = {}
    for name, value in raw.items():
        at = ("values", name)
        if not _VALUE_NAME.match(name):
            raise f.fail(at, f"expected a value name like DEV or HC_ARGS, got {name!r}")
        try:
            if isinstance(value, list):
                out[name] = tuple(integer(v, out, (*at, i)) for i, v in enumerate(value))
            elif isinstance(value, str) and not value.startswith("$"):
                out[name] = value
            else:
                out[name] = integer(value, out, at)
        except FieldError as exc:
            raise f.fail(exc.at, exc.message) from None
    return out


def _text(f: _File, table: Mapping[str, Any], key: str, at: Path_) -> str:
    value = table[key]
    if not isinstance(value, str):
        raise f.fail(at, f"`{key}`: expected a string, got {value!r}")
    return value


def _scenario_field(f: _File, hint: Any, key: str, value: object, at: Path_,
                    values: Mapping[str, Value], arch: str) -> object:
    if hint is str:
        if not isinstance(value, str):
            raise f.fail(at, f"`{key}`: expected a string, got {value!r}")
        if value.startswith("$"):
            named = values.get(value[1:])
            if not isinstance(named, str):
                raise f.fail(at, f"`{key}`: {value!r} names no string of [values]")
            return named
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise f.fail(at, f"`{key}`: expected true or false, got {value!r}")
        return value
    if hint is bytes:
        if not isinstance(value, str):
            raise f.fail(at, f"`{key}`: expected a string (typed as UTF-8), got {value!r}")
        return value.encode()
    if key == "on":
        return _on(f, value, at, values, arch)
    if key == "actions":
        if not isinstance(value, list):
            raise f.fail(at, "`actions`: expected a list of actions ({ type = \"…\", … })")
        return tuple(_action(f, a, (*at, i), values, arch) for i, a in enumerate(value))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise f.fail(at, f"`{key}`: expected a list of strings, got {value!r}")
    if key == "expect_async":
        for text in value:
            try:
                variant, _ = async_requirement(text)
            except ValueError as exc:
                raise f.fail(at, f"`expect_async`: {text!r}: {exc}") from None
            if variant not in _VARIANTS:
                raise f.fail(at, f"`expect_async`: expected an exit variant name, optionally "
                             f"with field=value, got {text!r}")
    return tuple(value)


def _on(f: _File, value: object, at: Path_, values: Mapping[str, Value], arch: str
        ) -> tuple[tuple[str, tuple[tuple[str, object], ...]], ...]:
    """`on = { "<recipe>" = { <end key> = value, … } }`: ends that differ per image."""
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise f.fail(at, "`on`: expected { \"<recipe>\" = { <end key> = value, … }, … }")
    out = []
    for recipe, table in value.items():
        for key in table:
            if key not in ENDS:
                raise f.fail((*at, recipe, key), f"`on.{recipe}`: unknown key `{key}` "
                             f"(allowed: {', '.join(ENDS)})")
        out.append((recipe, tuple(
            (key, _scenario_field(f, _FIELDS[key], key, v, (*at, recipe, key), values, arch))
            for key, v in table.items())))
    return tuple(out)


def _action(f: _File, obj: object, at: Path_, values: Mapping[str, Value],
            arch: str) -> Action:
    try:
        action = decode_action(obj, values)
    except FieldError as exc:
        raise f.fail((*at, *exc.at), exc.message) from None
    check_values(arch, action, lambda message: f.fail(at, message))
    check_form(arch, action, lambda message: f.fail(at, message))
    return action


_U64, _I64 = (0, (1 << 64) - 1), (-(1 << 63), (1 << 63) - 1)


def check_values(arch: str, action: Action, error: Callable[[str], UsageError]) -> None:
    """Every integer of `action` fits the 64-bit register it goes to (an `offset` is signed):
    a wider one was cut in the guest while the model kept it whole; a system register the
    model knows by name (aarch64: what the run's assembler and model both must read)."""
    for a in (action, *(action.actions if isinstance(action, StartSecondary) else ())):
        for fld in dataclasses.fields(a):
            value = getattr(a, fld.name)
            lo, hi = _I64 if fld.name == "offset" else _U64
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, int) and not isinstance(v, bool) and not lo <= v <= hi:
                    raise error(f"{type(a).__name__}.{fld.name}: {v:#x} does not fit "
                                f"{'a signed' if lo else 'an unsigned'} 64-bit register")
        if arch == "aarch64" and isinstance(a, SysRegRead | SysRegWrite):
            try:
                a64_sysreg(a.name)
            except ModelError as exc:
                raise error(f"{type(a).__name__}: {exc} (ARM ARM C5.3 names, or "
                            "S<op0>_<op1>_C<n>_C<m>_<op2>)") from None


def check_form(arch: str, action: Action, error: Callable[[str], UsageError]) -> None:
    """The emitter of `arch` has a form for `action` (and for the actions of a started vCPU)
    and accepts its fields: emitting it alone raises what a run would."""
    emitter = EMITTERS[arch]
    inner = action.actions if isinstance(action, StartSecondary) else ()
    for a in (action, *inner):
        if type(a) not in emitter.ACTIONS:
            raise error(f"no {arch} form for {type(a).__name__} (the {arch} emitter has: "
                        f"{', '.join(sorted(t.__name__ for t in emitter.ACTIONS))})")
    try:
        emitter.emit_payload((action,))
    except UsageError as exc:
        raise error(f"{type(action).__name__}: {exc}") from None


# The declared ends that exclude each other (how the run ends); last_exit_repeats and the like
# qualify an end rather than being one.
_EXCLUSIVE_ENDS = ("expect_panic", "expect_hang", "expect_stuck", "may_stick", "expect_vm_error")


def _scenarios(f: _File, arch: str, values: Mapping[str, Value]) -> tuple[Scenario, ...]:
    tables = f.data.get("scenario")
    if not isinstance(tables, list) or not tables:
        raise f.fail(("scenario",), "expected at least one [[scenario]] table")
    out: list[Scenario] = []
    seen: set[str] = set()
    for i, table in enumerate(tables):
        at: Path_ = ("scenario", i)
        if not isinstance(table, dict):
            raise f.fail(at, "expected a [[scenario]] table")
        for key in table:
            if key not in _FIELDS:
                raise f.fail((*at, key), f"unknown key `{key}` (allowed: "
                             f"{', '.join(_FIELDS)})")
        for key in _REQUIRED:
            if key not in table:
                raise f.fail(at, f"[[scenario]] lacks `{key}`")
        name = _text(f, table, "name", (*at, "name"))
        if not SCENARIO_NAME.match(name) or name in seen:
            raise f.fail((*at, "name"), f"expected a new name of letters, digits, '.', '_' "
                         f"and '-', got {name!r}")
        seen.add(name)
        summary = _text(f, table, "summary", (*at, "summary"))
        if not summary.strip() or "\n" in summary:
            raise f.fail((*at, "summary"), "expected a one-line summary")
        kw = {key: _scenario_field(f, _FIELDS[key], key, value, (*at, key), values, arch)
              for key, value in table.items()}
        scenario = Scenario(arch=arch, **kw)  # type: ignore[arg-type]
        for image in ("", *(recipe for recipe, _ in scenario.on)):
            ends = [k for k in _EXCLUSIVE_ENDS if getattr(scenario.for_image(image), k)]
            if len(ends) > 1:
                raise f.fail(at, f"declares {' and '.join(ends)}"
                             + (f" on image {image}" if image else "")
                             + ": a run ends one way (at most one of "
                             + ", ".join(_EXCLUSIVE_ENDS) + ")")
        out.append(scenario)
    return tuple(out)


def load_file(path: Path) -> ScenarioFile:
    """Load and check one scenario file; every problem is a one-line `file:line:` error."""
    f = _File(path)
    for key in f.data:
        if key not in _TOP_KEYS:
            raise f.fail((key,), f"unknown top-level key `{key}` (allowed: "
                         f"{', '.join(_TOP_KEYS)})")
    arch = f.data.get("arch")
    if arch not in EMITTERS:
        raise f.fail(("arch",), f"expected `arch` = one of {', '.join(EMITTERS)}, got {arch!r}")
    values = _values(f)
    return ScenarioFile(path, arch, values, _scenarios(f, arch, values))


def load_values(path: Path) -> dict[str, Value]:
    """Only the [values] of a file (for code that shares its constants)."""
    return _values(_File(path))


def shipped_files() -> tuple[Path, ...]:
    """The catalogue: scenarios/*.toml of the checkout."""
    return tuple(sorted((repo_root() / SCENARIO_DIR).glob("*.toml")))


class Values:
    """Typed access to a file's [values] (the fuzz generator reads the device windows)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._values = load_values(path)

    def get(self, name: str, kind: type) -> Value:
        """The value `name`, which must be of `kind` (int, tuple, str)."""
        if name not in self._values:
            raise UsageError(f"{self.path}: [values] lacks {name}")
        value = self._values[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UsageError(f"{self.path}: [values] {name} is not a {kind.__name__}")
        return value


@functools.cache
def shipped_values(arch: str) -> Values:
    """The [values] of the catalogue's file for `arch` (scenarios/<arch>.toml), read once."""
    return Values(repo_root() / SCENARIO_DIR / f"{arch}.toml")


_KINDS: dict[str, type] = {"int": int, "str": str, "tuple[int, ...]": tuple}


def module_values(arch: str, annotations: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for the names a module declares (`DEV: int`), taken from the
    catalogue's [values] when first used: a broken file is then a usage error of the command
    that reads it, not a traceback at import."""
    kinds = {name: _KINDS[str(kind)] for name, kind in annotations.items()}

    def getattr_(name: str) -> Any:
        if name not in kinds:
            raise AttributeError(name)
        return shipped_values(arch).get(name, kinds[name])

    return getattr_
