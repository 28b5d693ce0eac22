"""Field types of a schema file → codecs: Rust type syntax for fields (`u64`, `[u64; 6]`,
`Option<X86ByteRegister>`, a name from the file's `[types]` table) and one combinator per
`[types]` entry (see schemas/README.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from harness.schema.codecs import Bool, Codec, Flags, Int, Text, UnitEnum
from harness.schema.derived import Array, Newtype, Optional, Record

INT_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "usize": 64}  # all targets are 64-bit
COMBINATORS = ("debug", "enum", "flags", "tuple", "struct")
_KEYS = {
    "debug": {"int"},
    "enum": set(),
    "flags": {"int", "name"},
    "tuple": {"of"},
    "struct": {"fields"},
}
_PLACEHOLDERS = {"{}": "dec", "{:x}": "hex", "{:#x}": "0xhex"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[\[\];<>])")
Where = tuple[str, str]
Lookup = Callable[[str, Where], Codec]


class TypeDefError(Exception):
    """A bad type definition or expression; `name` and `key` locate it in the file."""

    def __init__(self, name: str, key: str, message: str) -> None:
        super().__init__(message)
        self.name, self.key, self.message = name, key, message


def primitive(name: str) -> Codec | None:
    """The codec of a Rust primitive with derived-style Debug, or None."""
    if name == "bool":
        return Bool()
    if name in INT_BITS:
        return Int(INT_BITS[name], rust=name)
    return None


class _Expr:
    def __init__(self, text: str, lookup: Lookup, where: Where) -> None:
        self.text, self.where, self.lookup = text, where, lookup
        self.tokens = _TOKEN.findall(text)
        if "".join(self.tokens) != re.sub(r"\s+", "", text):
            raise self.fail("not a Rust type")
        self.i = 0

    def fail(self, why: str) -> TypeDefError:
        return TypeDefError(*self.where, f"type {self.text!r}: {why}")

    def take(self, want: str | None = None) -> str:
        if self.i >= len(self.tokens):
            raise self.fail(f"expected {want or 'a type'} at the end")
        tok: str = self.tokens[self.i]
        if want is not None and tok != want:
            raise self.fail(f"expected {want!r}, found {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> Codec:
        tok = self.take()
        if tok == "[":
            inner = self.parse()
            self.take(";")
            count = self.take()
            if not count.isdigit():
                raise self.fail(f"expected an array length, found {count!r}")
            self.take("]")
            return Array(inner, int(count))
        if tok == "Option":
            self.take("<")
            inner = self.parse()
            self.take(">")
            if isinstance(inner, Optional):
                raise self.fail("Option<Option<…>> is not supported")
            return Optional(inner)
        if not _NAME.match(tok):
            raise self.fail(f"unexpected {tok!r}")
        found = primitive(tok)
        return self.lookup(tok, self.where) if found is None else found


def type_expr(text: str, lookup: Lookup, where: Where) -> Codec:
    """The codec of a Rust type expression; `lookup(name, where)` resolves `[types]` names."""
    expr = _Expr(text, lookup, where)
    codec = expr.parse()
    if expr.i != len(expr.tokens):
        raise expr.fail(f"unexpected {expr.tokens[expr.i]!r} after the type")
    return codec


class TypeTable:
    """The `[types]` table of one file, built lazily so entries may refer to each other."""

    def __init__(self, defs: Mapping[str, object]) -> None:
        self.defs = defs
        self.built: dict[str, Codec] = {}
        self.building: set[str] = set()

    def lookup(self, name: str, where: Where) -> Codec:
        if name in self.built:
            return self.built[name]
        if name not in self.defs:
            raise TypeDefError(*where, f"unknown type {name!r} (not a primitive, not in [types])")
        if name in self.building:
            raise TypeDefError(name, name, f"type {name!r} refers to itself")
        self.building.add(name)
        self.built[name] = self._build(name, self.defs[name])
        self.building.discard(name)
        return self.built[name]

    def build_all(self) -> dict[str, Codec]:
        for name in self.defs:
            self.lookup(name, (name, name))
        return dict(self.built)

    def _build(self, name: str, spec: object) -> Codec:
        if not _NAME.match(name) or primitive(name) is not None:
            raise TypeDefError(name, name, f"type name {name!r} must be a new Rust identifier")
        if not isinstance(spec, Mapping):
            raise TypeDefError(name, name, "expected { <combinator> = …, source = … }")
        kinds = [k for k in COMBINATORS if k in spec]
        if len(kinds) != 1:
            raise TypeDefError(name, name, f"expected exactly one of {', '.join(COMBINATORS)}")
        kind = kinds[0]
        allowed = {kind, "source", "note"} | _KEYS[kind]
        for key in spec:
            if key not in allowed:
                raise TypeDefError(name, key, f"unknown key {key!r} for a `{kind}` type "
                                 f"(allowed: {', '.join(sorted(allowed))})")
        if not isinstance(spec.get("source"), str) or not spec["source"]:
            raise TypeDefError(name, name, "expected `source` (crate version and file read)")
        build: Callable[[str, Mapping[str, object]], Codec] = getattr(self, f"_{kind}")
        return build(name, spec)

    def _int(self, name: str, spec: Mapping[str, object]) -> int:
        bits = INT_BITS.get(str(spec.get("int")))
        if bits is None:
            raise TypeDefError(name, "int", f"expected `int` = one of {', '.join(INT_BITS)}")
        return bits

    def _debug(self, name: str, spec: Mapping[str, object]) -> Codec:
        template = spec["debug"]
        hits = [p for p in _PLACEHOLDERS if isinstance(template, str) and p in template]
        if not isinstance(template, str) or len(hits) != 1 or template.count("{") != 1:
            raise TypeDefError(name, "debug", "expected a write! template with one of "
                             f"{', '.join(_PLACEHOLDERS)}")
        prefix, suffix = template.split(hits[0])
        rust = str(spec["int"])
        number = Int(self._int(name, spec), _PLACEHOLDERS[hits[0]], rust=rust)
        return Text(prefix, number, suffix)

    def _enum(self, name: str, spec: Mapping[str, object]) -> Codec:
        return UnitEnum(name, self._names(name, "enum", spec["enum"]))

    def _flags(self, name: str, spec: Mapping[str, object]) -> Codec:
        names = self._names(name, "flags", spec["flags"])
        bits = self._int(name, spec)
        if len(names) > bits:
            raise TypeDefError(name, "flags", f"{len(names)} flags do not fit u{bits}")
        type_name = spec.get("name")
        if type_name is None:
            return Flags(name, names, bits)
        if not isinstance(type_name, str) or not _NAME.match(type_name):
            raise TypeDefError(name, "name", "expected the public struct's name")
        return Newtype(type_name, Flags(name, names, bits))

    def _tuple(self, name: str, spec: Mapping[str, object]) -> Codec:
        rust, of = spec["tuple"], spec.get("of")
        if not isinstance(rust, str) or not _NAME.match(rust) or not isinstance(of, str):
            raise TypeDefError(name, "tuple", "expected tuple = \"<Name>\", of = \"<field type>\"")
        return Newtype(rust, type_expr(of, self.lookup, (name, "of")))

    def _struct(self, name: str, spec: Mapping[str, object]) -> Codec:
        rust, fields = spec["struct"], spec.get("fields")
        if not isinstance(rust, str) or not _NAME.match(rust):
            raise TypeDefError(name, "struct", "expected the struct's Rust name")
        if not isinstance(fields, list) or not fields:
            raise TypeDefError(name, "fields", "expected [[\"<field>\", \"<type>\"], …]")
        out: list[tuple[str, Codec]] = []
        for f in fields:
            if not (isinstance(f, list) and len(f) == 2 and all(isinstance(x, str) for x in f)):
                raise TypeDefError(name, "fields", f"expected [\"<field>\", \"<type>\"], got {f!r}")
            if not _NAME.match(f[0]) or f[0] in dict(out):
                raise TypeDefError(name, "fields", f"bad or repeated field name {f[0]!r}")
            out.append((f[0], type_expr(f[1], self.lookup, (name, "fields"))))
        return Record(rust, "struct", tuple(out))

    @staticmethod
    def _names(name: str, key: str, value: object) -> tuple[str, ...]:
        if (not isinstance(value, list) or not value
                or not all(isinstance(v, str) and _NAME.match(v) for v in value)
                or len(set(value)) != len(value)):
            raise TypeDefError(name, key, "expected a list of distinct Rust identifiers")
        return tuple(value)
