"""The renderer and parser against text produced by real rustc (tests/unit/golden/gen)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.model.exits import ExitReason, Generation, exit_from_json, exit_to_json
from harness.parse.axlog import parse_log
from harness.parse.fast import FastParser
from harness.parse.render import DebugForm, render_exit
from harness.parse.rust_debug import parse_exit

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = {"0.6": Generation.G0_6, "0.1": Generation.G0_1}


def _values(gen: Generation, name: str) -> list[ExitReason]:
    lines = (GOLDEN / name).read_text().splitlines()
    return [exit_from_json(json.loads(line), gen) for line in lines]


def _blocks(schema: str) -> list[tuple[int, DebugForm, str]]:
    text = (GOLDEN / f"debug-forms-schema-{schema}.txt").read_text()
    parts = re.split(r"^### (\d+) (\S+)\n", text, flags=re.M)[1:]
    return [
        (int(parts[i]), DebugForm(parts[i + 1]), parts[i + 2][:-1])
        for i in range(0, len(parts), 3)
    ]


CASES = [
    (schema, idx, form, body)
    for schema in SCHEMA
    for idx, form, body in _blocks(schema)
]
EXPECTED = {
    "0.6": _values(Generation.G0_6, "axvcpu-0.7.2-aarch64.expected.jsonl"),
    "0.1": _values(Generation.G0_1, "schema-0.1.expected.jsonl"),
}


@pytest.mark.parametrize(("schema", "idx", "form", "body"), CASES)
def test_renderer_reproduces_rustc_debug_output(
    schema: str, idx: int, form: DebugForm, body: str
) -> None:
    assert render_exit(EXPECTED[schema][idx], SCHEMA[schema], form) == body


@pytest.mark.parametrize(("schema", "idx", "form", "body"), CASES)
def test_reference_and_fast_parsers_read_rustc_output(
    schema: str, idx: int, form: DebugForm, body: str
) -> None:
    gen = SCHEMA[schema]
    exit_, used = parse_exit(body, gen, None if form.pretty else form)
    assert exit_ == EXPECTED[schema][idx]
    # Records without hex-flag integers (IoRead, Halt...) look the same in both pretty forms.
    assert used is form or render_exit(exit_, gen, used) == body
    assert FastParser(gen, form).parse(exit_.VARIANT, body) == EXPECTED[schema][idx]


@pytest.mark.parametrize(
    ("log", "gen"),
    [
        ("axvcpu-0.7.2-aarch64", Generation.G0_6),
        ("axvcpu-0.7.2-crlf", Generation.G0_6),
        ("axvcpu-0.7.2-compact", Generation.G0_6),
        ("schema-0.1", Generation.G0_1),
    ],
)
def test_golden_log_yields_exactly_the_expected_records(log: str, gen: Generation) -> None:
    result = parse_log((GOLDEN / f"{log}.log").read_bytes(), gen, log)
    assert result.errors == ()
    got = [{"line": r.first_line, **exit_to_json(r.exit)} for r in result.records]
    want = [json.loads(x) for x in (GOLDEN / f"{log}.expected.jsonl").read_text().splitlines()]
    assert got == want


def test_golden_log_prefix_fields_are_read() -> None:
    result = parse_log((GOLDEN / "axvcpu-0.7.2-aarch64.log").read_bytes(), Generation.G0_6)
    first = result.records[0]
    assert (first.prefix.module, first.prefix.source_line) == ("axvm::vm", 623)
    assert (first.prefix.cpu, first.prefix.task) == (0, 5)
    assert first.prefix.time_us == 101234  # generator: t = 100000 + 1234
    assert first.last_line - first.first_line == 10  # Hypercall {, nr, args [, 6 args, ], }
