"""`axharness parse`: JSON lines on stdout, errors on stderr, exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

GOLDEN = Path(__file__).parent / "golden"
HEAD = "\x1b[37m[  1.000000 0:5 axvm::vm:623] \x1b[90m"


def test_parse_prints_one_json_object_per_record(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["parse", str(GOLDEN / "axvcpu-0.7.2-aarch64.log")])
    out = capsys.readouterr().out.splitlines()
    assert rc == 0
    want = (GOLDEN / "axvcpu-0.7.2-aarch64.expected.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in out] == [json.loads(x) for x in want]
    assert list(json.loads(out[0])) == ["line", "variant", "fields"]


def test_parse_old_schema_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(GOLDEN / "schema-0.1.log"), "--axvcpu", "schema:0.1"]) == 0
    # the same log read as 0.7.2 fails: MmioRead lacks signed_ext, SysRegRead has a bare usize
    assert main(["parse", str(GOLDEN / "schema-0.1.log")]) == 2


def test_parse_errors_go_to_stderr_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "bad.log"
    log.write_text("x\n" + HEAD + "Halt\x1b[m\n" + HEAD + "CpuDown { _state: -1 }\x1b[m\n")
    rc = main(["parse", str(log)])
    cap = capsys.readouterr()
    assert rc == 2
    assert [json.loads(x)["variant"] for x in cap.out.splitlines()] == ["Halt"]
    assert cap.err.startswith(f"{log}:3:59: error: ")  # 40 + len("CpuDown { _state: ") + 1


def test_missing_log_is_a_usage_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.log"
    assert main(["parse", str(missing)]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "Traceback" not in err


def test_unknown_axvcpu_version_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(GOLDEN / "schema-0.1.log"), "--axvcpu", "9.9"]) == 1
    assert "axvcpu version" in capsys.readouterr().err


def test_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(tmp_path)]) == 1
