"""Debug spellings as combinators: with harness.schema.derived (the containers), the only code
that knows how a field type prints.

Each codec renders a JSON-like value exactly as Rust's `{:?}`, `{:x?}`, `{:#?}` and `{:#x?}`
would, reads that text back (strictly: only the canonical layout), gives a regex for it, and
checks a value against the Rust type's domain.  Which combinator a type uses is data
(schemas/*.toml); the rules below are core::fmt's, as read in the Rust 1.96 library sources:

* derived Debug: integers decimal, `{:x?}` bare lowercase hex, `{:#x?}` `0x`-prefixed; structs
  `Name { a: 1 }`, tuples `Name(1)`, arrays `[1, 2]`, `None`/`Some(1)`; the pretty forms put
  each item on its own line, indented 4 more than its container (PadAdapter), with a trailing
  comma; unit variants and fieldless enums print their name;
* a hand-written `write!(f, "GPA({:#x})", self.0)` ignores the caller's flags (`Text`);
* bitflags 2's internal flags print `A | B`, leftover bits `0x40`, empty `0x0`, whatever the
  flags; with `#[derive(Debug)]` on the public struct that sits inside a derived tuple struct.

Values: int, bool, str (enum member), None, tuple (arrays) and Mapping (structs, variants);
a one-field tuple struct is transparent (its value is the inner value).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import TypeAlias

from harness.errors import HarnessError

Value: TypeAlias = "int | bool | str | tuple[Value, ...] | Mapping[str, Value] | None"

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = {
    "dec": r"0|[1-9][0-9]*",
    "hex": r"0|[1-9a-f][0-9a-f]*",
    "0xhex": r"0x(?:0|[1-9a-f][0-9a-f]*)",
}
_HEX0X = re.compile(_DIGITS["0xhex"])


class Form(enum.Enum):
    """The four Debug format specs."""

    DEBUG = "{:?}"
    DEBUG_HEX = "{:x?}"
    PRETTY = "{:#?}"
    PRETTY_HEX = "{:#x?}"

    @property
    def pretty(self) -> bool:
        return self in (Form.PRETTY, Form.PRETTY_HEX)

    @property
    def hex(self) -> bool:
        return self in (Form.DEBUG_HEX, Form.PRETTY_HEX)


class CodecError(HarnessError):
    """Text that is not the expected Debug output; `offset` indexes the parsed text."""

    kind = "parse error"

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


class DomainError(HarnessError):
    """A value the Rust type cannot hold (range, member name, shape)."""

    kind = "model error"


def found_at(text: str, pos: int) -> str:
    """What is at `pos`, for error messages."""
    if pos >= len(text):
        return "end of text"
    m = re.compile(r"[A-Za-z0-9_]+|\S|\s").match(text, pos)
    return repr(m.group()) if m else "?"


def expect(text: str, pos: int, literal: str) -> int:
    """Position after `literal` at `pos`, or a CodecError naming what was found."""
    if text.startswith(literal, pos):
        return pos + len(literal)
    raise CodecError(pos, f"expected {literal!r}, found {found_at(text, pos)}")


def indent_lines(text: str) -> str:
    """A nested value's text as PadAdapter writes it one level deeper."""
    return text.replace("\n", "\n    ")


class Codec:
    """Base class; `what` names the value in error messages."""

    def describe(self) -> str:
        raise NotImplementedError

    def check(self, value: object, what: str) -> Value:
        """The value normalised (JSON lists become tuples) if the Rust type can hold it."""
        raise NotImplementedError

    def render(self, value: Value, form: Form) -> str:
        """The Debug text of `value` starting at column 0 of a line."""
        raise NotImplementedError

    def read(self, text: str, pos: int, form: Form, indent: str) -> tuple[Value, int]:
        """Read the canonical text at `pos`; `indent` is the indentation of its first line."""
        raise NotImplementedError

    def pattern(self, form: Form, indent: str) -> str:
        """A regex (no capturing groups) matching exactly what `render` can produce."""
        raise NotImplementedError


