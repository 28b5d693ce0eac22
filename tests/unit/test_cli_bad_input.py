"""Bad input to any command is one line naming what is wrong, exit 1, and nothing the user gave
is overwritten: each case here was a traceback, an overwritten input or a silent acceptance
when the input audit of session 7 tried it. No QEMU starts: every one fails before that."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = {"schema": "axharness-results/1", "cases": [
    {"case": "aarch64/a", "scenario": "a", "arch": "aarch64", "verdict": "pass", "detail": "",
     "expected": [], "observed": [], "diffs": [], "image": {"recipe": "aarch64"}, "qemu": {}}]}


def axh(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, check=False, timeout=120)


def one_error_line(res: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert res.returncode == 1, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("axharness: error: "), res.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_compare_never_writes_over_one_of_its_inputs(tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    a.write_text(json.dumps(RESULTS))
    before = a.read_bytes()
    one_error_line(axh("compare", str(a), str(a), "--json", str(a)), "one of the command's inputs")
    one_error_line(axh("compare", str(a), str(a), "--markdown", str(a)), "inputs")
    assert a.read_bytes() == before


def test_a_scenario_file_that_is_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_bytes(b'arch = "aarch64"\n# caf\xe9\n')
    one_error_line(axh("list", "--scenarios", str(bad)), f"{bad}:2: not UTF-8")


@pytest.mark.parametrize("spec", ["1/1001", "1/1000000000"])
def test_a_shard_count_past_any_real_use_is_refused_at_once(spec: str, tmp_path: Path) -> None:
    one_error_line(axh("run", "--shard", spec, "--results", str(tmp_path / "r")),
                   "N <= 1000")


@pytest.mark.parametrize("scale", ["nan", "inf", "1e9"])
def test_fuzz_checks_its_timeout_scale_as_run_does(scale: str, tmp_path: Path) -> None:
    one_error_line(axh("fuzz", "--arch", "aarch64", "--timeout-scale", scale,
                       "--results", str(tmp_path)), "--timeout-scale must be")


def test_fuzz_does_not_write_over_a_previous_campaign(tmp_path: Path) -> None:
    (tmp_path / "fuzz.json").write_text("{}")
    one_error_line(axh("fuzz", "--arch", "aarch64", "--results", str(tmp_path)),
                   "fuzz.json exists; pass --force")
    assert (tmp_path / "fuzz.json").read_text() == "{}"


def test_a_replayed_program_cannot_name_a_directory_outside_the_results(tmp_path: Path) -> None:
    prog = tmp_path / "p.json"
    prog.write_text(json.dumps({"format": "axharness-fuzz-program/1", "arch": "aarch64",
                                "recipe": "aarch64", "name": "../../x", "actions": [
                                    {"type": "Hypercall", "nr": 7, "args": [0] * 6}]}))
    res = axh("fuzz", "--replay", str(prog), "--results", str(tmp_path / "r"))
    assert res.returncode == 1 and "must be letters, digits" in res.stderr, res.stderr


def test_a_cache_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    one_error_line(axh("images", "build", "--recipe", "aarch64", "--cache-dir",
                       str(tmp_path / "f")), "is not a directory")


def test_merge_refuses_a_malformed_part_before_writing_anything(tmp_path: Path) -> None:
    part = tmp_path / "p" / "results.json"
    part.parent.mkdir()
    bad = json.loads(json.dumps(RESULTS))
    bad["cases"][0]["observed"] = [1, 2]
    part.write_text(json.dumps(bad))
    one_error_line(axh("merge", str(tmp_path / "out"), str(part)),
                   "\"observed\" must be a list of objects")
    assert not (tmp_path / "out" / "results.json").exists()


def test_output_cut_short_by_its_reader_is_no_traceback() -> None:
    if shutil.which("head") is None:
        pytest.skip("no head on this host")
    res = subprocess.run(f"{sys.executable} -m harness list | head -1", shell=True, cwd=ROOT,
                         capture_output=True, text=True, check=False, timeout=120)
    assert "Traceback" not in res.stderr and "BrokenPipeError" not in res.stderr, res.stderr


def test_scenarios_that_name_no_selected_image_say_so(tmp_path: Path) -> None:
    # "no scenario matches --scenario '*'" was all a mistyped `images` name got (input audit)
    mine = tmp_path / "mine.toml"
    mine.write_text('arch = "aarch64"\n\n[[scenario]]\nname = "one"\nsummary = "a call"\n'
                    'images = ["aarch64-typo"]\n'
                    'actions = [{ type = "Hypercall", nr = 7, args = [0, 0, 0, 0, 0, 0] }]\n')
    one_error_line(axh("run", "--scenarios", str(mine), "--results", str(tmp_path / "r")),
                   "1 scenario(s) match --scenario '*', but none runs on the selected images: "
                   "they name image(s) aarch64-typo")
