"""One schema generation as loaded from schemas/<id>.toml: per architecture, the Rust exit
enum's variants, each mapped to a canonical exit kind and its attributes, and whole exits
rendered and parsed through the codecs.  Immutable; built by harness.schema.load."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from harness.errors import HarnessError
from harness.schema.codecs import Codec, CodecError, DomainError, Form, Value, parse, to_json
from harness.schema.derived import Record

ARCHES = ("aarch64", "riscv64", "x86_64")
FLATTEN = "*"  # a field whose struct fields are the kind's attributes (tuple variants)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SchemaLookupError(HarnessError):
    """A kind, variant or architecture the schema does not have."""

    kind = "model error"


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a variant: Rust name ("0" in a tuple variant), canonical attribute (or
    FLATTEN), the Rust type as written in the schema file, and its codec."""

    rust: str
    attr: str
    type: str
    codec: Codec

    def attrs(self) -> tuple[str, ...]:
        """The canonical attributes this field carries."""
        if self.attr == FLATTEN:
            assert isinstance(self.codec, Record)
            return tuple(n for n, _ in self.codec.fields)
        return (self.attr,)

    def attr_codecs(self) -> tuple[tuple[str, Codec], ...]:
        if self.attr == FLATTEN:
            assert isinstance(self.codec, Record)
            return self.codec.fields
        return ((self.attr, self.codec),)


@dataclass(frozen=True, slots=True)
class Variant:
    """One variant of an architecture's exit enum."""

    rust: str
    kind: str
    category: str
    shape: str
    fields: tuple[Field, ...]
    logged: bool
    note: str
    codec: Record

    @property
    def attrs(self) -> tuple[str, ...]:
        return tuple(a for f in self.fields for a in f.attrs())

    def attr_codec(self, attr: str) -> Codec:
        for f in self.fields:
            for name, codec in f.attr_codecs():
                if name == attr:
                    return codec
        raise SchemaLookupError(f"{self.rust} has no attribute {attr!r}")

    def to_rust(self, attrs: Mapping[str, Value]) -> dict[str, Value]:
        """Canonical attributes → the Rust-shaped value (field name → value)."""
        out: dict[str, Value] = {}
        for f in self.fields:
            if f.attr == FLATTEN:
                out[f.rust] = {a: attrs[a] for a in f.attrs()}
            else:
                out[f.rust] = attrs[f.attr]
        return out

    def from_rust(self, value: Mapping[str, Value]) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for f in self.fields:
            inner = value[f.rust]
            if f.attr == FLATTEN:
                assert isinstance(inner, Mapping)
                out.update(inner)
            else:
                out[f.attr] = inner
        return out


