"""Hot path of the log scanner: one precompiled regex per (schema, form, variant) that matches
exactly the text Rust prints, capturing the field values.

It accepts a subset of what rust_debug.parse_exit accepts (the canonical layout, nothing
else) and returns None for anything else, so the caller falls back to the reference parser,
which either accepts or produces the error message.  Tests check both agree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import cast

from harness.model.exits import FACTORIES, ExitReason, FieldKind, Generation
from harness.model.values import (
    AccessWidth,
    GuestPhysAddr,
    MappingFlags,
    ModelError,
    Port,
    SysRegAddr,
)
from harness.parse.render import DebugForm, render_flags

_DEC = r"(0|[1-9][0-9]*)"
_HEX = r"(0|[1-9a-f][0-9a-f]*)"
_FLAG_NAME = "(?:" + "|".join(n for n, _ in MappingFlags.NAMED) + ")"
_FLAGS = rf"(0x0|0x[1-9a-f][0-9a-f]*|{_FLAG_NAME}(?: \| {_FLAG_NAME})*(?: \| 0x[1-9a-f][0-9a-f]*)?)"

Builder = Callable[[str, int, int], ExitReason | None]


def _int_src(form: DebugForm) -> tuple[str, str]:
    """(pattern, Python expression template over `{g}`) for a hex-flag-following integer."""
    if form is DebugForm.PRETTY_HEX:
        return "0x" + _HEX, "int({g}, 16)"
    if form is DebugForm.DEBUG_HEX:
        return _HEX, "int({g}, 16)"
    return _DEC, "int({g})"


def _flags(s: str) -> MappingFlags:
    bits = 0
    table = dict(MappingFlags.NAMED)
    for part in s.split(" | "):
        bits |= table[part] if part in table else int(part, 16)
    flags = MappingFlags(bits)
    if render_flags(flags) != s:  # order, duplicates: only the canonical spelling is Rust's
        raise ModelError(f"non-canonical MappingFlags {s!r}")
    return flags


def _field(kind: FieldKind, form: DebugForm, indent: str) -> tuple[str, int, str]:
    """(pattern, number of groups, expression over g0, g1, … building the value)."""
    ipat, iexpr = _int_src(form)
    if kind in (FieldKind.U64, FieldKind.USIZE):
        return ipat, 1, iexpr.format(g="{g0}")
    if kind is FieldKind.BOOL:
        return "(true|false)", 1, '{g0} == "true"'
    if kind is FieldKind.GPA:
        return "GPA:0x" + _HEX, 1, "GuestPhysAddr(int({g0}, 16))"
    if kind is FieldKind.WIDTH:
        return "(Byte|Word|Dword|Qword)", 1, "WIDTHS[{g0}]"
    if kind is FieldKind.PORT:
        return r"Port\(" + _DEC + r"\)", 1, "Port(int({g0}))"
    if kind is FieldKind.SYSREG:
        return r"SysRegAddr\(" + _DEC + r"\)", 1, "SysRegAddr(int({g0}))"
    if kind is FieldKind.PORT_U16:
        return ipat, 1, "Port(" + iexpr.format(g="{g0}") + ")"
    if kind is FieldKind.SYSREG_USIZE:
        return ipat, 1, "SysRegAddr(" + iexpr.format(g="{g0}") + ")"
    if kind is FieldKind.FLAGS:
        return _FLAGS, 1, "flags({g0})"
    if kind is FieldKind.ARGS6:
        if form.pretty:
            pat = r"\[\n" + "".join(f"{indent}    {ipat},\n" for _ in range(6)) + indent + r"\]"
        else:
            pat = r"\[" + ", ".join([ipat] * 6) + r"\]"
        expr = "(" + ", ".join(iexpr.format(g=f"{{g{i}}}") for i in range(6)) + ",)"
        return pat, 6, expr
    if kind is FieldKind.OPT_U8:
        if form.pretty:
            pat = rf"(?:None|Some\(\n{indent}    {ipat},\n{indent}\))"
        else:
            pat = rf"(?:None|Some\({ipat}\))"
        return pat, 1, "None if {g0} is None else " + iexpr.format(g="{g0}")
    raise AssertionError(kind)  # pragma: no cover


def _compile_builder(name: str, pattern: str, exprs: list[tuple[int, str]]) -> Builder:
    """Generate `build(buf, start, end)` for one variant: fullmatch, then one constructor call
    with every conversion inlined (the per-record cost is what the benchmark measures)."""
    args: list[str] = []
    n = 0
    for count, expr in exprs:
        args.append(expr.format(**{f"g{i}": f"g[{n + i}]" for i in range(count)}))
        n += count
    src = (
        "def build(buf, start, end):\n"
        "    m = fullmatch(buf, start, end)\n"
        "    if m is None:\n"
        "        return None\n"
        "    g = m.groups()\n"
        f"    return Cls({', '.join(args)})\n"
    )
    env: dict[str, object] = {
        "fullmatch": re.compile(pattern).fullmatch,
        "Cls": FACTORIES[name],
        "GuestPhysAddr": GuestPhysAddr,
        "Port": Port,
        "SysRegAddr": SysRegAddr,
        "WIDTHS": dict(AccessWidth.__members__),
        "flags": _flags,
    }
    exec(compile(src, f"<fast {name}>", "exec"), env)
    return cast(Builder, env["build"])


class FastParser:
    """Canonical-layout matcher for one generation and form (pretty forms: the record text
    is multi-line exactly as Rust prints it)."""

    def __init__(self, generation: Generation, form: DebugForm) -> None:
        self.generation = generation
        self.form = form
        self._by_name: dict[str, Builder] = {}
        for name in generation.variant_names():
            specs = generation.fields(name)
            parts: list[str] = []
            exprs: list[tuple[int, str]] = []
            for spec in specs:
                pat, n, expr = _field(spec.kind, form, "    ")
                parts.append(f"{spec.name}: {pat}")
                exprs.append((n, expr))
            if not specs:
                pattern = re.escape(name)
            elif form.pretty:
                pattern = re.escape(name) + r" \{\n" + "".join(f"    {p},\n" for p in parts) + r"\}"
            else:
                pattern = re.escape(name) + r" \{ " + ", ".join(parts) + r" \}"
            self._by_name[name] = _compile_builder(name, pattern, exprs)

    def parse_at(self, variant: str, buf: str, start: int, end: int) -> ExitReason | None:
        """Like parse, on `buf[start:end]` without copying it."""
        build = self._by_name.get(variant)
        if build is None:
            return None
        try:
            return build(buf, start, end)
        except (ModelError, KeyError, ValueError):
            return None  # out of range etc.: the reference parser words the error

    def parse(self, variant: str, text: str) -> ExitReason | None:
        """The exit if `text` is exactly Rust's rendering of a `variant` value, else None."""
        return self.parse_at(variant, text, 0, len(text))


@functools.cache
def fast_parser(generation: Generation, form: DebugForm) -> FastParser:
    """The shared FastParser of one schema and form (building one compiles a regex and a
    function per variant, which costs more than scanning a short log)."""
    return FastParser(generation, form)
