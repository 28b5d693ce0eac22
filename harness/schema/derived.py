"""The containers of derived Debug: one-field tuple structs, `Option`, arrays, structs, tuple
structs and enum variants.  core::fmt's layout (library/core/src/fmt/builders.rs): compact
`Name { a: 1, b: 2 }`, `Name(1)`, `[1, 2]`; pretty forms put each item on its own line, indented
4 more than the container through PadAdapter (every line of a nested value too), each followed
by a comma, and the closing bracket on its own line at the container's indentation."""

from __future__ import annotations

import re
from collections.abc import Mapping

from harness.schema.codecs import (
    IDENT,
    Codec,
    CodecError,
    DomainError,
    Form,
    Value,
    expect,
    found_at,
    indent_lines,
)


class Newtype(Codec):
    """A derived tuple struct with one field, `Name(inner)`; transparent value.  `Option`'s
    `Some` is one too (see Optional)."""

    def __init__(self, rust: str, inner: Codec) -> None:
        self.rust, self.inner = rust, inner

    def describe(self) -> str:
        return f"{self.rust}({self.inner.describe()})"

    def check(self, value: object, what: str) -> Value:
        return self.inner.check(value, what)

    def render(self, value: Value, form: Form) -> str:
        inner = self.inner.render(value, form)
        if form.pretty:
            return f"{self.rust}(\n    {indent_lines(inner)},\n)"
        return f"{self.rust}({inner})"

    def read(self, text: str, pos: int, form: Form, indent: str) -> tuple[Value, int]:
        if not text.startswith(self.rust + "(", pos):
            raise CodecError(pos, f"expected {self.describe()}, found {found_at(text, pos)}")
        pos += len(self.rust) + 1
        if form.pretty:
            pos = expect(text, pos, "\n" + indent + "    ")
            value, pos = self.inner.read(text, pos, form, indent + "    ")
            return value, expect(text, pos, ",\n" + indent + ")")
        value, pos = self.inner.read(text, pos, form, indent)
        return value, expect(text, pos, ")")

    def pattern(self, form: Form, indent: str) -> str:
        inner = self.inner.pattern(form, indent + "    ")
        if form.pretty:
            return f"{re.escape(self.rust)}\\(\\n{indent}    {inner},\\n{indent}\\)"
        return f"{re.escape(self.rust)}\\({inner}\\)"


class Optional(Codec):
    """`Option<T>`: `None` or `Some(…)` (a derived tuple variant); the value is None or T's."""

    def __init__(self, inner: Codec) -> None:
        self.inner = inner
        self._some = Newtype("Some", inner)

    def describe(self) -> str:
        return f"None | Some({self.inner.describe()})"

    def check(self, value: object, what: str) -> Value:
        return None if value is None else self.inner.check(value, what)

    def render(self, value: Value, form: Form) -> str:
        return "None" if value is None else self._some.render(value, form)

    def read(self, text: str, pos: int, form: Form, indent: str) -> tuple[Value, int]:
        if text.startswith("None", pos) and not IDENT.match(text, pos + 4):
            return None, pos + 4
        if not text.startswith("Some(", pos):
            raise CodecError(pos, f"expected {self.describe()}, found {found_at(text, pos)}")
        return self._some.read(text, pos, form, indent)

    def pattern(self, form: Form, indent: str) -> str:
        return f"(?:None|{self._some.pattern(form, indent)})"


class Array(Codec):
    """`[T; N]`: the value is a tuple of N."""

    def __init__(self, inner: Codec, length: int) -> None:
        self.inner, self.length = inner, length

    def describe(self) -> str:
        return f"[{self.inner.describe()}; {self.length}]"

    def check(self, value: object, what: str) -> Value:
        if not isinstance(value, tuple | list) or len(value) != self.length:
            raise DomainError(f"{what}: expected {self.length} elements, got {value!r}")
        return tuple(self.inner.check(v, f"{what}[{i}]") for i, v in enumerate(value))

    def render(self, value: Value, form: Form) -> str:
        assert isinstance(value, tuple)
        items = [self.inner.render(v, form) for v in value]
        if not items:
            return "[]"
        if form.pretty:
            return "[\n" + "".join(f"    {indent_lines(it)},\n" for it in items) + "]"
        return "[" + ", ".join(items) + "]"

    def read(self, text: str, pos: int, form: Form, indent: str) -> tuple[Value, int]:
        pos = expect(text, pos, "[")
        out: list[Value] = []
        for i in range(self.length):
            if form.pretty:
                pos = expect(text, pos, "\n" + indent + "    ")
                value, pos = self.inner.read(text, pos, form, indent + "    ")
                pos = expect(text, pos, ",")
            else:
                pos = expect(text, pos, ", ") if i else pos
                value, pos = self.inner.read(text, pos, form, indent)
            out.append(value)
        if form.pretty and self.length:
            pos = expect(text, pos, "\n" + indent)
        return tuple(out), expect(text, pos, "]")

    def pattern(self, form: Form, indent: str) -> str:
        item = self.inner.pattern(form, indent + "    ")
        if not self.length:
            return r"\[\]"
        if form.pretty:
            return r"\[\n" + f"{indent}    {item},\\n" * self.length + indent + r"\]"
        return r"\[" + ", ".join([item] * self.length) + r"\]"


