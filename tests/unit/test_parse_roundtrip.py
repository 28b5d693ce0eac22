"""Property tests of the whole parse path, for every variant of every schema generation
(including the current line's per-architecture enums): render random exits as Rust would, frame
them as the consoles do (ax-log 0.5.15 records, ax-log 0.6.1 records redrawn by the shell,
synchronous `AXH-EXIT` records), parse them back, get the same values, lines and vCPU ids;
random bytes and truncations give ParseError entries, never exceptions."""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.model.convert import from_canonical
from harness.model.exits import ExitReason
from harness.model.schemas import schema, schema_set
from harness.parse.axlog import LogScanner, format_log_line, format_sync_record, parse_log
from harness.parse.fast import FastParser
from harness.parse.render import DebugForm, parse_exit, render_exit
from harness.schema import Exit, Schema
from harness.schema.codecs import Bool, Codec, Flags, Int, Text, UnitEnum, Value
from harness.schema.derived import Array, Newtype, Optional, Record
from harness.schema.schema import Variant

# ---------------------------------------------------------------- strategies from the schemas


def values(codec: Codec) -> st.SearchStrategy[Value]:
    if isinstance(codec, Int | Text):
        bits = codec.bits if isinstance(codec, Int) else codec.number.bits
        top = (1 << bits) - 1
        return st.one_of(st.sampled_from([0, 1, 9, 10, 15, 16, top]), st.integers(0, top))
    if isinstance(codec, Bool):
        return st.booleans()
    if isinstance(codec, UnitEnum):
        return st.sampled_from(codec.names)
    if isinstance(codec, Flags):
        return st.one_of(st.integers(0, codec.known), st.integers(0, (1 << codec.bits) - 1))
    if isinstance(codec, Newtype):
        return values(codec.inner)
    if isinstance(codec, Optional):
        return st.one_of(st.none(), values(codec.inner))
    if isinstance(codec, Array):
        return st.tuples(*[values(codec.inner)] * codec.length)
    assert isinstance(codec, Record)
    return st.fixed_dictionaries({n: values(c) for n, c in codec.fields})


def exits(schema: Schema, arch: str, logged_only: bool = True) -> st.SearchStrategy[ExitReason]:
    """Model exits of `schema`'s enum on `arch` (variants never logged left out)."""
    variants = [v for v in schema.variants(arch) if v.logged or not logged_only]

    def one(v: Variant) -> st.SearchStrategy[ExitReason]:
        def build(value: Value) -> ExitReason:
            assert isinstance(value, Mapping)
            return from_canonical(Exit(v.kind, v.from_rust(value)))

        return values(v.codec).map(build)

    return st.sampled_from(variants).flatmap(one)


def enums() -> list[tuple[Schema, str]]:
    """Every distinct (schema, arch) enum: axvcpu's one enum counts once."""
    out, seen = [], set()
    for s in schema_set():
        for arch in s.arches:
            if id(s.enum(arch).variants) not in seen:
                seen.add(id(s.enum(arch).variants))
                out.append((s, arch))
    return out


# ---------------------------------------------------------------------------------- tests


ENUMS = enums()
IDS = [f"{s.id}-{a}" for s, a in ENUMS]
G6 = schema("axvcpu-0.6")
FRAMES = ("axlog05", "axlog06", "sync")


@pytest.mark.parametrize(("sch", "arch"), ENUMS, ids=IDS)
def test_every_rendered_form_parses_back_to_the_same_exit(sch: Schema, arch: str) -> None:
    @settings(max_examples=60, deadline=None)
    @given(exits(sch, arch), st.sampled_from(list(DebugForm)))
    def run(exit_: ExitReason, form: DebugForm) -> None:
        text = render_exit(exit_, sch, arch, form)
        parsed, used = parse_exit(text, sch, arch, None if form.pretty else form)
        assert parsed == exit_
        assert used is form or render_exit(exit_, sch, arch, used) == text
        rust = sch.rust_name(arch, exit_.VARIANT)
        assert FastParser(sch, arch, form).parse(rust, text) == exit_

    run()


def _frame(frame: str, text: str, i: int) -> str:
    if frame == "sync":
        return format_sync_record(text, vm=1, vcpu=i % 3)
    return format_log_line(text, 1000 + i, cpu=i % 4, task=i, axlog06=frame == "axlog06")


