"""Parse Rust Debug output (`{:?}`, `{:x?}`, `{:#?}`, `{:#x?}`) into a typed tree, then into
model exits of one schema generation with strict checking.

Two layers, because error messages need the tree but the log scanner's hot path does not:
`parse_debug` (tree, whitespace-tolerant) + `tree_to_exit` (schema check) is the reference
path; `parse_exit` adds a final exact-layout check by re-rendering, so anything it accepts is
byte-for-byte what Rust prints.  harness.parse.fast accepts the same language faster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from harness.errors import HarnessError
from harness.model.exits import (
    VARIANT_BY_NAME,
    ExitReason,
    FieldKind,
    FieldSpec,
    Generation,
    construct,
)
from harness.model.values import (
    AccessWidth,
    GuestPhysAddr,
    MappingFlags,
    ModelError,
    Port,
    SysRegAddr,
)
from harness.parse.render import DebugForm, render_exit


class DebugSyntaxError(HarnessError):
    """Text that is not (the expected) Rust Debug output; `offset` indexes the record text."""

    kind = "parse error"

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


# ---------------------------------------------------------------------------- value tree


@dataclass(frozen=True, slots=True)
class DInt:
    """An integer literal as written: `42`, `0x2a`, or (in `{:x?}`) bare `2a`."""

    offset: int
    raw: str


@dataclass(frozen=True, slots=True)
class DWord:
    """A bare identifier: unit variant, `None`, `true`, an AccessWidth, a flag name, or a
    bare-hex integer that happens to start with a letter (`ff` under `{:x?}`)."""

    offset: int
    name: str


@dataclass(frozen=True, slots=True)
class DGpa:
    """`GPA:0x…` (memory_addr's formatter)."""

    offset: int
    raw: str


@dataclass(frozen=True, slots=True)
class DFlags:
    """`A | B | 0x40`: a bitflags value with at least two parts."""

    offset: int
    parts: tuple[DWord | DInt, ...]


@dataclass(frozen=True, slots=True)
class DTuple:
    """`Name(a, b)`: tuple struct / tuple variant (`Port(1016)`, `Some(0x20)`)."""

    offset: int
    name: str
    items: tuple[DValue, ...]


@dataclass(frozen=True, slots=True)
class DArray:
    """`[a, b]`."""

    offset: int
    items: tuple[DValue, ...]


@dataclass(frozen=True, slots=True)
class DField:
    """`name: value` inside a struct."""

    offset: int
    name: str
    value: DValue


@dataclass(frozen=True, slots=True)
class DStruct:
    """`Name { a: …, b: … }`."""

    offset: int
    name: str
    fields: tuple[DField, ...]


DValue: TypeAlias = DInt | DWord | DGpa | DFlags | DTuple | DArray | DStruct

_WS = re.compile(r"[ \t\n]*")  # always matches
_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<num>0x[0-9A-Za-z_]*|[0-9][0-9A-Za-z_]*)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[{}()\[\],:|])""",
    re.VERBOSE,
)


def _describe(text: str, pos: int) -> str:
    if pos >= len(text):
        return "end of record"
    word = re.match(r"[A-Za-z0-9_]+|\S", text[pos:])
    return repr(word.group()) if word else f"character {text[pos]!r}"


class _Parser:
    """Recursive descent over one record's text; tolerant of whitespace, strict about
    punctuation and nesting."""

    MAX_DEPTH = 16

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def fail(self, expected: str, pos: int | None = None) -> DebugSyntaxError:
        at = self.pos if pos is None else pos
        return DebugSyntaxError(at, f"expected {expected}, found {_describe(self.text, at)}")

    def skip_ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, ch: str, what: str | None = None) -> None:
        if self.peek() != ch:
            raise self.fail(what or repr(ch))
        self.pos += 1

    def token(self, kind: str, expected: str) -> tuple[int, str]:
        self.skip_ws()
        m = _TOKEN.match(self.text, self.pos)
        if not m or m.lastgroup != kind:
            raise self.fail(expected)
        self.pos = m.end()
        return m.start(), m.group()

    def value(self) -> DValue:
        self.depth += 1
        if self.depth > self.MAX_DEPTH:
            raise self.fail(f"at most {self.MAX_DEPTH} levels of nesting")
        try:
            first = self.atom()
            if self.peek() == "|":
                if not isinstance(first, DWord | DInt):
                    raise self.fail("a flag name or hex bits before '|'", first.offset)
                parts: list[DWord | DInt] = [first]
                while self.peek() == "|":
                    self.pos += 1
                    nxt = self.atom()
                    if not isinstance(nxt, DWord | DInt):
                        raise self.fail("a flag name or hex bits after '|'", nxt.offset)
                    parts.append(nxt)
                return DFlags(first.offset, tuple(parts))
            return first
        finally:
            self.depth -= 1

    def atom(self) -> DValue:
        self.skip_ws()
        start = self.pos
        m = _TOKEN.match(self.text, start)
        if not m or m.lastgroup == "ws":
            raise self.fail("a value")
        if m.lastgroup == "num":
            self.pos = m.end()
            return DInt(start, m.group())
        if m.lastgroup == "punct":
            if m.group() == "[":
                self.pos += 1
                return DArray(start, self.items("]"))
            raise self.fail("a value")
        name = m.group()
        self.pos = m.end()
        # `GPA:0x…` must be glued together: no spaces around the colon.
        if name == "GPA" and self.text.startswith(":", self.pos):
            num = _TOKEN.match(self.text, self.pos + 1)
            if not num or num.lastgroup != "num":
                raise self.fail("a hex address after 'GPA:'", self.pos + 1)
            self.pos = num.end()
            return DGpa(start, num.group())
        nxt = self.peek()
        if nxt == "(":
            self.pos += 1
            return DTuple(start, name, self.items(")"))
        if nxt == "{":
            self.pos += 1
            return DStruct(start, name, self.struct_fields())
        return DWord(start, name)

    def items(self, close: str) -> tuple[DValue, ...]:
        out: list[DValue] = []
        while True:
            if self.peek() == close:
                self.pos += 1
                return tuple(out)
            out.append(self.value())
            c = self.peek()
            if c == ",":
                self.pos += 1
            elif c != close:
                raise self.fail(f"',' or {close!r}")

    def struct_fields(self) -> tuple[DField, ...]:
        out: list[DField] = []
        while True:
            if self.peek() == "}":
                self.pos += 1
                return tuple(out)
            start, name = self.token("ident", "a field name or '}'")
            self.expect(":", "':' after field name")
            out.append(DField(start, name, self.value()))
            c = self.peek()
            if c == ",":
                self.pos += 1
            elif c != "}":
                raise self.fail("',' or '}'")


def parse_debug(text: str) -> DValue:
    """Parse one Debug-formatted value; DebugSyntaxError on anything malformed or trailing."""
    p = _Parser(text)
    value = p.value()
    p.skip_ws()
    if p.pos != len(text):
        raise p.fail("end of record")
    return value


# ---------------------------------------------------------------------- tree → model

_HEX_RE = re.compile(r"[0-9a-f]+")
_DEC_RE = re.compile(r"[0-9]+")
# Every integer field is at most 64 bits wide: 16 hex or 20 decimal digits (leading zeros
# aside).  Longer spellings are refused before int() sees them (a 4,301-digit decimal would
# trip CPython's conversion limit, and the conversion is quadratic below it).
_MAX_DIGITS = {16: 16, 10: 20}


def _to_int(raw: str, base: int, offset: int, what: str) -> int:
    """`raw` (digits only, no prefix) as an integer of at most 64 bits."""
    if len(raw) - len(raw.lstrip("0")) + _MAX_DIGITS[base] < len(raw):
        shown = raw if len(raw) <= 24 else raw[:20] + f"… ({len(raw)} digits)"
        raise DebugSyntaxError(offset, f"{what}: {shown} out of range for a 64-bit integer")
    return int(raw, base)


def _plain_ints(node: DValue, kind: FieldKind | None) -> list[DInt | DWord]:
    """Integer tokens whose spelling follows the hex flag (not GPA, Port, flags)."""
    if kind in (FieldKind.U64, FieldKind.USIZE, FieldKind.PORT_U16, FieldKind.SYSREG_USIZE):
        return [node] if isinstance(node, DInt | DWord) else []
    if kind is FieldKind.ARGS6 and isinstance(node, DArray):
        return [n for n in node.items if isinstance(n, DInt | DWord)]
    if kind is FieldKind.OPT_U8 and isinstance(node, DTuple):
        return [n for n in node.items if isinstance(n, DInt | DWord)]
    return []


class _Converter:
    def __init__(self, form: DebugForm) -> None:
        self.form = form

    def int_(self, node: DValue, what: str) -> int:
        if isinstance(node, DInt | DWord):
            raw = node.raw if isinstance(node, DInt) else node.name
            if self.form is DebugForm.PRETTY_HEX:
                if raw.startswith("0x") and _HEX_RE.fullmatch(raw, 2):
                    return _to_int(raw[2:], 16, node.offset, what)
                raise DebugSyntaxError(node.offset, f"{what}: expected 0x-prefixed hex integer")
            if self.form is DebugForm.DEBUG_HEX:
                if _HEX_RE.fullmatch(raw):
                    return _to_int(raw, 16, node.offset, what)
                raise DebugSyntaxError(node.offset, f"{what}: expected bare lowercase hex integer")
            if _DEC_RE.fullmatch(raw):
                return _to_int(raw, 10, node.offset, what)
            if _HEX_RE.fullmatch(raw) or raw.startswith("0x"):
                raise DebugSyntaxError(
                    node.offset,
                    f"{what}: expected decimal integer, found {raw!r} "
                    "(a {:x?} record? pass the form explicitly)",
                )
        raise DebugSyntaxError(node.offset, f"{what}: expected integer")

    def field(self, spec: FieldSpec, node: DValue, what: str) -> object:
        k = spec.kind
        if k in (FieldKind.U64, FieldKind.USIZE):
            return self.int_(node, what)
        if k is FieldKind.BOOL:
            if isinstance(node, DWord) and node.name in ("true", "false"):
                return node.name == "true"
            raise DebugSyntaxError(node.offset, f"{what}: expected true or false")
        if k is FieldKind.GPA:
            if (
                isinstance(node, DGpa)
                and node.raw.startswith("0x")
                and _HEX_RE.fullmatch(node.raw, 2)
            ):
                return GuestPhysAddr(_to_int(node.raw[2:], 16, node.offset, what))
            raise DebugSyntaxError(node.offset, f"{what}: expected GuestPhysAddr 'GPA:0x…'")
        if k is FieldKind.WIDTH:
            if isinstance(node, DWord) and node.name in AccessWidth.__members__:
                return AccessWidth[node.name]
            raise DebugSyntaxError(node.offset, f"{what}: expected Byte, Word, Dword or Qword")
        if k in (FieldKind.PORT, FieldKind.SYSREG):
            tname = "Port" if k is FieldKind.PORT else "SysRegAddr"
            if (
                isinstance(node, DTuple)
                and node.name == tname
                and len(node.items) == 1
                and isinstance(node.items[0], DInt)
                and _DEC_RE.fullmatch(node.items[0].raw)
            ):
                v = _to_int(node.items[0].raw, 10, node.items[0].offset, what)
                return Port(v) if k is FieldKind.PORT else SysRegAddr(v)
            raise DebugSyntaxError(node.offset, f"{what}: expected {tname}(<decimal>)")
        if k is FieldKind.PORT_U16:
            return Port(self.int_(node, what))
        if k is FieldKind.SYSREG_USIZE:
            return SysRegAddr(self.int_(node, what))
        if k is FieldKind.FLAGS:
            return self.flags(node, what)
        if k is FieldKind.ARGS6:
            if not isinstance(node, DArray):
                raise DebugSyntaxError(node.offset, f"{what}: expected an array [u64; 6]")
            if len(node.items) != 6:
                raise DebugSyntaxError(
                    node.offset, f"{what}: expected 6 elements, found {len(node.items)}"
                )
            return tuple(self.int_(n, f"{what}[{i}]") for i, n in enumerate(node.items))
        if k is FieldKind.OPT_U8:
            if isinstance(node, DWord) and node.name == "None":
                return None
            if isinstance(node, DTuple) and node.name == "Some" and len(node.items) == 1:
                return self.int_(node.items[0], what)
            raise DebugSyntaxError(node.offset, f"{what}: expected None or Some(<u8>)")
        raise AssertionError(k)  # pragma: no cover

    def flags(self, node: DValue, what: str) -> MappingFlags:
        parts: tuple[DValue, ...]
        parts = node.parts if isinstance(node, DFlags) else (node,)
        table = dict(MappingFlags.NAMED)
        bits = 0
        for part in parts:
            if isinstance(part, DWord) and part.name in table:
                bits |= table[part.name]
            elif (
                isinstance(part, DInt)
                and part.raw.startswith("0x")
                and _HEX_RE.fullmatch(part.raw, 2)
            ):
                bits |= _to_int(part.raw[2:], 16, part.offset, what)
            else:
                raise DebugSyntaxError(
                    part.offset,
                    f"{what}: expected MappingFlags (READ, WRITE, EXECUTE, USER, DEVICE, "
                    "UNCACHED joined by ' | ', or 0x… bits)",
                )
        return MappingFlags(bits)


def detect_form(text: str, tree: DValue, generation: Generation) -> DebugForm:
    """Pretty if multi-line; hex if any hex-flag-following integer has a 0x prefix (pretty)
    or non-decimal digits (compact)."""
    pretty = "\n" in text
    ints: list[DInt | DWord] = []
    if isinstance(tree, DStruct) and generation.has_variant(tree.name):
        specs = {s.name: s.kind for s in generation.fields(tree.name)}
        for f in tree.fields:
            ints.extend(_plain_ints(f.value, specs.get(f.name)))
    if pretty:
        # a `0x` with no digits is no evidence of the form: it is an error of its own
        hexed = any(isinstance(n, DInt) and n.raw.startswith("0x") and n.raw[2:] for n in ints)
        return DebugForm.PRETTY_HEX if hexed else DebugForm.PRETTY
    return DebugForm.DEBUG


def tree_to_exit(tree: DValue, generation: Generation, form: DebugForm) -> ExitReason:
    """Check a tree against `generation`'s schema and build the exit; errors name what was
    expected and carry the offending offset."""
    if isinstance(tree, DWord | DStruct):
        name = tree.name
    elif isinstance(tree, DTuple):
        raise DebugSyntaxError(
            tree.offset, f"{tree.name}(…): AxVCpuExitReason has no tuple variant"
        )
    else:
        raise DebugSyntaxError(tree.offset, "expected an AxVCpuExitReason variant")
    known = generation.variant_names()
    if name not in VARIANT_BY_NAME:
        raise DebugSyntaxError(
            tree.offset, f"unknown variant {name!r}: expected one of {', '.join(known)}"
        )
    if not generation.has_variant(name):
        raise DebugSyntaxError(
            tree.offset, f"variant {name} does not exist in axvcpu schema {generation.value}"
        )
    specs = generation.fields(name)
    if isinstance(tree, DWord):
        if specs:
            names = ", ".join(s.name for s in specs)
            raise DebugSyntaxError(tree.offset, f"{name}: expected fields {{ {names} }}")
        return construct(name, {})
    if not specs:
        raise DebugSyntaxError(tree.offset, f"{name} is a unit variant: expected no fields")
    conv = _Converter(form)
    kwargs: dict[str, object] = {}
    for i, spec in enumerate(specs):
        if i >= len(tree.fields):
            raise DebugSyntaxError(tree.offset, f"{name}: missing field {spec.name!r}")
        f = tree.fields[i]
        if f.name != spec.name:
            raise DebugSyntaxError(
                f.offset, f"{name}: expected field {spec.name!r}, found {f.name!r}"
            )
        what = f"{name}.{spec.name}"
        try:
            kwargs[spec.attr] = conv.field(spec, f.value, what)
        except ModelError as exc:
            raise DebugSyntaxError(f.value.offset, str(exc)) from None
    if len(tree.fields) > len(specs):
        extra = tree.fields[len(specs)]
        raise DebugSyntaxError(
            extra.offset, f"{name}: unexpected field {extra.name!r} (schema {generation.value})"
        )
    try:
        exit_ = construct(name, kwargs)
    except ModelError as exc:
        raise DebugSyntaxError(_offset_of(tree, str(exc)), str(exc)) from None
    return exit_


_WHAT = re.compile(r"\w+\.(\w+)(?:\[(\d+)\])?:")


def _offset_of(tree: DStruct | DWord, message: str) -> int:
    """The offset of the value a model error names (`MmioRead.reg: …`, `Hypercall.args[2]:
    …`), so a range error points at the number, not at the record's start."""
    m = _WHAT.match(message)
    fields = tree.fields if isinstance(tree, DStruct) else ()
    for f in fields:
        if m is not None and f.name == m.group(1):
            node: DValue = f.value
            if m.group(2) is not None and isinstance(node, DArray | DTuple):
                i = int(m.group(2))
                node = node.items[i] if i < len(node.items) else node
            elif isinstance(node, DTuple) and len(node.items) == 1:
                node = node.items[0]  # Some(256): the number
            return node.offset
    return tree.offset


def _first_difference(a: str, b: str) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def parse_exit(
    text: str, generation: Generation, form: DebugForm | None = None
) -> tuple[ExitReason, DebugForm]:
    """Parse one record's message text (ANSI codes already removed) into an exit.

    `form=None` detects the form (a single-line record is taken as `{:?}`).  The result must
    re-render to exactly `text`, so layout deviations (indentation, uppercase hex, leading
    zeros, missing trailing commas) are errors too.
    """
    tree = parse_debug(text)
    if form is None:
        form = detect_form(text, tree, generation)
    exit_ = tree_to_exit(tree, generation, form)
    expected = render_exit(exit_, generation, form)
    if expected != text:
        at = _first_difference(expected, text)
        want = expected[at : at + 16] or "end of record"
        raise DebugSyntaxError(at, f"not Rust {form.value} layout: expected {want!r}")
    return exit_, form
