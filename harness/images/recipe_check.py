"""Line-aware validation of recipe values: every error names the file, the line of the value
(its own line inside a `[[patch]]` or `[[file]]` entry) and what was expected."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.images.std_target import StdSpec
from harness.tomlcheck import Locations, Path_

# The exit schema ids the model knows; a recipe that names axvcpu gets the schema of that
# published version (harness.model.exits.Generation.for_axvcpu: minor < 6 → 0.2, else 0.6).
_SCHEMA = re.compile(r"^[a-z][a-z0-9_-]*-\d+\.\d+$")


def schema_of_axvcpu(version: str) -> str:
    """The exit schema id of a published axvcpu version ("" for none)."""
    if not version:
        return ""
    return "axvcpu-0.6" if int(version.split(".")[1]) >= 6 else "axvcpu-0.2"


class Checker:
    """Validates one recipe's values against the text they came from."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.locations = Locations(text)

    def at(self, where: Path_, message: str) -> UsageError:
        return UsageError(f"{self.path}:{self.locations.line(where)}: {message}")

    def fail(self, where: Path_, expected: str) -> UsageError:
        dotted = ".".join(f"[{p}]" if isinstance(p, int) else p for p in where)
        return self.at(where, f"`{dotted.replace('.[', '[')}`: expected {expected}")

    @staticmethod
    def is_int(value: object) -> bool:
        """An integer that is not a boolean (TOML `true` is not an address)."""
        return isinstance(value, int) and not isinstance(value, bool)

    def table(self, data: dict[str, Any], name: str, allowed: set[str],
              required: set[str]) -> dict[str, Any]:
        value = data.get(name)
        if not isinstance(value, dict):
            raise self.at((name,), f"missing table [{name}]")
        self._keys(value, (name,), allowed, required, f"[{name}]")
        return value

    def entries(self, data: dict[str, Any], name: str, keys: set[str]) -> list[dict[str, Any]]:
        """The `[[name]]` entries, each with exactly `keys` (errors at the entry's own line)."""
        value = data.get(name, [])
        if not isinstance(value, list):
            raise self.at((name,), f"`{name}` must be an array of [[{name}]] tables")
        for i, entry in enumerate(value):
            if not isinstance(entry, dict):
                raise self.at((name, i), f"each [[{name}]] must be a table")
            self._keys(entry, (name, i), keys, keys,
                       f"[[{name}]] #{i + 1} (needs exactly {', '.join(sorted(keys))})")
        return value

    def _keys(self, tbl: dict[str, Any], where: Path_, allowed: set[str], required: set[str],
              what: str) -> None:
        for key in tbl:
            if key not in allowed:
                dotted = ".".join(str(p) for p in (*where, key) if not isinstance(p, int))
                raise self.at((*where, key), f"unknown key `{dotted}` in {what} "
                                             f"(allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required):
            if key not in tbl:
                raise self.at(where, f"{what} lacks `{key}`")

    def string(self, tbl: dict[str, Any], where: Path_, pattern: re.Pattern[str] | None = None,
               choices: tuple[str, ...] | None = None, default: str | None = None) -> str:
        value = tbl.get(str(where[-1]), default)
        if not isinstance(value, str):
            raise self.fail(where, "a string")
        if pattern is not None and not pattern.match(value):
            raise self.fail(where, f"a string matching {pattern.pattern}, got {value!r}")
        if choices is not None and value not in choices:
            raise self.fail(where, f"one of {', '.join(choices)}, got {value!r}")
        return value

    def strings(self, tbl: dict[str, Any], where: Path_) -> tuple[str, ...]:
        value = tbl.get(str(where[-1]), [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, "a list of strings")
        return tuple(value)

    def boolean(self, tbl: dict[str, Any], where: Path_) -> bool:
        value = tbl.get(str(where[-1]), False)
        if not isinstance(value, bool):
            raise self.fail(where, "true or false")
        return value

    def existing(self, base: Path, tbl: dict[str, Any], where: Path_) -> Path:
        path = (base / self.string(tbl, where)).resolve()
        if not path.is_file():
            raise self.fail(where, f"an existing file (relative to {base}), {path} is missing")
        return path


def exit_schema(c: Checker, a: dict[str, Any], semver: re.Pattern[str],
                crate: re.Pattern[str]) -> tuple[str, str, tuple[str, str]]:
    """(axvcpu version or "", schema id, (crate, version) the schema is pinned to).

    Either `axvcpu = "X.Y.Z"` (the first format: the schema follows from that version) or
    `schema = "<id>"` with `exit_crate = "<crate> <version>"`."""
    if "axvcpu" in a:
        for key in ("schema", "exit_crate"):
            if key in a:
                raise c.at(("axvisor", key), f"`axvisor.{key}` and `axvisor.axvcpu` exclude each "
                                             "other (axvcpu implies the schema)")
        version = c.string(a, ("axvisor", "axvcpu"), semver)
        return version, schema_of_axvcpu(version), ("axvcpu", version)
    if "schema" not in a or "exit_crate" not in a:
        raise c.at(("axvisor",), "[axvisor] needs `axvcpu`, or `schema` and `exit_crate`")
    schema = c.string(a, ("axvisor", "schema"), _SCHEMA)
    from harness.model.schemas import schema_set  # the data files of schemas/

    known = sorted(s.id for s in schema_set())
    if schema not in known:
        raise c.fail(("axvisor", "schema"), f"one of the schemas in schemas/ "
                     f"({', '.join(known)}), got {schema!r}")
    parts = c.string(a, ("axvisor", "exit_crate")).split()
    if len(parts) != 2 or not crate.match(parts[0]) or not semver.match(parts[1]):
        raise c.fail(("axvisor", "exit_crate"), '"<crate> <version>", e.g. "axvm 0.8.5"')
    return "", schema, (parts[0], parts[1])


_SPEC_KEY = re.compile(r"^[a-z][a-z0-9-]*$")


def std_spec(c: Checker, data: dict[str, Any]) -> StdSpec:
    """The [std] table: a std build for a target spec derived from one of rustc's own."""
    s = c.table(data, "std", {"base", "spec", "remove", "empty_libs"}, {"base", "spec"})
    spec = s.get("spec")
    if not isinstance(spec, dict) or not all(_SPEC_KEY.match(k) for k in spec):
        raise c.fail(("std", "spec"), "a table of target-spec keys (kebab-case) to values")
    libs = c.strings(s, ("std", "empty_libs"))
    if not all(re.match(r"^[A-Za-z0-9_+-]+$", lib) for lib in libs):
        raise c.fail(("std", "empty_libs"), "library names as in -l<name>")
    return StdSpec(
        base=c.string(s, ("std", "base"), re.compile(r"^[A-Za-z0-9_.-]+$")),
        overrides=tuple(sorted(spec.items())),
        remove=tuple(sorted(c.strings(s, ("std", "remove")))),
        empty_libs=tuple(sorted(libs)),
    )
