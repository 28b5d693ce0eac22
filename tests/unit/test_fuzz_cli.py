"""`axharness fuzz` argument mistakes: exit 1 with one line on stderr, before any QEMU runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.fuzz.generate import generate
from harness.fuzz.program import write_program


@pytest.mark.parametrize(("argv", "message"), [
    (["fuzz"], "--arch is required"),
    (["fuzz", "--arch", "riscv64", "--count", "0"], "--count must be 1..100000"),
    (["fuzz", "--arch", "riscv64", "--count", str(10**23)], "--count must be 1..100000"),
    (["fuzz", "--arch", "riscv64", "--count", str(10**10)], "--count must be 1..100000"),
    (["fuzz", "--arch", "riscv64", "--seed", "-3"], "--seed must be >= 0"),
    (["fuzz", "--arch", "riscv64", "--size", "0"], "--size must be 1.."),
    (["fuzz", "--arch", "riscv64", "-j", "0"], "--jobs must be >= 1"),
    (["fuzz", "--arch", "riscv64", "--recipe", "nope"], "no image recipe 'nope'"),
    (["fuzz", "--arch", "riscv64", "--recipe", "aarch64"], "is for aarch64, not riscv64"),
])
def test_bad_arguments_exit_1_with_one_line(argv: list[str], message: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--results", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_unknown_architecture_is_rejected_by_the_parser(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--arch", "sparc"]) == 1
    assert "invalid choice" in capsys.readouterr().err


def test_replay_of_a_missing_file_exits_1(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--replay", str(tmp_path / "absent.json")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_replay_refuses_a_program_of_another_architecture(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.json"
    write_program(path, generate("riscv64", 1, 2), "riscv64", {})
    assert json.loads(path.read_text())["arch"] == "riscv64"
    assert main(["fuzz", "--replay", str(path), "--arch", "aarch64"]) == 1
    assert "is a riscv64 program, not aarch64" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "where"), [
    (b'{"format":\n  "\xff"}', ":2:4: not UTF-8"),
    (b"[" * 50_000 + b"]" * 50_000, ":1:201: JSON nested deeper"),
])
def test_replay_of_a_binary_or_deeply_nested_file_is_one_line_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, where: str) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(content)
    assert main(["fuzz", "--replay", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}{where}" in err and err.count("\n") == 1 and "Traceback" not in err