class Int(Codec):
    """An unsigned integer of `bits`; `spelling` is `follow` (derived: the form decides), or
    fixed by a hand-written impl: `dec` (`{}`), `hex` (`{:x}`), `0xhex` (`{:#x}`)."""

    def __init__(self, bits: int, spelling: str = "follow", rust: str = "") -> None:
        self.bits = bits
        self.spelling = spelling
        self.rust = rust or f"u{bits}"
        self._res = {s: re.compile(p) for s, p in _DIGITS.items()}

    def describe(self) -> str:
        return self.rust

    def _spelling(self, form: Form) -> str:
        if self.spelling != "follow":
            return self.spelling
        if form is Form.PRETTY_HEX:
            return "0xhex"
        return "hex" if form is Form.DEBUG_HEX else "dec"

    def check(self, value: object, what: str) -> Value:
        if type(value) is not int:
            raise DomainError(f"{what}: expected {self.rust} integer, got {value!r}")
        if not 0 <= value < 1 << self.bits:
            raise DomainError(f"{what}: {value} out of range for {self.rust}")
        return value

    def render(self, value: Value, form: Form) -> str:
        assert isinstance(value, int)
        sp = self._spelling(form)
        return f"{value:#x}" if sp == "0xhex" else f"{value:x}" if sp == "hex" else str(value)

    def read(self, text: str, pos: int, form: Form, indent: str) -> tuple[Value, int]:
        sp = self._spelling(form)
        m = self._res[sp].match(text, pos)
        if m is None or (m.end() < len(text) and text[m.end()].isalnum()):
            want = {"dec": "decimal", "hex": "bare lowercase hex", "0xhex": "0x-prefixed hex"}
            raise CodecError(pos, f"expected {want[sp]} {self.rust}, found {found_at(text, pos)}")
        raw = m.group()
        if sp == "dec" and len(raw) > 20:  # > u64::MAX, and int() refuses > 4300 digits
            raise CodecError(pos, f"{raw[:24]}… out of range for {self.rust}")
        value = int(raw, 10) if sp == "dec" else int(raw.removeprefix("0x"), 16)
        if value >= 1 << self.bits:
            raise CodecError(pos, f"{raw} out of range for {self.rust}")
        return value, m.end()

    def pattern(self, form: Form, indent: str) -> str:
        return f"(?:{_DIGITS[self._spelling(form)]})"


class Bool(Codec):
    def describe(self) -> str:
        return "bool"

    def check(self, value: object, what: str) -> Value:
        if not isinstance(value, bool):
            raise DomainError(f"{what}: expected bool, got {value!r}")
        return value

    def render(self, value: Value, form: Form) -> str:
        return "true" if value else "false"

    def read(self, text: str, pos: int, form: Form, indent: str) -> tuple[Value, int]:
        for word, value in (("true", True), ("false", False)):
            end = pos + len(word)
            if text.startswith(word, pos) and not IDENT.match(text, end):
                return value, end
        raise CodecError(pos, f"expected true or false, found {found_at(text, pos)}")

    def pattern(self, form: Form, indent: str) -> str:
        return "(?:true|false)"


class Text(Codec):
    """A hand-written Debug impl `write!(f, "<prefix>{…}<suffix>", self.0)`: flags ignored."""

    def __init__(self, prefix: str, number: Int, suffix: str) -> None:
        self.prefix, self.number, self.suffix = prefix, number, suffix

    def describe(self) -> str:
        body = {"dec": "<decimal>", "hex": "<hex>", "0xhex": "0x<hex>"}[self.number.spelling]
        return f"{self.prefix}{body}{self.suffix}"

    def check(self, value: object, what: str) -> Value:
        return self.number.check(value, what)

    def render(self, value: Value, form: Form) -> str:
        return self.prefix + self.number.render(value, form) + self.suffix

    def read(self, text: str, pos: int, form: Form, indent: str) -> tuple[Value, int]:
        if not text.startswith(self.prefix, pos):
            raise CodecError(pos, f"expected {self.describe()}, found {found_at(text, pos)}")
        value, pos = self.number.read(text, pos + len(self.prefix), form, indent)
        return value, expect(text, pos, self.suffix)

    def pattern(self, form: Form, indent: str) -> str:
        num = self.number.pattern(form, indent)
        return re.escape(self.prefix) + num + re.escape(self.suffix)


