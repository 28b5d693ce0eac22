"""Reading user-named files as text and JSON: one UsageError naming file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.textfile import MAX_JSON_DEPTH, parse_json, read_text


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    deep_text = "[" * (MAX_JSON_DEPTH + 5) + '\\"{'
    assert parse_json('{"a": "' + deep_text + '"}', "f.json") == {"a": deep_text.replace(
        '\\"', '"')}


def test_nesting_up_to_the_limit_reads_and_one_more_level_is_refused_where_it_opens() -> None:
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json(ok, "f.json") is not None
    with pytest.raises(UsageError, match=rf"^f\.json:2:{MAX_JSON_DEPTH + 1}: JSON nested deeper"):
        parse_json("\n" + "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "f.json")


def test_a_line_of_a_jsonl_file_reports_its_own_line_number() -> None:
    with pytest.raises(UsageError, match=r"^o\.jsonl:7:3: not valid JSON"):
        parse_json("{}x", "o.jsonl", 7)


def test_a_non_utf8_byte_is_named_by_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "f.S"
    p.write_bytes("é ok\n".encode() + b"ab\x80")
    with pytest.raises(UsageError, match=r"f\.S:2:3: not UTF-8 text \(byte 0x80\)"):
        read_text(p)
    p.write_bytes("é ok\n".encode())
    assert read_text(p) == "é ok\n"
