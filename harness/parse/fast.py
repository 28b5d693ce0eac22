"""Hot path of the log scanner: one precompiled regex per (schema, architecture, form, variant)
that matches exactly the text Rust prints, with a capture group per leaf value, and one
generated function that turns the groups into the model exit.

Both are derived from the schema's codecs (harness.schema): the layout rules are those of each
codec's `pattern`, with groups added.  It accepts a subset of what the reference path
(Schema.parse) accepts — the canonical layout and values in range — and returns None for
anything else, so the caller falls back to the reference path, which either accepts or words
the error.  Tests check both agree (tests/unit/test_parse_exact.py, bench/fuzz_parser.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

from harness.model.convert import ATTRS
from harness.model.exits import VARIANT_BY_NAME, ExitReason
from harness.model.values import AccessWidth, ModelError
from harness.schema import Form, Schema
from harness.schema.codecs import Bool, Codec, Flags, Int, Text, UnitEnum
from harness.schema.derived import Array, Newtype, Optional, Record
from harness.schema.schema import FLATTEN, Variant

_DIGITS = {
    "dec": "(0|[1-9][0-9]*)",
    "hex": "(0|[1-9a-f][0-9a-f]*)",
    "0xhex": "0x(0|[1-9a-f][0-9a-f]*)",
}
Builder = Callable[[str, int, int], ExitReason | None]


class _Gen:
    """Allocates capture groups (in the order they open in the pattern) and names the helper
    objects the generated code calls."""

    def __init__(self) -> None:
        self.groups = 0
        self.env: dict[str, object] = {}
        self.sub: dict[int, list[tuple[str, str]]] = {}  # id(Record) -> its fields' exprs

    def group(self) -> str:
        self.groups += 1
        return f"g[{self.groups - 1}]"

    def helper(self, obj: object) -> str:
        name = f"h{len(self.env)}"
        self.env[name] = obj
        return name


def _in_range(limit: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value > limit:
            raise ValueError(f"{value} out of range")
        return value

    return check


def _flags(codec: Flags) -> Callable[[str], int]:
    """The bits of a flags text, if it is bitflags' own spelling of them."""
    table = {n: 1 << i for i, n in enumerate(codec.names)}

    def parse(text: str) -> int:
        bits = 0
        for part in text.split(" | "):
            bits |= table[part] if part in table else int(part, 16)
        if bits >> codec.bits or codec.render(bits, Form.DEBUG) != text:
            raise ValueError(f"not bitflags' spelling: {text!r}")
        return bits

    return parse


def _int(codec: Int, form: Form, gen: _Gen) -> tuple[str, str]:
    spelling = codec.spelling if codec.spelling != "follow" else (
        "0xhex" if form is Form.PRETTY_HEX else "hex" if form is Form.DEBUG_HEX else "dec")
    g = gen.group()
    expr = f"int({g})" if spelling == "dec" else f"int({g}, 16)"
    if codec.bits < 64:  # 64-bit values are range-checked by the model's classes
        expr = f"{gen.helper(_in_range((1 << codec.bits) - 1))}({expr})"
    return _DIGITS[spelling], expr


def _fields(codec: Record, form: Form, indent: str, gen: _Gen
            ) -> tuple[str, list[tuple[str, str]]]:
    """A derived struct, tuple struct or variant: its pattern and each field's expression."""
    name = re.escape(codec.rust)
    if codec.shape == "unit":
        return name, []
    tup = codec.shape == "tuple"
    inner = indent + "    "
    parts, exprs = [], []
    for fname, fcodec in codec.fields:
        pat, expr = _walk(fcodec, form, inner if form.pretty else indent, gen)
        parts.append(("" if tup else f"{re.escape(fname)}: ") + pat)
        exprs.append((fname, expr))
    if form.pretty:
        body = "".join(f"\\n{inner}{p}," for p in parts) + f"\\n{indent}"
        return (f"{name}\\({body}\\)" if tup else f"{name} \\{{{body}\\}}"), exprs
    if tup:
        return f"{name}\\({', '.join(parts)}\\)", exprs
    return f"{name} \\{{ {', '.join(parts)} \\}}", exprs