class Record(Codec):
    """A derived struct (`shape` "struct"), tuple struct or tuple variant ("tuple", fields
    named "0", "1", …) or unit variant ("unit"); the value maps field names to values."""

    def __init__(self, rust: str, shape: str, fields: tuple[tuple[str, Codec], ...]) -> None:
        assert shape in ("struct", "tuple", "unit") and (shape == "unit") == (not fields)
        self.rust, self.shape, self.fields = rust, shape, fields

    def describe(self) -> str:
        if self.shape == "unit":
            return self.rust
        if self.shape == "tuple":
            return f"{self.rust}({', '.join(c.describe() for _, c in self.fields)})"
        return f"{self.rust} {{ {', '.join(n for n, _ in self.fields)} }}"

    def check(self, value: object, what: str) -> Value:
        names = [n for n, _ in self.fields]
        if not isinstance(value, Mapping) or sorted(value) != sorted(names):
            raise DomainError(f"{what}: expected fields {names}, got {value!r}")
        return {n: c.check(value[n], f"{what}.{n}") for n, c in self.fields}

    def render(self, value: Value, form: Form) -> str:
        assert isinstance(value, Mapping)
        if self.shape == "unit":
            return self.rust
        items = [(n, c.render(value[n], form)) for n, c in self.fields]
        tup = self.shape == "tuple"
        if form.pretty:
            body = "".join(f"    {indent_lines(t if tup else f'{n}: {t}')},\n" for n, t in items)
            return f"{self.rust}(\n{body})" if tup else f"{self.rust} {{\n{body}}}"
        if tup:
            return f"{self.rust}({', '.join(t for _, t in items)})"
        return f"{self.rust} {{ {', '.join(f'{n}: {t}' for n, t in items)} }}"

    def read(self, text: str, pos: int, form: Form, indent: str) -> tuple[Value, int]:
        m = IDENT.match(text, pos)
        if m is None or m.group() != self.rust:
            raise CodecError(pos, f"expected {self.rust}, found {found_at(text, pos)}")
        pos = m.end()
        if self.shape == "unit":
            return {}, pos
        tup = self.shape == "tuple"
        pos = expect(text, pos, "(" if tup else " {")
        out: dict[str, Value] = {}
        inner = indent + "    "
        for i, (name, codec) in enumerate(self.fields):
            label = "" if tup else f"{name}: "
            if form.pretty:
                pos = expect(text, pos, "\n" + inner + label)
                out[name], pos = codec.read(text, pos, form, inner)
                pos = expect(text, pos, ",")
            else:
                pos = expect(text, pos, (", " if i else "" if tup else " ") + label)
                out[name], pos = codec.read(text, pos, form, indent)
        close = ")" if tup else "}"
        pos = expect(text, pos, "\n" + indent + close if form.pretty else close if tup else " }")
        return out, pos

    def pattern(self, form: Form, indent: str) -> str:
        name = re.escape(self.rust)
        if self.shape == "unit":
            return name
        tup = self.shape == "tuple"
        inner = indent + "    "
        parts = [("" if tup else f"{n}: ") + c.pattern(form, inner) for n, c in self.fields]
        if form.pretty:
            body = "".join(f"\\n{inner}{p}," for p in parts) + f"\\n{indent}"
            return f"{name}\\({body}\\)" if tup else f"{name} \\{{{body}\\}}"
        if tup:
            return f"{name}\\({', '.join(parts)}\\)"
        return f"{name} \\{{ {', '.join(parts)} \\}}"
