"""Hot path of the log scanner: one precompiled regex per (schema, form, variant) that matches
exactly the text Rust prints, capturing the field values.

It accepts a subset of what rust_debug.parse_exit accepts (the canonical layout, nothing
else) and returns None for anything else, so the caller falls back to the reference parser,
which either accepts or produces the error message.  Tests check both agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from harness.model.exits import ExitReason, FieldKind, Generation, construct
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
_FLAGS = (
    rf"(0x0|0x[1-9a-f][0-9a-f]*|{_FLAG_NAME}(?: \| {_FLAG_NAME})*(?: \| 0x[1-9a-f][0-9a-f]*)?)"
)

Conv = Callable[..., object]


def _int_pat(form: DebugForm) -> tuple[str, Callable[[str], int]]:
    if form is DebugForm.PRETTY_HEX:
        return "0x" + _HEX, lambda s: int(s, 16)
    if form is DebugForm.DEBUG_HEX:
        return _HEX, lambda s: int(s, 16)
    return _DEC, int


def _width(s: str) -> AccessWidth:
    return AccessWidth[s]


def _flags(s: str) -> MappingFlags:
    bits = 0
    table = dict(MappingFlags.NAMED)
    for part in s.split(" | "):
        bits |= table[part] if part in table else int(part, 16)
    flags = MappingFlags(bits)
    if render_flags(flags) != s:  # order, duplicates: only the canonical spelling is Rust's
        raise ModelError(f"non-canonical MappingFlags {s!r}")
    return flags


def _field(kind: FieldKind, form: DebugForm, indent: str) -> tuple[str, int, Conv]:
    """(pattern, number of groups, converter taking those groups)."""
    ipat, iconv = _int_pat(form)
    if kind in (FieldKind.U64, FieldKind.USIZE):
        return ipat, 1, iconv
    if kind is FieldKind.BOOL:
        return "(true|false)", 1, lambda s: s == "true"
    if kind is FieldKind.GPA:
        return "GPA:0x" + _HEX, 1, lambda s: GuestPhysAddr(int(s, 16))
    if kind is FieldKind.WIDTH:
        return "(Byte|Word|Dword|Qword)", 1, _width
    if kind is FieldKind.PORT:
        return r"Port\(" + _DEC + r"\)", 1, lambda s: Port(int(s))
    if kind is FieldKind.SYSREG:
        return r"SysRegAddr\(" + _DEC + r"\)", 1, lambda s: SysRegAddr(int(s))
    if kind is FieldKind.PORT_U16:
        return ipat, 1, lambda s: Port(iconv(s))
    if kind is FieldKind.SYSREG_USIZE:
        return ipat, 1, lambda s: SysRegAddr(iconv(s))
    if kind is FieldKind.FLAGS:
        return _FLAGS, 1, _flags
    if kind is FieldKind.ARGS6:
        if form.pretty:
            pat = r"\[\n" + "".join(f"{indent}    {ipat},\n" for _ in range(6)) + indent + r"\]"
        else:
            pat = r"\[" + ", ".join([ipat] * 6) + r"\]"
        return pat, 6, lambda *a: tuple(iconv(x) for x in a)
    if kind is FieldKind.OPT_U8:
        if form.pretty:
            pat = rf"(?:None|Some\(\n{indent}    {ipat},\n{indent}\))"
        else:
            pat = rf"(?:None|Some\({ipat}\))"
        return pat, 1, lambda s: None if s is None else iconv(s)
    raise AssertionError(kind)  # pragma: no cover


@dataclass(frozen=True, slots=True)
class _VariantMatcher:
    regex: re.Pattern[str]
    name: str
    fields: tuple[tuple[str, int, Conv], ...]  # (attr, groups, conv)

    def build(self, text: str) -> ExitReason | None:
        m = self.regex.fullmatch(text)
        if m is None:
            return None
        groups = m.groups()
        kwargs: dict[str, object] = {}
        i = 0
        for attr, n, conv in self.fields:
            kwargs[attr] = conv(*groups[i : i + n])
            i += n
        return construct(self.name, kwargs)


class FastParser:
    """Canonical-layout matcher for one generation and form (pretty forms: the record text
    is multi-line exactly as Rust prints it)."""

    def __init__(self, generation: Generation, form: DebugForm) -> None:
        self.generation = generation
        self.form = form
        self._by_name: dict[str, _VariantMatcher] = {}
        for name in generation.variant_names():
            specs = generation.fields(name)
            parts: list[str] = []
            convs: list[tuple[str, int, Conv]] = []
            for spec in specs:
                pat, n, conv = _field(spec.kind, form, "    ")
                parts.append(f"{spec.name}: {pat}")
                convs.append((spec.attr, n, conv))
            if not specs:
                pattern = re.escape(name)
            elif form.pretty:
                pattern = re.escape(name) + r" \{\n" + "".join(f"    {p},\n" for p in parts) + r"\}"
            else:
                pattern = re.escape(name) + r" \{ " + ", ".join(parts) + r" \}"
            self._by_name[name] = _VariantMatcher(
                re.compile(pattern), name, tuple(convs)
            )

    def parse(self, variant: str, text: str) -> ExitReason | None:
        """The exit if `text` is exactly Rust's rendering of a `variant` value, else None."""
        matcher = self._by_name.get(variant)
        if matcher is None:
            return None
        try:
            return matcher.build(text)
        except (ModelError, KeyError, ValueError):
            return None  # out of range etc.: the reference parser words the error
