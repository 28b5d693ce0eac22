"""Malformed records: each error names the place (line, column) and what was expected."""

from __future__ import annotations

import pytest

from harness.model.exits import Halt, MmioWrite
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr
from harness.parse.axlog import LogScanner, format_log_line, parse_log
from harness.parse.render import DebugForm, DebugSyntaxError, parse_exit
from harness.schema import Schema

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

G6 = S06
# 40 characters: a message starts at column 41
HEAD = "\x1b[37m[  1.000000 0:5 axvm::vm:623] \x1b[90m"


def _one_error(log: str, gen: Schema = G6) -> tuple[int, int, str]:
    result = parse_log(log, gen, "aarch64", "t.log")
    assert len(result.errors) == 1, result
    e = result.errors[0]
    return e.line, e.column, e.message


@pytest.mark.parametrize(
    ("text", "gen", "message"),
    [
        ("Bogus { a: 1 }", G6, "found 'Bogus': known are Hypercall"),
        ("PreemptionTimer", S02, "AxVCpuExitReason (axvcpu-0.2, aarch64), found 'PreemptionTimer'"),
        ("SendIPI { target_cpu: 0x1 }", S01, "(axvcpu-0.1, aarch64), found 'SendIPI'"),
        ("ExternalInterrupt { }", G6, "expected ' vector: '"),
        ("ExternalInterrupt { vector: 1, extra: 2 }", G6, "expected ' }', found ','"),
        ("CpuDown { state: 1 }", G6, "expected ' _state: '"),
        ("ExternalInterrupt { vector: true }", G6, "expected decimal u64, found 'true'"),
        ("ExternalInterrupt { vector: 18446744073709551616 }", G6, "out of range for u64"),
        ("InterruptEnd { vector: Some(256) }", G6, "out of range for u8"),
        ("IoRead { port: 1016, width: Byte }", G6, "expected Port(<decimal>)"),
        ("IoRead { port: Port(1016), width: Short }", G6, "(Byte, Word, Dword, Qword)"),
        ("Halt { }", G6, "expected end of text"),
        ("MmioWrite", G6, "expected ' {', found end of text"),
        ("ExternalInterrupt { vector: 0x10 }", G6, "expected decimal u64, found '0x10'"),
        ("Hypercall { nr: 1, args: [1, 2] }", G6, "expected ', ', found ']'"),
        ("NestedPageFault { addr: GPA:0x0, access_flags: READ | BOGUS }", G6, "MappingFlags"),
        ("ExternalInterrupt { vector: 1,", G6, "expected ' }'"),
        ("ExternalInterrupt {vector: 1}", G6, "expected ' vector: '"),
        ("NestedPageFault { addr: GPA:0x0, access_flags: WRITE | READ }", G6, "spelling"),
        ("MmioRead { addr: GPA(0x10), width: Byte, reg: 1, reg_width: Qword, signed_ext: "
         "false }", G6, "expected GPA:0x<hex>, found 'GPA'"),
    ],
)
def test_reference_parser_rejects_with_what_was_expected(
    text: str, gen: Schema, message: str
) -> None:
    with pytest.raises(DebugSyntaxError) as info:
        parse_exit(text, gen, "aarch64")
    assert message in info.value.message


def test_pretty_hex_record_with_a_decimal_integer_is_rejected() -> None:
    args = "        0x0,\n" * 5 + "        7,\n"
    text = "Hypercall {\n    nr: 0x1,\n    args: [\n" + args + "    ],\n}"
    with pytest.raises(DebugSyntaxError, match="0x-prefixed"):
        parse_exit(text, G6, "aarch64")


def test_error_column_points_into_the_raw_log_line() -> None:
    log = "boot\n" + HEAD + "ExternalInterrupt { vector: true }\x1b[m\n"
    line, col, msg = _one_error(log)
    # "ExternalInterrupt { vector: " is 28 characters; HEAD is 40.
    assert (line, col) == (2, 40 + 28 + 1)
    assert "expected decimal u64, found 'true'" in msg


