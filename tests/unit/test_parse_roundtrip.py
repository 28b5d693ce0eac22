"""Property tests: render random exits as Rust would, parse them back, get the same value;
random bytes and truncations give ParseError entries, never exceptions."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.model.exits import ExitReason, FieldKind, Generation, construct
from harness.model.values import AccessWidth, GuestPhysAddr, MappingFlags, Port, SysRegAddr
from harness.parse.axlog import LogScanner, format_log_line, parse_log
from harness.parse.fast import FastParser
from harness.parse.render import DebugForm, render_exit
from harness.parse.rust_debug import parse_exit

U64 = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 9, 10, 15, 16, 2**64 - 1]))


def _field(kind: FieldKind) -> st.SearchStrategy[object]:
    return {
        FieldKind.U64: U64,
        FieldKind.USIZE: U64,
        FieldKind.BOOL: st.booleans(),
        FieldKind.GPA: U64.map(GuestPhysAddr),
        FieldKind.WIDTH: st.sampled_from(list(AccessWidth)),
        FieldKind.PORT: st.integers(0, 0xFFFF).map(Port),
        FieldKind.PORT_U16: st.integers(0, 0xFFFF).map(Port),
        FieldKind.SYSREG: U64.map(SysRegAddr),
        FieldKind.SYSREG_USIZE: U64.map(SysRegAddr),
        FieldKind.FLAGS: st.one_of(st.integers(0, 63), U64).map(MappingFlags),
        FieldKind.ARGS6: st.tuples(U64, U64, U64, U64, U64, U64),
        FieldKind.OPT_U8: st.none() | st.integers(0, 255),
    }[kind]


@st.composite
def exits(draw: st.DrawFn, gen: Generation) -> ExitReason:
    name = draw(st.sampled_from(gen.variant_names()))
    kwargs = {s.attr: draw(_field(s.kind)) for s in gen.fields(name)}
    return construct(name, kwargs)


gen_and_exit = st.sampled_from(list(Generation)).flatmap(
    lambda g: st.tuples(st.just(g), exits(g))
)


@given(gen_and_exit, st.sampled_from(list(DebugForm)))
def test_every_rendered_form_parses_back_to_the_same_exit(
    ge: tuple[Generation, ExitReason], form: DebugForm
) -> None:
    gen, exit_ = ge
    text = render_exit(exit_, gen, form)
    parsed, used = parse_exit(text, gen, None if form.pretty else form)
    assert parsed == exit_
    assert used is form or render_exit(exit_, gen, used) == text
    assert FastParser(gen, form).parse(exit_.VARIANT, text) == exit_


@given(st.lists(gen_and_exit.map(lambda ge: ge[1]), max_size=8), st.randoms())
def test_log_of_records_parses_back_in_order_with_line_numbers(
    exits_: list[ExitReason], rnd: random.Random
) -> None:
    gen = Generation.G0_6
    exits_ = [e for e in exits_ if gen.has_variant(e.VARIANT) and _fits(e, gen)]
    parts: list[str] = []
    line = 1
    want = []
    for i, e in enumerate(exits_):
        if rnd.random() < 0.5:
            noise = format_log_line("VM[1] VCpu[0] running...", i, "axvisor", 10, level_color=32)
            parts.append(noise + "guest says ] Halt\n")
            line += 2
        text = render_exit(e, gen, DebugForm.PRETTY_HEX)
        parts.append(format_log_line(text, 1000 + i, cpu=i % 4, task=i))
        want.append((line, e))
        line += text.count("\n") + 1
    log = "".join(parts)
    result = parse_log(log, gen)
    assert result.errors == ()
    assert [(r.first_line, r.exit) for r in result.records] == want
    # Same result when fed in random chunks (bytes, so UTF-8 and CRLF splits happen too).
    data = log.encode()
    scanner = LogScanner(gen)
    cut = sorted(rnd.sample(range(len(data) + 1), min(5, len(data) + 1)))
    for a, b in zip([0, *cut], [*cut, len(data)], strict=True):
        scanner.feed(data[a:b])
    chunked = scanner.finish()
    assert [(r.first_line, r.exit) for r in chunked.records] == want
    assert chunked.errors == ()


def _fits(e: ExitReason, gen: Generation) -> bool:
    from harness.model.exits import validate
    from harness.model.values import ModelError

    try:
        validate(e, gen)
    except ModelError:
        return False
    return True


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_give_only_parse_errors(data: bytes) -> None:
    for gen in Generation:
        result = parse_log(data, gen)
        assert all("internal" not in e.message for e in result.errors)


PREFIX_HEAD = "\x1b[37m[  1.000000 0:5 axvm::vm:623] \x1b[90m"
ATOMS = [PREFIX_HEAD, "MmioRead {\n", "    addr: GPA:0x10,\n", "}\x1b[m\n", "Halt", "Some(\n",
         "    args: [\n", "        0x1,\n", "    ],\n", "\r\n", "\n", " | ", "READ", "0x", "ff",
         "(", ")", "{", "}", ",", ":", "\x1b[m", "é", "\x00", "<log truncated>"]  # fmt: skip


@given(st.lists(st.sampled_from(ATOMS), max_size=40))
def test_structured_garbage_never_raises(atoms: list[str]) -> None:
    result = parse_log("".join(atoms), Generation.G0_6)
    assert all("internal" not in e.message for e in result.errors)
    for e in result.errors:
        assert e.line >= 1 and e.column >= 1


@given(st.lists(exits(Generation.G0_6), min_size=1, max_size=4), st.data())
def test_truncated_log_keeps_a_prefix_of_records_and_reports_the_cut(
    exits_: list[ExitReason], data: st.DataObject
) -> None:
    log = "".join(
        format_log_line(render_exit(e, Generation.G0_6, DebugForm.PRETTY_HEX), i)
        for i, e in enumerate(exits_)
    )
    cut = data.draw(st.integers(0, len(log)))
    result = parse_log(log[:cut], Generation.G0_6)
    got = [r.exit for r in result.records]
    assert got == exits_[: len(got)]
    assert all("internal" not in e.message for e in result.errors)
