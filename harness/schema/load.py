"""schemas/*.toml → validated, immutable Schema objects.  A bad file is one UsageError naming
file:line; the checks are those of schemas/README.md (names, shapes, kinds, attributes,
types, and that every kind the baseline has is accounted for by a [[change]])."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, UsageError
from harness.schema.codecs import Codec
from harness.schema.derived import Record
from harness.schema.schema import (
    ARCHES,
    FLATTEN,
    ArchEnum,
    Change,
    Field,
    Schema,
    Variant,
)
from harness.schema.schemaset import Canonical, Loaded, SchemaSet, resolve
from harness.schema.types import TypeDefError, TypeTable, type_expr
from harness.tomlcheck import Locations

CANONICAL = "canonical.toml"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOML_LINE = re.compile(r"at line (\d+)")
_SHAPES = ("unit", "struct", "tuple")


At = tuple[str | int, ...]  # a TOML path: ("enum", "aarch64", "variant", 3, "fields", 1)


class _Where:
    """file:line of a TOML path, through the shared locator."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self._locations: Locations | None = None

    def line(self, at: At) -> int:
        if self._locations is None:  # only once the text is known to be TOML
            self._locations = Locations(self.text)
        return self._locations.line(at)

    def error(self, message: str, at: At = ()) -> UsageError:
        return UsageError(f"{self.path}:{self.line(at) if at else 1}: {message}")


