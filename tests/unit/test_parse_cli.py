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
    want = [json.loads(x) for x in
            (GOLDEN / "axvcpu-0.7.2-aarch64.expected.jsonl").read_text().splitlines()]
    for w in want:  # the golden file has Rust names; the output canonical attributes
        w["fields"] = {("state" if k == "_state" else k): v for k, v in w["fields"].items()}
    assert [json.loads(x) for x in out] == want
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
    assert "no single schema for axvcpu 9.9: known are axvcpu-0.1" in capsys.readouterr().err


def test_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(tmp_path)]) == 1


NEW = GOLDEN / "axvm-0.8"


@pytest.mark.parametrize("option", [["--axvisor", "0.8.2"], ["--axvm", "0.8.5"],
                                    ["--schema", "axvm-0.8"]])
def test_the_current_line_is_named_by_axvisor_axvm_or_schema_with_its_arch(
        option: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(NEW / "sync-riscv64.log"), *option, "--arch", "riscv64"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    want = [json.loads(x) for x in (NEW / "sync-riscv64.expected.jsonl").read_text()
            .splitlines()]
    assert [(o["line"], o["vm"], o["vcpu"]) for o in out] == \
        [(w["line"], w["vm"], w["vcpu"]) for w in want]
    # canonical kinds: RiscvVmExit::SendIpi is SendIPIHartMask
    assert "SendIPIHartMask" in {o["variant"] for o in out}


def test_a_per_architecture_schema_needs_the_arch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(NEW / "sync-riscv64.log"), "--axvm", "0.8.5"]) == 1
    assert "name --arch" in capsys.readouterr().err


def test_a_log_that_does_not_fit_says_which_schema_it_looks_like(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(NEW / "trace-aarch64.log")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].endswith("note: this looks like the axvm-0.8 aarch64 schema (21 of 21 "
                            "records parse), not axvcpu-0.6 aarch64 (3 of 21)")
    assert main(["parse", str(NEW / "trace-aarch64.log"), "--axvm", "0.8.5",
                 "--arch", "x86_64"]) == 2
    assert "this looks like the axvm-0.8 aarch64 schema" in capsys.readouterr().err
