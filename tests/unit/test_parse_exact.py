"""Exactness of the scanner: each record once, no record made of a malformed message, errors
at the line where a record's text stops, huge numbers as ordinary range errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.cli import main
from harness.model.exits import Halt, Nothing, SystemDown
from harness.model.schemas import schema
from harness.parse.axlog import LogScanner, ParseResult, format_log_line, parse_log
from harness.parse.render import DebugForm, render_exit

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

G6 = S06
GOLDEN = Path(__file__).parent / "golden"
# 40 characters: a message starts at column 41
HEAD = "\x1b[37m[  1.000000 0:5 axvm::vm:623] \x1b[90m"
NEXT = "\x1b[37m[  1.000001 0:1 axvm::vm:1] \x1b[90m"
CUT_NPF = "NestedPageFault {\n    addr: GPA:0xa0000,\n"


def _chunked(data: bytes, cuts: list[int]) -> ParseResult:
    scanner = LogScanner(G6, "aarch64")
    for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
        scanner.feed(data[a:b])
    return scanner.finish()


def test_record_before_a_cut_record_on_the_same_line_comes_out_once() -> None:
    log = HEAD + "Nothing\x1b[m" + NEXT + CUT_NPF
    result = parse_log(log, G6, "aarch64")
    assert [r.exit for r in result.records] == [Nothing()]
    assert [(e.line, "truncated record" in e.message) for e in result.errors] == [(2, True)]


def test_record_before_a_cut_record_comes_out_once_at_every_chunk_boundary() -> None:
    data = (HEAD + "Nothing\x1b[m" + NEXT + CUT_NPF).encode()
    whole = parse_log(data, G6, "aarch64")
    for cut in range(len(data) + 1):
        assert _chunked(data, [cut]) == whole, cut


def test_cli_prints_the_record_before_a_cut_record_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "cut.log"
    log.write_text(HEAD + "Nothing\x1b[m" + NEXT + CUT_NPF)
    assert main(["parse", str(log), "--axvcpu", "0.5.9"]) == 2
    cap = capsys.readouterr()
    assert [json.loads(x)["variant"] for x in cap.out.splitlines()] == ["Nothing"]
    assert cap.err.startswith(f"{log}:2:")


@pytest.mark.parametrize(
    "message",
    ["Halt(123)", "Nothing{", "Halt(", "Nothing {", "Halt()", "SystemDown{}", "Halt {}"],
)
def test_unit_variant_followed_by_brackets_is_an_error_not_a_record(message: str) -> None:
    result = parse_log(HEAD + message + "\x1b[m\n", G6, "aarch64")
    assert result.records == ()
    assert len(result.errors) == 1
    assert result.errors[0].line == 1


def test_repeated_unit_variant_with_parenthesis_makes_up_no_records() -> None:
    result = parse_log("[  1.000000 0:1 a:1] Halt(" * 50, G6, "aarch64")
    assert result.records == ()
    assert len(result.errors) == 50
    assert {e.line for e in result.errors} == {1}


def test_unit_variant_ended_by_the_next_log_line_is_a_record() -> None:
    log = HEAD + "Halt" + NEXT + "SystemDown\x1b[m\n"
    assert [r.exit for r in parse_log(log, G6, "aarch64").records] == [Halt(), SystemDown()]


@pytest.mark.parametrize(
    "number", ["1" * 4301, "9" * 25, "18446744073709551616", "0x" + "f" * 17, "0x" + "f" * 5000]
)
def test_integer_too_large_for_64_bits_is_an_out_of_range_error(number: str) -> None:
    form = "pretty" if number.startswith("0x") else "compact"
    if form == "pretty":
        text = f"ExternalInterrupt {{\n    vector: {number},\n}}"
    else:
        text = f"ExternalInterrupt {{ vector: {number} }}"
    result = parse_log(HEAD + text + "\x1b[m\n", G6, "aarch64")
    assert result.records == ()
    assert len(result.errors) == 1
    err = result.errors[0]
    assert "out of range" in err.message and "internal" not in err.message
    assert (err.line, err.column) == ((2, 13) if form == "pretty" else (1, 41 + 28))


def test_truncated_record_is_reported_at_its_last_line_not_past_the_end() -> None:
    for tail in ("\n", ""):
        log = HEAD + CUT_NPF[:-1] + tail
        result = parse_log(log, G6, "aarch64")
        assert [(e.line, e.column) for e in result.errors] == [(2, 23)], repr(tail)
        assert "truncated record" in result.errors[0].message


def test_record_cut_on_its_first_line_is_reported_after_the_brace() -> None:
    result = parse_log(HEAD + "MmioRead {", G6, "aarch64")
    assert [(e.line, e.column) for e in result.errors] == [(1, 41 + len("MmioRead {"))]


def test_record_interrupted_by_the_next_log_line_is_reported_where_its_text_stops() -> None:
    log = HEAD + CUT_NPF + "    access_fl" + NEXT + "Halt\x1b[m\n"
    result = parse_log(log, G6, "aarch64")
    assert [r.exit for r in result.records] == [Halt()]
    assert [r.first_line for r in result.records] == [3]
    assert [(e.line, e.column) for e in result.errors] == [(3, 14)]
    assert "next log line" in result.errors[0].message


def test_record_followed_by_a_log_line_instead_of_its_brace_is_reported_at_its_last_line() -> None:
    log = HEAD + CUT_NPF + format_log_line("Halt", 5)
    result = parse_log(log, G6, "aarch64")
    assert [(r.first_line, r.exit) for r in result.records] == [(3, Halt())]
    assert [(e.line, e.column) for e in result.errors] == [(2, 23)]
    assert "next log line" in result.errors[0].message


def test_record_followed_by_guest_output_is_reported_at_its_last_line() -> None:
    log = HEAD + CUT_NPF + "guest output\n"
    result = parse_log(log, G6, "aarch64")
    assert [(e.line, e.column) for e in result.errors] == [(2, 23)]
    assert "'guest output'" in result.errors[0].message


def _integer_spans(text: str) -> list[tuple[int, int]]:
    """Where the integers of a {:#x?} or {:#?} record are: `0x…` tokens (GPA's and flag bits
    included) and decimal ones."""
    return [m.span() for m in re.finditer(r"0x[0-9a-f]+|(?<![0-9A-Za-z_])[0-9]+", text)]


@pytest.mark.parametrize("form", [DebugForm.PRETTY_HEX, DebugForm.PRETTY])
def test_hex_token_without_digits_is_an_error_on_its_own_line(form: DebugForm) -> None:
    golden = parse_log((GOLDEN / "axvcpu-0.7.2-aarch64.log").read_bytes(), G6, "aarch64")
    checked = 0
    for rec in golden.records:
        text = render_exit(rec.exit, G6, "aarch64", form)
        for i, j in _integer_spans(text):
            broken = text[:i] + "0x" + text[j:]
            result = parse_log("boot\n" + format_log_line(broken, 1), G6, "aarch64")
            want_line = 2 + text.count("\n", 0, i)
            assert result.records == ()
            assert [e.line for e in result.errors] == [want_line], (broken, result.errors)
            at = i  # the number itself, also inside GPA:0x…, Port(…), SysRegAddr(…)
            col = at - (text.rfind("\n", 0, at) + 1) + 1
            if want_line == 2:
                col += 40
            assert result.errors[0].column == col, (broken, result.errors)
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("ids", [("1" * 4301, "0"), ("0", "18446744073709551616"),
                                 ("99999999999999999999", "0")])
def test_sync_record_with_an_id_beyond_usize_is_an_error_not_an_exception(
        ids: tuple[str, str]) -> None:
    # The fuzzer found int() of a 4,301-digit vm id raising ValueError out of parse_log.
    vm, vcpu = ids
    log = f"\x1b[0m\r\nAXH-EXIT vm={vm} vcpu={vcpu} Halt\r\nAXH-EXIT vm=1 vcpu=0 SystemDown\r\n"
    result = parse_log(log, schema("axvm-0.8"), "riscv64")
    assert [r.exit for r in result.records] == [SystemDown()]
    (err,) = result.errors
    assert "id out of range" in err.message and err.line == 2
