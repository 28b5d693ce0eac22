"""Render model exits exactly as Rust's `{:?}`, `{:x?}`, `{:#?}` and `{:#x?}` would.

Used to build golden logs and by the property tests (render → parse → equal).  The field
types' Debug impls were read in the crate sources (see exits.py): GuestPhysAddr always writes
`GPA:{:#x}`; Port/SysRegAddr always `Port({})` in decimal; MappingFlags forwards to bitflags'
internal Debug, i.e. `READ | WRITE`, unknown bits as `0x40`, empty as `0x0`, no type name.
Derived Debug (structs, arrays, Option) follows core::fmt: pretty form puts each field on its
own line indented by 4 per level with a trailing comma; hex forms apply to integers only,
`{:x?}` without a `0x` prefix and `{:#x?}` with one.
"""

from __future__ import annotations

import enum

from harness.model.exits import ExitReason, FieldKind, Generation, field_values, validate
from harness.model.values import AccessWidth, GuestPhysAddr, MappingFlags, Port, SysRegAddr


class DebugForm(enum.Enum):
    """The four Debug format specs the parser understands."""

    DEBUG = "{:?}"
    DEBUG_HEX = "{:x?}"
    PRETTY = "{:#?}"
    PRETTY_HEX = "{:#x?}"

    @property
    def pretty(self) -> bool:
        return self in (DebugForm.PRETTY, DebugForm.PRETTY_HEX)

    @property
    def hex(self) -> bool:
        return self in (DebugForm.DEBUG_HEX, DebugForm.PRETTY_HEX)


def render_int(value: int, form: DebugForm) -> str:
    """An integer under `form`: decimal, bare lowercase hex, or 0x-prefixed hex."""
    if form is DebugForm.DEBUG_HEX:
        return f"{value:x}"
    if form is DebugForm.PRETTY_HEX:
        return f"{value:#x}"
    return str(value)


def render_flags(flags: MappingFlags) -> str:
    """bitflags 2 internal Debug: names joined by ` | `, leftover bits as hex, empty `0x0`."""
    if flags.bits == 0:
        return "0x0"
    parts = list(flags.names())
    extra = flags.unknown_bits()
    if extra:
        parts.append(f"0x{extra:x}")
    return " | ".join(parts)


def _tuple_struct(name: str, inner: str, form: DebugForm, indent: str) -> str:
    if form.pretty:
        return f"{name}(\n{indent}    {inner},\n{indent})"
    return f"{name}({inner})"


def render_field(kind: FieldKind, value: object, form: DebugForm, indent: str = "    ") -> str:
    """One field value; `indent` is the indentation of the line the value starts on."""
    if kind in (FieldKind.U64, FieldKind.USIZE):
        assert isinstance(value, int)
        return render_int(value, form)
    if kind is FieldKind.BOOL:
        return "true" if value else "false"
    if kind is FieldKind.GPA:
        assert isinstance(value, GuestPhysAddr)
        return f"GPA:{value.value:#x}"
    if kind is FieldKind.WIDTH:
        assert isinstance(value, AccessWidth)
        return value.name
    if kind is FieldKind.PORT:
        assert isinstance(value, Port)
        return f"Port({value.value})"
    if kind is FieldKind.PORT_U16:
        assert isinstance(value, Port)
        return render_int(value.value, form)
    if kind is FieldKind.SYSREG:
        assert isinstance(value, SysRegAddr)
        return f"SysRegAddr({value.value})"
    if kind is FieldKind.SYSREG_USIZE:
        assert isinstance(value, SysRegAddr)
        return render_int(value.value, form)
    if kind is FieldKind.FLAGS:
        assert isinstance(value, MappingFlags)
        return render_flags(value)
    if kind is FieldKind.ARGS6:
        assert isinstance(value, tuple)
        items = [render_int(v, form) for v in value]
        if not items:
            return "[]"
        if form.pretty:
            inner = "".join(f"{indent}    {it},\n" for it in items)
            return f"[\n{inner}{indent}]"
        return "[" + ", ".join(items) + "]"
    if kind is FieldKind.OPT_U8:
        if value is None:
            return "None"
        assert isinstance(value, int)
        return _tuple_struct("Some", render_int(value, form), form, indent)
    raise AssertionError(kind)  # pragma: no cover


def render_exit(exit: ExitReason, generation: Generation, form: DebugForm) -> str:
    """`exit` as Rust would print `AxVCpuExitReason` of `generation` under `form`."""
    validate(exit, generation)
    pairs = field_values(exit, generation)
    name = exit.VARIANT
    if not pairs:
        return name
    if form.pretty:
        body = "".join(
            f"    {spec.name}: {render_field(spec.kind, value, form, '    ')},\n"
            for spec, value in pairs
        )
        return f"{name} {{\n{body}}}"
    body = ", ".join(f"{s.name}: {render_field(s.kind, value, form)}" for s, value in pairs)
    return f"{name} {{ {body} }}"