class UnitEnum(Codec):
    """A fieldless enum with derived Debug; the value is the member name."""

    def __init__(self, rust: str, names: tuple[str, ...]) -> None:
        self.rust, self.names = rust, names
        self._by_len = sorted(names, key=len, reverse=True)

    def describe(self) -> str:
        return " | ".join(self.names)

    def check(self, value: object, what: str) -> Value:
        if value not in self.names:
            raise DomainError(f"{what}: expected one of {', '.join(self.names)}, got {value!r}")
        return value

    def render(self, value: Value, form: Form) -> str:
        assert isinstance(value, str)
        return value

    def read(self, text: str, pos: int, form: Form, indent: str) -> tuple[Value, int]:
        m = IDENT.match(text, pos)
        if m is None or m.group() not in self.names:
            want = ", ".join(self.names)
            raise CodecError(pos, f"expected {self.rust} ({want}), found {found_at(text, pos)}")
        return m.group(), m.end()

    def pattern(self, form: Form, indent: str) -> str:
        return "(?:" + "|".join(map(re.escape, self._by_len)) + ")"


class Flags(Codec):
    """bitflags 2's internal Debug: flag `i` of `names` is bit `i`; the value is the bits."""

    def __init__(self, rust: str, names: tuple[str, ...], bits: int) -> None:
        self.rust, self.names, self.bits = rust, names, bits
        self.known = (1 << len(names)) - 1
        self._name = re.compile("|".join(sorted(names, key=len, reverse=True)))

    def describe(self) -> str:
        return f"{self.rust} ({' | '.join(self.names)}, extra bits 0x…, empty 0x0)"

    def check(self, value: object, what: str) -> Value:
        if type(value) is not int or not 0 <= value < 1 << self.bits:
            raise DomainError(f"{what}: expected {self.rust} bits (u{self.bits}), got {value!r}")
        return value

    def render(self, value: Value, form: Form) -> str:
        assert isinstance(value, int)
        if value == 0:
            return "0x0"
        parts = [n for i, n in enumerate(self.names) if value >> i & 1]
        if value & ~self.known:
            parts.append(f"0x{value & ~self.known:x}")
        return " | ".join(parts)

    def read(self, text: str, pos: int, form: Form, indent: str) -> tuple[Value, int]:
        start, bits = pos, 0
        while True:
            m = self._name.match(text, pos)
            if m and not IDENT.match(text, m.end()):
                bits |= 1 << self.names.index(m.group())
            else:
                m = _HEX0X.match(text, pos)
                if m is None:
                    found = found_at(text, pos)
                    raise CodecError(pos, f"expected {self.describe()}, found {found}")
                bits |= int(m.group()[2:], 16)
            pos = m.end()
            if not text.startswith(" | ", pos):
                break
            pos += 3
        if bits >= 1 << self.bits or self.render(bits, form) != text[start:pos]:
            raise CodecError(start, f"not bitflags' spelling of {self.rust}: {text[start:pos]!r}")
        return bits, pos

    def pattern(self, form: Form, indent: str) -> str:
        name = "(?:" + "|".join(map(re.escape, self.names)) + ")"
        hexa = "0x[1-9a-f][0-9a-f]*"
        return f"(?:0x0|{name}(?: \\| {name})*(?: \\| {hexa})?|{hexa})"


def render(codec: Codec, value: Value, form: Form) -> str:
    """Check `value` against the codec's domain, then render it."""
    return codec.render(codec.check(value, codec.describe()), form)


def parse(codec: Codec, text: str, form: Form) -> Value:
    """Read the whole of `text`; trailing characters are an error."""
    value, pos = codec.read(text, 0, form, "")
    if pos != len(text):
        raise CodecError(pos, f"expected end of text, found {found_at(text, pos)}")
    return value


def to_json(value: Value) -> object:
    """Tuples become lists, mappings plain dicts (json.dumps-ready)."""
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    return value
