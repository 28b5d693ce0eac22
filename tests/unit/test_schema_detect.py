"""A log that does not fit the schema it is parsed with: which known schema and arch it looks
like (for `axharness parse`'s error message)."""

from __future__ import annotations

from pathlib import Path

from harness.schema import load_schemas
from harness.schema.detect import explain, find_records, resemblances

GOLDEN = Path(__file__).parent / "golden"
SCHEMAS = load_schemas()
ALL = list(SCHEMAS)
OLD, AXVM = SCHEMAS.get("axvcpu-0.6"), SCHEMAS.get("axvm-0.8")


def test_an_axvm08_log_told_the_axvcpu_schema_names_axvm08_and_its_arch() -> None:
    log = (GOLDEN / "axvm-0.8" / "sync-aarch64.log").read_bytes()
    assert explain(log, ALL, OLD, "aarch64") == (
        "this looks like the axvm-0.8 aarch64 schema (21 of 21 records parse), "
        "not axvcpu-0.6 aarch64 (3 of 21)"
    )


def test_the_wrong_arch_of_the_right_line_is_named_too() -> None:
    log = (GOLDEN / "axvm-0.8" / "trace-x86_64.log").read_bytes()
    message = explain(log, ALL, AXVM, "riscv64")
    assert message is not None
    assert message.startswith("this looks like the axvm-0.8 x86_64 schema (25 of 25 records")


def test_an_axvcpu_log_told_the_current_line_names_the_generation() -> None:
    log = (GOLDEN / "axvcpu-0.7.2-crlf.log").read_bytes()
    assert explain(log, ALL, AXVM, "aarch64") == (
        "this looks like the axvcpu-0.6 schema (24 of 24 records parse), "
        "not axvm-0.8 aarch64 (2 of 24)"
    )
    assert explain((GOLDEN / "schema-0.1.log").read_bytes(), ALL, OLD, "x86_64") == (
        "this looks like the axvcpu-0.1 schema (15 of 15 records parse), "
        "not axvcpu-0.6 x86_64 (10 of 15)"
    )


def test_a_fitting_log_or_one_without_records_needs_no_explanation() -> None:
    assert explain((GOLDEN / "axvcpu-0.7.2-aarch64.log").read_bytes(), ALL, OLD, "x86_64") is None
    assert explain(b"Hello, world!\n", ALL, AXVM, "aarch64") is None


def test_a_log_no_schema_fits_better_says_so() -> None:
    text = (GOLDEN / "axvm-0.8" / "sync-aarch64.log").read_text()
    broken = text.replace("WaitForInterrupt", "WaitForEvent", 1).replace(
        "DeactivateInterrupt {", "DeactivateInterrupt {\r\n    bogus: 0x1,", 1)
    assert explain(broken, ALL, AXVM, "aarch64") == (
        "no known schema fits this log better than axvm-0.8 aarch64 (19 of 20 records parse)"
    )


def test_log_lines_that_merely_start_with_a_variant_name_are_not_records() -> None:
    # A real axvisor 0.8.2 console line (axvm's own debug message about the exit).
    line = (b"axvisor:$ \r\x1b[2K\x1b[37m[  0.851997 0:4294967302 \x1b[37maxvm::architecture::"
            b"exit:195] \x1b[36mHypercall [0x84000008] args [0, 91, 0, 0, 0, 0]\x1b[m\x1b[m\r\n")
    names = AXVM.rust_names()
    assert find_records(line, names) == []
    assert [r.parsed for r in resemblances(line, ALL)] == [0] * sum(len(s.arches) for s in ALL)