def _walk(codec: Codec, form: Form, indent: str, gen: _Gen) -> tuple[str, str]:
    """(regex with one group per leaf, Python expression of the canonical value)."""
    if isinstance(codec, Int):
        return _int(codec, form, gen)
    if isinstance(codec, Bool):
        return "(true|false)", f'{gen.group()} == "true"'
    if isinstance(codec, Text):
        pat, expr = _int(codec.number, form, gen)
        return re.escape(codec.prefix) + pat + re.escape(codec.suffix), expr
    if isinstance(codec, UnitEnum):
        names = sorted(codec.names, key=len, reverse=True)
        return "(" + "|".join(map(re.escape, names)) + ")", gen.group()
    if isinstance(codec, Flags):
        return f"({codec.pattern(form, indent)})", f"{gen.helper(_flags(codec))}({gen.group()})"
    if isinstance(codec, Newtype):
        pat, expr = _walk(codec.inner, form, indent + "    " if form.pretty else indent, gen)
        name = re.escape(codec.rust)
        if form.pretty:
            return f"{name}\\(\\n{indent}    {pat},\\n{indent}\\)", expr
        return f"{name}\\({pat}\\)", expr
    if isinstance(codec, Optional):
        none = gen.group()
        pat, expr = _walk(Newtype("Some", codec.inner), form, indent, gen)
        return f"(?:(None)|{pat})", f"(None if {none} is not None else {expr})"
    if isinstance(codec, Array):
        item = indent + "    "
        pats, exprs = [], []
        for _ in range(codec.length):
            p, e = _walk(codec.inner, form, item if form.pretty else indent, gen)
            pats.append(p)
            exprs.append(e)
        if not codec.length:
            return r"\[\]", "()"
        tup = "(" + "".join(f"{e}, " for e in exprs) + ")"
        if form.pretty:
            return r"\[" + "".join(f"\\n{item}{p}," for p in pats) + f"\\n{indent}\\]", tup
        return r"\[" + ", ".join(pats) + r"\]", tup
    if isinstance(codec, Record):
        pat, fields = _fields(codec, form, indent, gen)
        gen.sub[id(codec)] = fields
        return pat, "{" + ", ".join(f"{n!r}: {e}" for n, e in fields) + "}"
    raise AssertionError(f"no fast form for {type(codec).__name__}")  # pragma: no cover


def _convert(kind: str, attr: str, expr: str, gen: _Gen) -> str:
    """The expression of attribute `attr` as the model's class takes it."""
    conv = dict(ATTRS[kind])[attr]
    if conv.__name__ == "_same":
        return expr
    if conv.__name__ == "_args":
        return expr  # already a tuple
    if conv.__name__ == "_width":
        return f"{gen.helper(dict(AccessWidth.__members__))}[{expr}]"
    return f"{gen.helper(conv)}({expr})"


def _builder(variant: Variant, form: Form) -> tuple[re.Pattern[str], Builder]:
    gen = _Gen()
    pattern, fields = _fields(variant.codec, form, "", gen)
    given: dict[str, str] = {}
    for f, (_, expr) in zip(variant.fields, fields, strict=True):
        if f.attr == FLATTEN:  # a struct whose fields are the kind's attributes
            given.update((a, _convert(variant.kind, a, e, gen)) for a, e in gen.sub[id(f.codec)])
        else:
            given[f.attr] = _convert(variant.kind, f.attr, expr, gen)
    # Positional in the class's field order (faster than keywords); attributes the schema
    # lacks are the trailing defaults (ABSENT), else keywords.
    order = [a for a, _ in ATTRS[variant.kind]]
    n = len(given)
    if set(order[:n]) == set(given):
        args = [given[a] for a in order[:n]]
    else:
        args = [f"{a}={e}" for a, e in given.items()]
    src = (
        "def build(buf, start, end):\n"
        "    m = fullmatch(buf, start, end)\n"
        "    if m is None:\n"
        "        return None\n"
        "    g = m.groups()\n"
        f"    return Cls({', '.join(args)})\n"
    )
    compiled = re.compile(pattern)
    env: dict[str, Any] = {"fullmatch": compiled.fullmatch, "Cls": VARIANT_BY_NAME[variant.kind],
                           **gen.env}
    exec(compile(src, f"<fast {variant.rust}>", "exec"), env)
    return compiled, cast(Builder, env["build"])


class FastParser:
    """Canonical-layout matcher for one schema, architecture and form (pretty forms: the
    record text is multi-line exactly as Rust prints it)."""

    def __init__(self, schema: Schema, arch: str, form: Form) -> None:
        self.schema, self.arch, self.form = schema, arch, form
        self._by_name: dict[str, Builder] = {}
        self.patterns: dict[str, re.Pattern[str]] = {}
        for v in schema.variants(arch):
            self.patterns[v.rust], self._by_name[v.rust] = _builder(v, form)

    def parse_at(self, variant: str, buf: str, start: int, end: int) -> ExitReason | None:
        """Like parse, on `buf[start:end]` without copying it."""
        build = self._by_name.get(variant)
        if build is None:
            return None
        try:
            return build(buf, start, end)
        except (ModelError, KeyError, ValueError, TypeError):
            return None  # out of range etc.: the reference path words the error

    def parse(self, variant: str, text: str) -> ExitReason | None:
        """The exit if `text` is exactly Rust's rendering of a `variant` value, else None."""
        return self.parse_at(variant, text, 0, len(text))


_SHARED: dict[tuple[int, str, Form], FastParser] = {}


def fast_parser(schema: Schema, arch: str, form: Form) -> FastParser:
    """The shared FastParser of one schema, architecture and form (building one compiles a
    regex and a function per variant, which costs more than scanning a short log).  Keyed by
    the schema object (schemas are immutable; the parser keeps its schema alive)."""
    key = (id(schema), arch, form)
    found = _SHARED.get(key)
    if found is None or found.schema is not schema:
        found = _SHARED[key] = FastParser(schema, arch, form)
    return found