@pytest.mark.parametrize(("sch", "arch"), ENUMS, ids=IDS)
@pytest.mark.parametrize("frame", FRAMES)
def test_a_log_of_records_parses_back_in_order_with_lines_and_ids(
        sch: Schema, arch: str, frame: str) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(exits(sch, arch), max_size=6), st.randoms())
    def run(exits_: list[ExitReason], rnd: random.Random) -> None:
        parts: list[str] = []
        line = 1
        want = []
        for i, e in enumerate(exits_):
            if rnd.random() < 0.5:
                noise = format_log_line("VM[1] VCpu[0] running...", i, "axvisor", 10,
                                        level_color=32, axlog06=frame != "axlog05")
                parts.append(noise + "guest says ] Halt\n")
                line += noise.count("\n") + 1
            text = render_exit(e, sch, arch, DebugForm.PRETTY_HEX)
            framed = _frame(frame, text, i)
            parts.append(framed)
            before = framed[: framed.index(text.split("\n")[0])].count("\n")
            ids = (1, i % 3) if frame == "sync" else (None, None)
            want.append((line + before, e, ids))
            line += framed.count("\n")
        log = "".join(parts)
        result = parse_log(log, sch, arch)
        assert result.errors == ()
        assert [(r.first_line, r.exit, (r.vm, r.vcpu)) for r in result.records] == want
        # Same result when fed in random chunks (bytes, so UTF-8 and CRLF splits happen too).
        data = log.encode()
        scanner = LogScanner(sch, arch)
        cut = sorted(rnd.sample(range(len(data) + 1), min(5, len(data) + 1)))
        for a, b in zip([0, *cut], [*cut, len(data)], strict=True):
            scanner.feed(data[a:b])
        chunked = scanner.finish()
        assert [(r.first_line, r.exit, (r.vm, r.vcpu)) for r in chunked.records] == want
        assert chunked.errors == ()

    run()


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_give_only_parse_errors(data: bytes) -> None:
    for sch, arch in ENUMS:
        result = parse_log(data, sch, arch)
        assert all("internal" not in e.message for e in result.errors)


PREFIX_HEAD = "\x1b[37m[  1.000000 0:5 axvm::vm:623] \x1b[90m"
PREFIX_06 = ("axvisor:$ \r\x1b[2K\x1b[37m[  0.729347 0:4294967302 "
             "\x1b[37maxvm::architecture::ops:225] ")
ATOMS = [PREFIX_HEAD, PREFIX_06, "AXH-EXIT vm=1 vcpu=0 ", "MmioRead {\n", "    addr: GPA:0x10,\n",
         "    addr: GPA(0x10),\n", "}\x1b[m\n", "Halt", "Some(\n", "SendIpi(", "    args: [\n",
         "        0x1,\n", "    ],\n", "\r\n", "\n", " | ", "READ", "0x", "ff", "(", ")", "{",
         "}", ",", ":", "\x1b[m", "é", "\x00", "<log truncated>", "...[truncated]"]  # fmt: skip


@given(st.lists(st.sampled_from(ATOMS), max_size=40))
def test_structured_garbage_never_raises(atoms: list[str]) -> None:
    for sch, arch in ((G6, "aarch64"), (schema("axvm-0.8"), "riscv64")):
        result = parse_log("".join(atoms), sch, arch)
        assert all("internal" not in e.message for e in result.errors)
        for e in result.errors:
            assert e.line >= 1 and e.column >= 1


@pytest.mark.parametrize(("sch", "arch"), ENUMS, ids=IDS)
def test_a_truncated_log_keeps_a_prefix_of_records_and_reports_the_cut(
        sch: Schema, arch: str) -> None:
    @settings(max_examples=25, deadline=None)
    @given(st.lists(exits(sch, arch), min_size=1, max_size=4), st.sampled_from(FRAMES),
           st.data())
    def run(exits_: list[ExitReason], frame: str, data: st.DataObject) -> None:
        log = "".join(_frame(frame, render_exit(e, sch, arch, DebugForm.PRETTY_HEX), i)
                      for i, e in enumerate(exits_))
        cut = data.draw(st.integers(0, len(log)))
        result = parse_log(log[:cut], sch, arch)
        got = [r.exit for r in result.records]
        assert got == exits_[: len(got)]
        assert all("internal" not in e.message for e in result.errors)

    run()
