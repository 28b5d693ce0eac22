"""Model exits ↔ Rust Debug text through a schema: `render_exit` prints an exit as Rust's
`{:?}`, `{:x?}`, `{:#?}` or `{:#x?}` would (golden logs, property tests), `parse_exit` reads one
record's text back strictly (the reference path behind harness.parse.fast).  Spellings,
layouts and names are the schema's (harness.schema); nothing here knows a field type."""

from __future__ import annotations

from harness.errors import HarnessError
from harness.model.convert import from_canonical, to_canonical
from harness.model.exits import ExitReason
from harness.model.values import ModelError
from harness.schema import Form, Schema
from harness.schema.codecs import CodecError

DebugForm = Form
DebugSyntaxError = CodecError


def render_exit(exit: ExitReason, schema: Schema, arch: str, form: Form) -> str:
    """`exit` as Rust prints `schema`'s exit enum of `arch` under `form`."""
    try:
        return schema.render(arch, to_canonical(exit), form)
    except HarnessError as exc:
        raise ModelError(str(exc)) from None


def parse_exit(text: str, schema: Schema, arch: str, form: Form | None = None
               ) -> tuple[ExitReason, Form]:
    """One record's text (no ANSI, no CR) → exit and the form it was printed in; CodecError
    with the offset of the first character that is not what Rust prints."""
    try:
        exit, used = schema.parse(arch, text, form)
        return from_canonical(exit), used
    except CodecError:
        raise
    except HarnessError as exc:  # a value outside its Rust type's domain
        raise CodecError(0, str(exc)) from None