@dataclass(frozen=True, slots=True)
class ArchEnum:
    """The exit enum of one architecture."""

    arch: str
    name: str
    source: str
    variants: tuple[Variant, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """What became of a baseline kind on one architecture (`old` "" = new kind, `new` "" =
    gone); `fixed` are attribute values the new variant always has in that case; `line` is
    where the entry starts in its file."""

    arch: str
    old: str
    new: str
    what: str
    source: str
    fixed: Mapping[str, Value]
    line: int


@dataclass(frozen=True, slots=True)
class Exit:
    """An exit in canonical terms: kind and attribute values (JSON-like)."""

    kind: str
    attrs: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Schema:
    """A schema generation; see schemas/README.md for the file format."""

    id: str
    title: str
    crate: str
    versions: str
    baseline: str | None
    source: str
    path: str
    enums: Mapping[str, ArchEnum]
    changes: tuple[Change, ...]
    new_only: Mapping[str, tuple[str, ...]]
    _by_kind: Mapping[tuple[str, str], Variant] = field(repr=False)
    _by_rust: Mapping[tuple[str, str], Variant] = field(repr=False)

    @classmethod
    def build(cls, *, id: str, title: str, crate: str, versions: str, baseline: str | None,
              source: str, path: str, enums: Mapping[str, ArchEnum],
              changes: tuple[Change, ...], new_only: Mapping[str, tuple[str, ...]]) -> Schema:
        by_kind = {(a, v.kind): v for a, e in enums.items() for v in e.variants}
        by_rust = {(a, v.rust): v for a, e in enums.items() for v in e.variants}
        return cls(id, title, crate, versions, baseline, source, path,
                   MappingProxyType(dict(enums)), changes, MappingProxyType(dict(new_only)),
                   MappingProxyType(by_kind), MappingProxyType(by_rust))

    # ------------------------------------------------------------------ names and kinds

    @property
    def arches(self) -> tuple[str, ...]:
        return tuple(self.enums)

    def enum(self, arch: str) -> ArchEnum:
        if arch not in self.enums:
            raise SchemaLookupError(f"schema {self.id} has no exit enum for {arch!r}")
        return self.enums[arch]

    def variants(self, arch: str) -> tuple[Variant, ...]:
        """Variants in Rust declaration order."""
        return self.enum(arch).variants

    def kinds(self, arch: str) -> tuple[str, ...]:
        return tuple(v.kind for v in self.variants(arch))

    def has(self, arch: str, kind: str) -> bool:
        return (arch, kind) in self._by_kind

    def variant(self, arch: str, kind: str) -> Variant:
        found = self._by_kind.get((arch, kind))
        if found is None:
            name = self.enum(arch).name
            raise SchemaLookupError(f"{name} ({self.id}, {arch}) has no variant of kind {kind}")
        return found

    def fields(self, arch: str, kind: str) -> tuple[Field, ...]:
        return self.variant(arch, kind).fields

    def attrs(self, arch: str, kind: str) -> tuple[str, ...]:
        return self.variant(arch, kind).attrs

    def rust_name(self, arch: str, kind: str) -> str:
        return self.variant(arch, kind).rust

    def by_rust_name(self, arch: str, rust: str) -> Variant | None:
        self.enum(arch)
        return self._by_rust.get((arch, rust))

    def rust_names(self, arch: str | None = None) -> frozenset[str]:
        """Variant names of one architecture's enum, or of every enum."""
        return frozenset(r for a, r in self._by_rust if arch is None or a == arch)

    def category(self, arch: str, kind: str) -> str:
        return self.variant(arch, kind).category

    def new_only_kinds(self, arch: str) -> tuple[str, ...]:
        """Kinds this generation has on `arch` that its baseline does not."""
        self.enum(arch)
        return self.new_only.get(arch, ())

    def changes_for(self, arch: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.arch == arch)

    # ------------------------------------------------------------------ values and text

    def check(self, arch: str, exit: Exit) -> Exit:
        """The exit with normalised values; DomainError unless this enum can hold it."""
        v = self.variant(arch, exit.kind)
        want, got = set(v.attrs), set(exit.attrs)
        if want != got:
            raise DomainError(f"{v.rust} ({self.id}, {arch}): missing {sorted(want - got)}, "
                              f"extra {sorted(got - want)}")
        value = v.codec.check(v.to_rust(exit.attrs), v.rust)
        assert isinstance(value, Mapping)
        return Exit(exit.kind, v.from_rust(value))

    def render(self, arch: str, exit: Exit, form: Form) -> str:
        """The exit as Rust prints the enum value under `form`."""
        checked = self.check(arch, exit)
        return self.variant(arch, exit.kind).codec.render(
            self.variant(arch, exit.kind).to_rust(checked.attrs), form)

    def parse(self, arch: str, text: str, form: Form | None = None) -> tuple[Exit, Form]:
        """One record's text (no ANSI, no CR) → exit and the form it is in.  `form=None`
        tries the pretty forms for multi-line or unit records, else `{:?}` then `{:x?}`."""
        enum = self.enum(arch)
        m = _IDENT.match(text)
        v = self.by_rust_name(arch, m.group()) if m else None
        if v is None:
            found = repr(m.group()) if m else repr(text[:1])
            known = ", ".join(x.rust for x in enum.variants)
            raise CodecError(0, f"expected a variant of {enum.name} ({self.id}, {arch}), found "
                             f"{found}: known are {known}")
        if form is not None:
            forms: tuple[Form, ...] = (form,)
        elif "\n" in text or not v.fields:
            forms = (Form.PRETTY_HEX, Form.PRETTY)
        else:
            forms = (Form.DEBUG, Form.DEBUG_HEX)
        best: CodecError | None = None
        for f in forms:
            try:
                value = parse(v.codec, text, f)
            except CodecError as exc:
                if best is None or exc.offset > best.offset:
                    best = exc
                continue
            assert isinstance(value, Mapping)
            return Exit(v.kind, v.from_rust(value)), f
        assert best is not None
        raise best

    def to_rust_json(self, arch: str, exit: Exit) -> dict[str, object]:
        """`{"variant": <Rust name>, "fields": {<Rust field>: …}}`, as the golden files."""
        v = self.variant(arch, exit.kind)
        checked = self.check(arch, exit)
        return {"variant": v.rust, "fields": to_json(v.to_rust(checked.attrs))}

    def from_rust_json(self, arch: str, obj: Mapping[str, object]) -> Exit:
        name, fields = obj.get("variant"), obj.get("fields", {})
        v = self.by_rust_name(arch, name) if isinstance(name, str) else None
        if v is None:
            raise DomainError(f"{self.id} ({arch}): unknown variant {name!r}")
        value = v.codec.check(fields, v.rust)
        assert isinstance(value, Mapping)
        return Exit(v.kind, v.from_rust(value))
