"""Malformed records: each error names the place (line, column) and what was expected."""

from __future__ import annotations

import pytest

from harness.model.exits import Generation, Halt, MmioWrite
from harness.model.values import AccessWidth, GuestPhysAddr
from harness.parse.axlog import LogScanner, format_log_line, parse_log
from harness.parse.render import DebugForm
from harness.parse.rust_debug import DebugSyntaxError, parse_exit

G6 = Generation.G0_6
# 40 characters: a message starts at column 41
HEAD = "\x1b[37m[  1.000000 0:5 axvm::vm:623] \x1b[90m"


def _one_error(log: str, gen: Generation = G6) -> tuple[int, int, str]:
    result = parse_log(log, gen, "t.log")
    assert len(result.errors) == 1, result
    e = result.errors[0]
    return e.line, e.column, e.message


@pytest.mark.parametrize(
    ("text", "gen", "message"),
    [
        ("Bogus { a: 1 }", G6, "unknown variant 'Bogus'"),
        ("PreemptionTimer", Generation.G0_2, "does not exist in axvcpu schema 0.2"),
        ("SendIPI { target_cpu: 0x1 }", Generation.G0_1, "does not exist in axvcpu schema 0.1"),
        ("ExternalInterrupt { }", G6, "missing field 'vector'"),
        ("ExternalInterrupt { vector: 1, extra: 2 }", G6, "unexpected field 'extra'"),
        ("CpuDown { state: 1 }", G6, "expected field '_state', found 'state'"),
        ("ExternalInterrupt { vector: true }", G6, "expected integer"),
        ("ExternalInterrupt { vector: 18446744073709551616 }", G6, "out of range for u64"),
        ("InterruptEnd { vector: Some(256) }", G6, "out of range for u8"),
        ("IoRead { port: 1016, width: Byte }", G6, "expected Port(<decimal>)"),
        ("IoRead { port: Port(1016), width: Short }", G6, "expected Byte, Word, Dword or Qword"),
        ("Halt { }", G6, "unit variant"),
        ("MmioWrite", G6, "expected fields { addr, width, data }"),
        ("ExternalInterrupt { vector: 0x10 }", G6, "expected decimal integer"),
        ("Hypercall { nr: 1, args: [1, 2] }", G6, "expected 6 elements"),
        ("NestedPageFault { addr: GPA:0x0, access_flags: READ | BOGUS }", G6, "MappingFlags"),
        ("ExternalInterrupt { vector: 1,", G6, "expected a field name or '}'"),
        ("ExternalInterrupt {vector: 1}", G6, "not Rust {:?} layout"),
        ("NestedPageFault { addr: GPA:0x0, access_flags: WRITE | READ }", G6, "layout"),
    ],
)
def test_reference_parser_rejects_with_what_was_expected(
    text: str, gen: Generation, message: str
) -> None:
    with pytest.raises(DebugSyntaxError) as info:
        parse_exit(text, gen)
    assert message in info.value.message


def test_pretty_hex_record_with_a_decimal_integer_is_rejected() -> None:
    args = "        0x0,\n" * 5 + "        7,\n"
    text = "Hypercall {\n    nr: 0x1,\n    args: [\n" + args + "    ],\n}"
    with pytest.raises(DebugSyntaxError, match="0x-prefixed"):
        parse_exit(text, G6)


def test_error_column_points_into_the_raw_log_line() -> None:
    log = "boot\n" + HEAD + "ExternalInterrupt { vector: true }\x1b[m\n"
    line, col, msg = _one_error(log)
    # "ExternalInterrupt { vector: " is 28 characters; HEAD is 40.
    assert (line, col) == (2, 40 + 28 + 1)
    assert "ExternalInterrupt.vector" in msg


def test_error_in_continuation_line_reports_that_line() -> None:
    log = HEAD + "MmioWrite {\n    addr: GPA:0x10,\n    width: Nibble,\n    data: 0x1,\n}\x1b[m\n"
    line, col, msg = _one_error(log)
    assert (line, col) == (3, 12)
    assert "expected Byte, Word, Dword or Qword" in msg


def test_record_cut_at_end_of_input_is_a_truncated_record_error() -> None:
    log = HEAD + "MmioWrite {\n    addr: GPA:0x10,\n"
    line, _col, msg = _one_error(log)
    assert line == 2  # where its text stops
    assert "truncated record" in msg


def test_interrupted_record_is_reported_and_the_next_record_still_parsed() -> None:
    log = (
        HEAD + "MmioWrite {\n    addr: GPA:0x10,\nguest output\n"
        + format_log_line("Halt", 2_000_000)
    )
    result = parse_log(log, G6)
    assert [r.exit for r in result.records] == [Halt()]
    assert result.records[0].first_line == 4
    assert len(result.errors) == 1
    assert result.errors[0].line == 2  # where its text stops, not the guest's line
    assert "interrupted" in result.errors[0].message


def test_axlog_buffer_truncation_marker_is_named() -> None:
    log = HEAD + "MmioWrite {\n    addr: GPA:0x10,\n    wid\x1b[m<log truncated>\n"
    _line, _col, msg = _one_error(log)
    assert "2048-byte" in msg


def test_messages_that_merely_start_with_a_variant_word_are_not_records() -> None:
    log = HEAD + "Halting vCPU 0\x1b[m\n" + HEAD + "Nothing to do here\x1b[m\n"
    assert parse_log(log, G6) == parse_log("", G6)


def test_variant_text_outside_a_log_message_is_not_a_record() -> None:
    assert parse_log("Halt\nMmioWrite { addr: GPA:0x0, width: Byte, data: 0 }\n", G6).records == ()


def test_prefix_without_task_or_cpu_is_accepted() -> None:
    for who in ("0 ", ""):
        log = f"[  3.000001 {who}axvm::vm:623] Halt\n"
        result = parse_log(log, G6)
        assert [r.exit for r in result.records] == [Halt()]
        assert result.records[0].prefix.time_us == 3_000_001
        assert result.records[0].prefix.task is None


def test_log_line_glued_to_guest_output_is_still_found() -> None:
    log = "partial guest line" + format_log_line("SystemDown", 5)
    assert [r.exit.VARIANT for r in parse_log(log, G6).records] == ["SystemDown"]


def test_compact_hex_records_need_the_compact_form_option() -> None:
    text = "MmioWrite { addr: GPA:0x10, width: Byte, data: ff }"
    log = HEAD + text + "\x1b[m\n"
    assert parse_log(log, G6).errors
    result = parse_log(log, G6, compact_form=DebugForm.DEBUG_HEX)
    assert [r.exit for r in result.records] == [
        MmioWrite(GuestPhysAddr(0x10), AccessWidth.Byte, 0xFF)
    ]


def test_feed_returns_items_as_they_complete() -> None:
    scanner = LogScanner(G6)
    assert scanner.feed(HEAD + "Halt\x1b[m") == []
    items = scanner.feed("\n\x1b[m")
    assert [type(i).__name__ for i in items] == ["ExitRecord"]
    assert scanner.finish().records[0].exit == Halt()


def test_utf8_split_across_chunks_is_decoded() -> None:
    data = ("é\n" + HEAD + "Halt\x1b[m\n").encode()
    scanner = LogScanner(G6)
    scanner.feed(data[:1])
    scanner.feed(data[1:])
    result = scanner.finish()
    assert result.records[0].first_line == 2