def test_error_in_continuation_line_reports_that_line() -> None:
    log = HEAD + "MmioWrite {\n    addr: GPA:0x10,\n    width: Nibble,\n    data: 0x1,\n}\x1b[m\n"
    line, col, msg = _one_error(log)
    assert (line, col) == (3, 12)
    assert "expected AccessWidth (Byte, Word, Dword, Qword), found 'Nibble'" in msg


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
    result = parse_log(log, G6, "aarch64")
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
    assert parse_log(log, G6, "aarch64") == parse_log("", G6, "aarch64")


def test_variant_text_outside_a_log_message_is_not_a_record() -> None:
    log = "Halt\nMmioWrite { addr: GPA:0x0, width: Byte, data: 0 }\n"
    assert parse_log(log, G6, "aarch64").records == ()


def test_prefix_without_task_or_cpu_is_accepted() -> None:
    for who in ("0 ", ""):
        log = f"[  3.000001 {who}axvm::vm:623] Halt\n"
        result = parse_log(log, G6, "aarch64")
        assert [r.exit for r in result.records] == [Halt()]
        prefix = result.records[0].prefix
        assert prefix is not None and prefix.time_us == 3_000_001 and prefix.task is None


def test_log_line_glued_to_guest_output_is_still_found() -> None:
    log = "partial guest line" + format_log_line("SystemDown", 5)
    assert [r.exit.VARIANT for r in parse_log(log, G6, "aarch64").records] == ["SystemDown"]


def test_compact_hex_records_need_the_compact_form_option() -> None:
    text = "MmioWrite { addr: GPA:0x10, width: Byte, data: ff }"
    log = HEAD + text + "\x1b[m\n"
    assert parse_log(log, G6, "aarch64").errors
    result = parse_log(log, G6, "aarch64", compact_form=DebugForm.DEBUG_HEX)
    assert [r.exit for r in result.records] == [
        MmioWrite(GuestPhysAddr(0x10), AccessWidth.Byte, 0xFF)
    ]


def test_feed_returns_items_as_they_complete() -> None:
    scanner = LogScanner(G6, "aarch64")
    assert scanner.feed(HEAD + "Halt\x1b[m") == []
    items = scanner.feed("\n\x1b[m")
    assert [type(i).__name__ for i in items] == ["ExitRecord"]
    assert scanner.finish().records[0].exit == Halt()


def test_utf8_split_across_chunks_is_decoded() -> None:
    data = ("é\n" + HEAD + "Halt\x1b[m\n").encode()
    scanner = LogScanner(G6, "aarch64")
    scanner.feed(data[:1])
    scanner.feed(data[1:])
    result = scanner.finish()
    assert result.records[0].first_line == 2


A8 = schema("axvm-0.8")
HEAD06 = ("axvisor:$ \r\x1b[2K\x1b[37m[  0.729347 0:4294967302 "
          "\x1b[37maxvm::architecture::ops:225] \x1b[90m")


def test_ax_log_0_6_truncation_marker_is_named() -> None:
    log = HEAD06 + "MmioWrite {\r\n    addr: GPA(0x10),\r\n    wid\x1b[m...[truncated]\r\n"
    result = parse_log(log, A8, "aarch64")
    assert [e.line for e in result.errors] == [3]
    assert "1 KiB" in result.errors[0].message


def test_a_synchronous_record_s_error_is_placed_after_its_tag() -> None:
    log = "x\r\nAXH-EXIT vm=1 vcpu=0 MmioWrite { addr: GPA(0x10), width: Nibble, data: 0x1 }\r\n"
    result = parse_log(log, A8, "aarch64")
    assert len(result.errors) == 1
    err = result.errors[0]
    assert (err.line, err.column) == (2, len("AXH-EXIT vm=1 vcpu=0 MmioWrite { addr: GPA(0x10), "
                                             "width: ") + 1)


def test_a_variant_of_another_architecture_s_enum_is_an_error_naming_the_enum() -> None:
    log = "AXH-EXIT vm=1 vcpu=0 WaitForInterrupt\r\n"
    assert [r.exit.VARIANT for r in parse_log(log, A8, "aarch64").records] == \
        ["WaitForInterrupt"]
    err = parse_log(log, A8, "riscv64").errors
    assert len(err) == 1 and "RiscvVmExit (axvm-0.8, riscv64)" in err[0].message
