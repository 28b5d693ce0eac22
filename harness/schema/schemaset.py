"""The schemas of a directory as one set: baselines resolved, every change between a schema and
its baseline accounted for, and the schema of a crate version selected."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from harness.errors import UsageError
from harness.schema.schema import Schema


@dataclass(frozen=True)
class Canonical:
    """canonical.toml: kind → (category, attributes)."""

    categories: tuple[str, ...]
    kinds: Mapping[str, tuple[str, tuple[str, ...]]]


class Loaded(NamedTuple):
    """One file's schema before resolution, with the lines errors point at."""

    schema: Schema
    enum_lines: Mapping[str, int]
    baseline_line: int


@dataclass(frozen=True)
class SchemaSet:
    """Every schema of a directory, baselines resolved."""

    canonical: Canonical
    schemas: Mapping[str, Schema]

    def get(self, schema_id: str) -> Schema:
        if schema_id not in self.schemas:
            raise UsageError(f"unknown schema {schema_id!r}: known are "
                             f"{', '.join(sorted(self.schemas))}")
        return self.schemas[schema_id]

    def __iter__(self) -> Iterator[Schema]:
        return iter(self.schemas.values())

    def select(self, crate: str, version: str) -> Schema:
        """The schema describing `crate` at `version` (e.g. axvm 0.8.5, axvcpu 0.5.9)."""
        hits = [s for s in self if s.crate == crate and _in_range(version, s.versions)]
        if len(hits) != 1:
            known = ", ".join(f"{s.id} ({s.crate} {s.versions or 'unpublished'})" for s in self)
            raise UsageError(f"no single schema for {crate} {version}: known are {known}")
        return hits[0]


def _version(text: str) -> tuple[int, ...]:
    m = re.match(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text.strip())
    if m is None:
        raise UsageError(f"version {text!r}: expected MAJOR.MINOR[.PATCH]")
    return tuple(int(g or 0) for g in m.groups())


def _in_range(version: str, spec: str) -> bool:
    if not spec:
        return False
    v = _version(version)
    for part in spec.split(","):
        m = re.match(r"\s*(>=|<=|<|>|=)\s*(\S+)\s*\Z", part)
        if m is None:
            raise UsageError(f"version range {spec!r}: expected comparators like >=0.8, <0.9")
        op, bound = m.group(1), _version(m.group(2))
        ok = {">=": v >= bound, "<=": v <= bound, "<": v < bound, ">": v > bound,
              "=": v == bound}[op]
        if not ok:
            return False
    return True


def resolve(loaded: Mapping[str, Loaded]) -> dict[str, Schema]:
    """Baselines checked (they exist, no cycle, every change accounted for) and each schema's
    new-only kinds filled in."""
    out: dict[str, Schema] = {}
    for sid, (schema, lines, baseline_line) in loaded.items():
        where = f"{schema.path}:{baseline_line}"
        chain, b = [sid], schema.baseline
        while b is not None:
            if b not in loaded:
                raise UsageError(f"{where}: baseline {b!r} is not a schema in "
                                 f"{Path(schema.path).parent}")
            if b in chain:
                raise UsageError(f"{where}: baseline cycle {' -> '.join([*chain, b])}")
            chain.append(b)
            b = loaded[b].schema.baseline
        new_only: dict[str, tuple[str, ...]] = {}
        if schema.baseline is not None:
            base = loaded[schema.baseline].schema
            for arch in schema.arches:
                if arch in base.arches:
                    _check_changes(schema, base, arch, f"{schema.path}:{lines[arch]}")
                    new_only[arch] = tuple(k for k in schema.kinds(arch)
                                           if not base.has(arch, k))
        else:
            new_only = {a: () for a in schema.arches}
        out[sid] = Schema.build(
            id=schema.id, title=schema.title, crate=schema.crate, versions=schema.versions,
            baseline=schema.baseline, source=schema.source, path=schema.path,
            enums=schema.enums, changes=schema.changes, new_only=new_only)
    return out


def _check_changes(schema: Schema, base: Schema, arch: str, where: str) -> None:
    """Every baseline kind that is gone, new or reshaped on `arch` has a [[change]]."""
    changes = schema.changes_for(arch)
    olds = {c.old for c in changes}
    news = {c.new for c in changes}
    pairs = {(c.old, c.new) for c in changes}
    for c in changes:
        if c.old and not base.has(arch, c.old):
            raise UsageError(f"{schema.path}:{c.line}: [[change]] {arch}: {c.old} is not a kind "
                             f"of the baseline {base.id}")
    for kind in base.kinds(arch):
        if not schema.has(arch, kind) and kind not in olds:
            raise UsageError(f"{where}: {arch}: kind {kind} of {base.id} is gone "
                             "without a [[change]] saying what became of it")
        if (schema.has(arch, kind) and schema.attrs(arch, kind) != base.attrs(arch, kind)
                and (kind, kind) not in pairs):
            raise UsageError(f"{where}: {arch}: kind {kind} changed its attributes "
                             f"{base.attrs(arch, kind)} -> {schema.attrs(arch, kind)} without "
                             f"a [[change]] with old = new = {kind!r}")
    for kind in schema.kinds(arch):
        if not base.has(arch, kind) and kind not in news:
            raise UsageError(f"{where}: {arch}: kind {kind} is new since {base.id} "
                             "but no [[change]] says so")
