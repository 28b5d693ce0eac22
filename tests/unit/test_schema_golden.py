"""The schema files and codecs against text produced by real rustc: today's golden files
(tests/unit/golden/*.txt, *.log, from gen/golden.rs) and the axvm 0.8 ones (golden/axvm-0.8,
from gen/golden_axvm08.rs), plus real consoles of axvisor 0.8.2 recorded on this machine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.schema import Exit, Form, Schema, load_schemas
from harness.schema.detect import find_records

GOLDEN = Path(__file__).parent / "golden"
NEW = GOLDEN / "axvm-0.8"
SCHEMAS = load_schemas()
NAMES = frozenset(n for s in SCHEMAS for n in s.rust_names())


def _blocks(path: Path) -> list[tuple[int, dict[Form, str]]]:
    """Per value index, its text in each of the four forms."""
    parts = re.split(r"^### (\d+) (\S+)\n", path.read_text(), flags=re.M)[1:]
    out: dict[int, dict[Form, str]] = {}
    for i in range(0, len(parts), 3):
        out.setdefault(int(parts[i]), {})[Form(parts[i + 1])] = parts[i + 2][:-1]
    assert all(len(forms) == 4 for forms in out.values())
    return sorted(out.items())


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ------------------------------------------------------------- today's generations

OLD_FORMS = [
    ("axvcpu-0.6", "debug-forms-schema-0.6.txt", "axvcpu-0.7.2-aarch64.expected.jsonl"),
    ("axvcpu-0.1", "debug-forms-schema-0.1.txt", "schema-0.1.expected.jsonl"),
]
OLD_CASES = [
    (sid, idx, texts, values)
    for sid, forms, values in OLD_FORMS
    for idx, texts in _blocks(GOLDEN / forms)
]


@pytest.mark.parametrize(("sid", "idx", "texts", "values"), OLD_CASES)
def test_codecs_render_todays_rustc_forms_byte_for_byte(
    sid: str, idx: int, texts: dict[Form, str], values: str
) -> None:
    schema = SCHEMAS.get(sid)  # one AxVCpuExitReason for every arch: any arch will do
    exit_ = schema.from_rust_json("x86_64", _jsonl(GOLDEN / values)[idx])
    for form, body in texts.items():
        assert schema.render("x86_64", exit_, form) == body
        assert schema.parse("x86_64", body, form) == (exit_, form)


OLD_LOGS = [
    ("axvcpu-0.6", "axvcpu-0.7.2-aarch64", Form.PRETTY_HEX),
    ("axvcpu-0.6", "axvcpu-0.7.2-crlf", Form.PRETTY_HEX),
    ("axvcpu-0.6", "axvcpu-0.7.2-compact", Form.DEBUG),
    ("axvcpu-0.1", "schema-0.1", Form.PRETTY_HEX),
]


@pytest.mark.parametrize(("sid", "log", "form"), OLD_LOGS)
def test_codecs_render_every_record_of_todays_golden_logs(sid: str, log: str, form: Form) -> None:
    schema = SCHEMAS.get(sid)
    data = (GOLDEN / f"{log}.log").read_bytes()
    found = find_records(data, NAMES)
    want = _jsonl(GOLDEN / f"{log}.expected.jsonl")
    assert [f.line for f in found] == [w["line"] for w in want]
    assert data.count(b"axvm::vm:623]") == len(want)
    for rec, obj in zip(found, want, strict=True):
        exit_ = schema.from_rust_json("riscv64", obj)
        assert schema.render("riscv64", exit_, form) == rec.text
        assert schema.parse("riscv64", rec.text)[0] == exit_


# ------------------------------------------------------------------------- axvm 0.8

AXVM = SCHEMAS.get("axvm-0.8")
NEW_CASES = [
    (arch, idx, texts)
    for arch in AXVM.arches
    for idx, texts in _blocks(NEW / f"debug-forms-{arch}.txt")
]


def _new_value(arch: str, idx: int) -> Exit:
    return AXVM.from_rust_json(arch, _jsonl(NEW / f"values-{arch}.jsonl")[idx])


@pytest.mark.parametrize(("arch", "idx", "texts"), NEW_CASES)
def test_axvm08_codecs_render_rustc_forms_byte_for_byte(
    arch: str, idx: int, texts: dict[Form, str]
) -> None:
    for form, body in texts.items():
        assert AXVM.render(arch, _new_value(arch, idx), form) == body


@pytest.mark.parametrize(("arch", "idx", "texts"), NEW_CASES)
def test_axvm08_rustc_forms_parse_back_to_the_rust_programs_values(
    arch: str, idx: int, texts: dict[Form, str]
) -> None:
    exit_ = _new_value(arch, idx)
    for form, body in texts.items():
        assert AXVM.parse(arch, body, form) == (exit_, form)
        # Pretty forms are told apart by the text; compact `{:x?}` and `{:?}` cannot be (`10`).
        detected, used = AXVM.parse(arch, body, None if form.pretty else form)
        assert detected == exit_
        assert AXVM.render(arch, exit_, used) == body  # pretty forms without hex ints coincide


def test_axvm08_forms_cover_every_variant_of_every_arch() -> None:
    for arch in AXVM.arches:
        seen = {_new_value(arch, i).kind for i in range(len(_jsonl(NEW / f"values-{arch}.jsonl")))}
        assert seen == set(AXVM.kinds(arch))


@pytest.mark.parametrize("arch", AXVM.arches)
@pytest.mark.parametrize("kind", ["sync", "trace"])
def test_axvm08_golden_logs_yield_exactly_the_expected_records(arch: str, kind: str) -> None:
    data = (NEW / f"{kind}-{arch}.log").read_bytes()
    found = find_records(data, NAMES)
    want = _jsonl(NEW / f"{kind}-{arch}.expected.jsonl")
    assert [f.line for f in found] == [w["line"] for w in want]
    ids = ("vm", "vcpu") if kind == "sync" else ("cpu", "task")
    for rec, obj in zip(found, want, strict=True):
        assert (getattr(rec, ids[0]), getattr(rec, ids[1])) == (obj[ids[0]], obj[ids[1]])
        exit_, form = AXVM.parse(arch, rec.text)
        assert (exit_, form) == (AXVM.from_rust_json(arch, obj), Form.PRETTY_HEX)
        assert AXVM.render(arch, exit_, Form.PRETTY_HEX) == rec.text


def test_machine_exit_is_in_the_schema_but_marked_never_logged() -> None:
    machine = AXVM.variant("riscv64", "RiscvMachineExit")
    assert (machine.rust, machine.logged) == ("Machine", False)
    assert "Machine" not in (NEW / "trace-riscv64.log").read_text()


def _real(schema: Schema, name: str) -> list[Exit]:
    found = find_records((NEW / "real" / name).read_bytes(), NAMES)
    return [schema.parse("aarch64" if "aarch64" in name else "riscv64", f.text)[0] for f in found]


def test_real_aarch64_sync_exit_console_parses_whole() -> None:
    exits = _real(AXVM, "console-aarch64-sync-exit.log")
    assert len(exits) == 78
    assert {e.kind for e in exits[:-1]} == {"MmioRead", "MmioWrite", "Nothing"}  # UART, host IRQ
    assert exits[-1] == Exit("Hypercall", {"nr": 0x8400_0008, "args": (0, 0x91, 0, 0, 0, 0)})


def test_real_riscv64_lossy_trace_console_parses_whole() -> None:
    exits = _real(AXVM, "console-riscv64-lossy-trace.log")
    assert len(exits) == 22
    assert exits[-1] == Exit("SystemDown", {})
    assert exits[0].attrs["addr"] == 0x1000_0000  # RiscvGuestPhysAddr( 0x10000000, ) over 3 lines
