"""The whole parse path (scanner, fast path, reference path) against text produced by real
rustc (tests/unit/golden/gen): the axvcpu generations' forms and logs, and the current line's
(golden/axvm-0.8: every variant of ArmVmExit, RiscvVmExit and X86VmExit in the four forms, and
logs in both framings of axvisor 0.8.2, synchronous `AXH-EXIT` and ax-log 0.6.1 trace)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.model.convert import from_canonical
from harness.model.exits import ExitReason
from harness.model.schemas import schema
from harness.parse.axlog import parse_log
from harness.parse.fast import FastParser
from harness.parse.render import DebugForm, parse_exit, render_exit
from harness.schema import Schema

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = {"0.6": S06, "0.1": S01}


def _values(gen: Schema, name: str, arch: str = "aarch64") -> list[ExitReason]:
    """The values of a golden JSON file (Rust names, as the generator writes them)."""
    lines = (GOLDEN / name).read_text().splitlines()
    return [from_canonical(gen.from_rust_json(arch, json.loads(line))) for line in lines]


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
    "0.6": _values(S06, "axvcpu-0.7.2-aarch64.expected.jsonl"),
    "0.1": _values(S01, "schema-0.1.expected.jsonl"),
}


@pytest.mark.parametrize(("schema", "idx", "form", "body"), CASES)
def test_renderer_reproduces_rustc_debug_output(
    schema: str, idx: int, form: DebugForm, body: str
) -> None:
    assert render_exit(EXPECTED[schema][idx], SCHEMA[schema], "aarch64", form) == body


@pytest.mark.parametrize(("schema", "idx", "form", "body"), CASES)
def test_reference_and_fast_parsers_read_rustc_output(
    schema: str, idx: int, form: DebugForm, body: str
) -> None:
    gen = SCHEMA[schema]
    exit_, used = parse_exit(body, gen, "aarch64", None if form.pretty else form)
    assert exit_ == EXPECTED[schema][idx]
    # Records without hex-flag integers (IoRead, Halt...) look the same in both pretty forms.
    assert used is form or render_exit(exit_, gen, "aarch64", used) == body
    assert FastParser(gen, "aarch64", form).parse(exit_.VARIANT, body) == EXPECTED[schema][idx]


@pytest.mark.parametrize(
    ("log", "gen"),
    [
        ("axvcpu-0.7.2-aarch64", S06),
        ("axvcpu-0.7.2-crlf", S06),
        ("axvcpu-0.7.2-compact", S06),
        ("schema-0.1", S01),
    ],
)
def test_golden_log_yields_exactly_the_expected_records(log: str, gen: Schema) -> None:
    result = parse_log((GOLDEN / f"{log}.log").read_bytes(), gen, "aarch64", log)
    assert result.errors == ()
    want = (GOLDEN / f"{log}.expected.jsonl").read_text().splitlines()
    assert [r.first_line for r in result.records] == [json.loads(x)["line"] for x in want]
    assert [r.exit for r in result.records] == _values(gen, f"{log}.expected.jsonl")


def test_golden_log_prefix_fields_are_read() -> None:
    result = parse_log((GOLDEN / "axvcpu-0.7.2-aarch64.log").read_bytes(), S06, "aarch64")
    first = result.records[0].prefix
    assert first is not None
    assert (first.module, first.source_line) == ("axvm::vm", 623)
    assert (first.cpu, first.task) == (0, 5)
    assert first.time_us == 101234  # generator: t = 100000 + 1234
    first_record = result.records[0]  # Hypercall {, nr, args [, 6 args, ], }
    assert first_record.last_line - first_record.first_line == 10


# ---------------------------------------------------------------- the current line (axvm 0.8)

A8 = schema("axvm-0.8")
NEW = GOLDEN / "axvm-0.8"
ARCHES = ("aarch64", "riscv64", "x86_64")


def _new_blocks(arch: str) -> list[tuple[int, DebugForm, str]]:
    text = (NEW / f"debug-forms-{arch}.txt").read_text()
    parts = re.split(r"^### (\d+) (\S+)\n", text, flags=re.M)[1:]
    return [(int(parts[i]), DebugForm(parts[i + 1]), parts[i + 2][:-1])
            for i in range(0, len(parts), 3)]


NEW_VALUES = {a: _values(A8, f"axvm-0.8/values-{a}.jsonl", a) for a in ARCHES}
NEW_CASES = [(a, idx, form, body) for a in ARCHES for idx, form, body in _new_blocks(a)]


@pytest.mark.parametrize(("arch", "idx", "form", "body"), NEW_CASES)
def test_every_current_line_form_reads_back_through_both_paths(
    arch: str, idx: int, form: DebugForm, body: str
) -> None:
    want = NEW_VALUES[arch][idx]
    assert render_exit(want, A8, arch, form) == body
    exit_, used = parse_exit(body, A8, arch, None if form.pretty else form)
    assert exit_ == want
    assert used is form or render_exit(exit_, A8, arch, used) == body
    rust = A8.rust_name(arch, want.VARIANT)
    assert FastParser(A8, arch, form).parse(rust, body) == want


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("framing", ["sync", "trace"])
def test_current_line_logs_yield_exactly_the_expected_records(arch: str, framing: str) -> None:
    log = NEW / f"{framing}-{arch}.log"
    result = parse_log(log.read_bytes(), A8, arch, str(log))
    assert result.errors == ()
    want = [json.loads(x) for x in (NEW / f"{framing}-{arch}.expected.jsonl").read_text()
            .splitlines()]
    assert [r.first_line for r in result.records] == [w["line"] for w in want]
    assert [r.exit for r in result.records] == \
        [from_canonical(A8.from_rust_json(arch, w)) for w in want]
    if framing == "sync":  # the record names its VM and vCPU; there is no log prefix
        assert [(r.vm, r.vcpu, r.prefix) for r in result.records] == \
            [(w["vm"], w["vcpu"], None) for w in want]
    else:  # ax-log 0.6.1's prefix, the module path coloured
        assert [(r.vm, r.vcpu) for r in result.records] == [(None, None)] * len(want)
        assert [(r.cpu, r.prefix and r.prefix.task) for r in result.records] == \
            [(w["cpu"], w.get("task")) for w in want]


@pytest.mark.parametrize(("arch", "kind", "records"), [
    ("aarch64", "sync-exit", 78), ("riscv64", "lossy-trace", 22)])
def test_real_axvisor_0_8_2_consoles_parse_without_errors(arch: str, kind: str,
                                                          records: int) -> None:
    log = NEW / "real" / f"console-{arch}-{kind}.log"
    result = parse_log(log.read_bytes(), A8, arch, str(log))
    assert result.errors == ()
    assert len(result.records) == records


def test_a_current_line_log_read_with_an_old_schema_is_errors_not_silence() -> None:
    # the first letters of GicCpuInterface*, DeactivateInterrupt and WaitForInterrupt were not
    # in the old scanner's guard, and its prefix pattern missed ax-log 0.6.1's colour code
    result = parse_log((NEW / "trace-aarch64.log").read_bytes(), S06, "aarch64")
    assert len(result.errors) + len(result.records) == 21 and result.errors