def _read(path: Path) -> tuple[dict[str, Any], _Where]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"{path}:1: cannot read schema file: {exc.strerror}") from None
    try:
        return tomllib.loads(text), _Where(path, text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        raise UsageError(f"{path}:{m.group(1) if m else 1}: not TOML: {exc}") from None


def _keys(where: _Where, table: Mapping[str, Any], label: str, at: At,
          required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    for key in table:
        if key not in required + optional:
            raise where.error(f"[{label}]: unknown key `{key}` (allowed: "
                              f"{', '.join(required + optional)})", (*at, key))
    for key in required:
        if key not in table:
            raise where.error(f"[{label}] lacks `{key}`", at)


def _str(where: _Where, table: Mapping[str, Any], label: str, at: At, key: str,
         empty: bool = False) -> str:
    value = table.get(key)
    if not isinstance(value, str) or (not value and not empty):
        raise where.error(f"[{label}] `{key}`: expected a non-empty string", (*at, key))
    return value


def load_canonical(path: Path) -> Canonical:
    data, where = _read(path)
    cats = data.get("category", {}).get("names")
    if not isinstance(cats, list) or not cats or not all(isinstance(c, str) for c in cats):
        raise where.error("[category] `names`: expected a list of category names",
                          ("category", "names"))
    kinds: dict[str, tuple[str, tuple[str, ...]]] = {}
    for kind, spec in data.get("kind", {}).items():
        label, at = f"kind.{kind}", ("kind", kind)
        _keys(where, spec, label, at, ("category", "attrs"))
        cat = _str(where, spec, label, at, "category")
        if cat not in cats:
            raise where.error(f"[{label}] category {cat!r} is not one of {cats}",
                              (*at, "category"))
        attrs = spec["attrs"]
        if not isinstance(attrs, list) or not all(isinstance(a, str) and _IDENT.match(a)
                                                  for a in attrs) or len(set(attrs)) < len(attrs):
            raise where.error(f"[{label}] `attrs`: expected distinct identifiers", (*at, "attrs"))
        kinds[kind] = (cat, tuple(attrs))
    return Canonical(tuple(cats), kinds)


class _FileLoader:
    """One schema file, checked against the canonical kinds (not yet against its baseline)."""

    def __init__(self, path: Path, canonical: Canonical) -> None:
        self.path, self.canonical = path, canonical
        self.data, self.where = _read(path)

    def load(self) -> tuple[Schema, Mapping[str, int]]:
        data, where = self.data, self.where
        for key in data:
            if key not in ("schema", "types", "enum", "change"):
                raise where.error(f"unknown top-level table `{key}`", (key,))
        head = data.get("schema")
        if not isinstance(head, dict):
            raise where.error("missing table [schema]")
        top: At = ("schema",)
        _keys(where, head, "schema", top, ("id", "title", "crate", "versions", "arches", "source"),
              ("baseline",))
        sid = _str(where, head, "schema", top, "id")
        if sid != self.path.stem:
            raise where.error(f"[schema] id {sid!r} must be the file name without .toml "
                              f"({self.path.stem!r})", ("schema", "id"))
        arches = head["arches"]
        if (not isinstance(arches, list) or not arches or len(set(arches)) < len(arches)
                or not all(a in ARCHES for a in arches)):
            raise where.error(f"[schema] `arches`: expected distinct names from {ARCHES}",
                              ("schema", "arches"))
        baseline = head.get("baseline")
        if baseline is not None and (not isinstance(baseline, str) or baseline == sid):
            raise where.error("[schema] `baseline`: expected another schema's id",
                              ("schema", "baseline"))
        table = TypeTable(data.get("types", {}))
        try:
            table.build_all()
        except TypeDefError as exc:
            at = ("types", exc.name) if exc.key == exc.name else ("types", exc.name, exc.key)
            raise where.error(f"[types] {exc.name}: {exc.message}", at) from None
        enums, lines = self._enums(tuple(arches), table)
        changes = self._changes(tuple(arches), enums)
        schema = Schema.build(
            id=sid, title=_str(where, head, "schema", top, "title"),
            crate=_str(where, head, "schema", top, "crate"),
            versions=_str(where, head, "schema", top, "versions", empty=True),
            baseline=baseline, source=_str(where, head, "schema", top, "source"),
            path=str(self.path), enums=enums, changes=changes, new_only={})
        return schema, lines

    def _enums(self, arches: tuple[str, ...], table: TypeTable
               ) -> tuple[dict[str, ArchEnum], dict[str, int]]:
        where, raw = self.where, self.data.get("enum")
        if not isinstance(raw, dict) or not raw:
            raise where.error("missing [enum.<arch>] tables (or one [enum.all])")
        keys = set(raw)
        if keys != {"all"} and keys != set(arches):
            raise where.error(f"[enum.*] tables must be [enum.all] or one per arch in "
                              f"{list(arches)}, found {sorted(keys)}", ("enum", sorted(keys)[0]))
        enums: dict[str, ArchEnum] = {}
        lines: dict[str, int] = {}
        for key, spec in raw.items():
            header, at = f"enum.{key}", ("enum", key)
            _keys(where, spec, header, at, ("name", "source", "variant"))
            variants = spec["variant"]
            if not isinstance(variants, list) or not variants:
                raise where.error(f"[{header}] has no [[{header}.variant]]", at)
            built = tuple(self._variant(f"{header}.variant", (*at, "variant", i), v, table)
                          for i, v in enumerate(variants))
            for attr in ("kind", "rust"):
                seen: set[str] = set()
                for i, v in enumerate(built):
                    name = getattr(v, attr)
                    if name in seen:
                        raise where.error(f"[{header}] two variants with {attr} {name!r}",
                                          (*at, "variant", i, attr))
                    seen.add(name)
            for arch in arches if key == "all" else (key,):
                enums[arch] = ArchEnum(arch, _str(where, spec, header, at, "name"),
                                       _str(where, spec, header, at, "source"), built)
                lines[arch] = where.line(at)
        return {a: enums[a] for a in arches}, lines

    def _variant(self, header: str, at: At, spec: Any, table: TypeTable) -> Variant:
        where = self.where
        _keys(where, spec, header, at, ("rust", "kind", "shape"), ("fields", "logged", "note"))
        rust = _str(where, spec, header, at, "rust")
        kind = _str(where, spec, header, at, "kind")
        shape = _str(where, spec, header, at, "shape")
        if not _IDENT.match(rust):
            raise where.error(f"rust name {rust!r} is not an identifier", (*at, "rust"))
        if kind not in self.canonical.kinds:
            raise where.error(f"kind {kind!r} is not in {CANONICAL}", (*at, "kind"))
        if shape not in _SHAPES:
            raise where.error(f"shape {shape!r}: expected one of {_SHAPES}", (*at, "shape"))
        category, allowed = self.canonical.kinds[kind]
        raw = spec.get("fields", [])
        if not isinstance(raw, list) or (shape == "unit") != (not raw):
            raise where.error(f"{rust}: a {shape} variant needs "
                              f"{'no fields' if shape == 'unit' else 'fields'}",
                              (*at, "fields" if raw else "shape"))
        fields = [self._field((*at, "fields", i), rust, shape, i, f, table)
                  for i, f in enumerate(raw)]
        attrs = [a for f in fields for a in f.attrs()]
        for i, f in enumerate(fields):
            for a in f.attrs():
                if a not in allowed:
                    raise where.error(f"{rust}: attribute {a!r} is not one of {kind}'s "
                                      f"{allowed} ({CANONICAL})", (*at, "fields", i))
                if attrs.count(a) > 1:
                    raise where.error(f"{rust}: attribute {a!r} appears twice",
                                      (*at, "fields", i))
        logged = spec.get("logged", True)
        note = spec.get("note", "")
        if not isinstance(logged, bool) or not isinstance(note, str):
            raise where.error(f"{rust}: `logged` is a bool, `note` a string", at)
        codec = Record(rust, shape, tuple((f.rust, f.codec) for f in fields))
        return Variant(rust, kind, category, shape, tuple(fields), logged, note, codec)

    def _field(self, at: At, rust: str, shape: str, i: int, f: Any, table: TypeTable) -> Field:
        where = self.where
        if not (isinstance(f, list) and len(f) == 3 and all(isinstance(x, str) for x in f)):
            raise where.error(f"{rust}: expected [\"<rust field>\", \"<attribute>\", "
                              f"\"<type>\"], got {f!r}", at)
        name, attr, text = f
        if shape == "tuple" and name != str(i):
            raise where.error(f"{rust}: field {i} of a tuple variant must be named \"{i}\"", at)
        if shape == "struct" and not _IDENT.match(name):
            raise where.error(f"{rust}: field name {name!r} is not an identifier", at)
        try:
            codec = type_expr(text, table.lookup, (rust, name))
        except TypeDefError as exc:
            raise where.error(f"{rust}.{name}: {exc.message}", at) from None
        if attr == FLATTEN and not (isinstance(codec, Record) and codec.shape == "struct"):
            raise where.error(f"{rust}.{name}: \"{FLATTEN}\" needs a struct type", at)
        if attr != FLATTEN and not _IDENT.match(attr):
            raise where.error(f"{rust}.{name}: attribute {attr!r} is not an identifier", at)
        return Field(name, attr, text, codec)

    def _changes(self, arches: tuple[str, ...], enums: Mapping[str, ArchEnum]
                 ) -> tuple[Change, ...]:
        where, out = self.where, []
        for i, spec in enumerate(self.data.get("change", [])):
            at: At = ("change", i)
            _keys(where, spec, "change", at, ("arch", "old", "new", "what", "source"), ("fixed",))
            arch = _str(where, spec, "change", at, "arch")
            if arch != "all" and arch not in arches:
                raise where.error(f"[[change]] arch {arch!r}: expected all or one of {arches}",
                                  (*at, "arch"))
            old = _str(where, spec, "change", at, "old", empty=True)
            new = _str(where, spec, "change", at, "new", empty=True)
            if not old and not new:
                raise where.error("[[change]] needs `old`, `new` or both", at)
            fixed = spec.get("fixed", {})
            if not isinstance(fixed, dict) or (fixed and not new):
                raise where.error("[[change]] `fixed`: attribute values of the new kind",
                                  (*at, "fixed"))
            for a in arches if arch == "all" else (arch,):
                if new and new not in [v.kind for v in enums[a].variants]:
                    raise where.error(f"[[change]] {a}: {new} is not a kind of this schema",
                                      (*at, "new"))
                checked = {}
                for attr, value in fixed.items():
                    try:
                        codec: Codec = next(v for v in enums[a].variants
                                            if v.kind == new).attr_codec(attr)
                        checked[attr] = codec.check(value, f"{new}.{attr}")
                    except HarnessError as exc:
                        raise where.error(f"[[change]] fixed {attr}: {exc}",
                                          (*at, "fixed", attr)) from None
                out.append(Change(a, old, new, _str(where, spec, "change", at, "what"),
                                  _str(where, spec, "change", at, "source"), checked,
                                  where.line(at)))
        return tuple(out)


def schema_dir() -> Path:
    from harness.paths import repo_root

    return repo_root() / "schemas"


def load_schemas(directory: Path | None = None) -> SchemaSet:
    """Every schemas/*.toml plus canonical.toml, validated together."""
    directory = directory if directory is not None else schema_dir()
    canonical = load_canonical(directory / CANONICAL)
    loaded: dict[str, Loaded] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name == CANONICAL:
            continue
        loader = _FileLoader(path, canonical)
        schema, lines = loader.load()
        loaded[schema.id] = Loaded(schema, lines, loader.where.line(("schema", "baseline")))
    if not loaded:
        raise UsageError(f"{directory}:1: no schema files")
    return SchemaSet(canonical, resolve(loaded))
