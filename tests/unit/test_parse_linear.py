"""Linear time: 64 KiB of pathological input parses in milliseconds (each of these took
seconds to a minute when a scan restarted at every position), also fed line by line."""

from __future__ import annotations

import time

import pytest

from harness.model.schemas import schema
from harness.parse.axlog import LogScanner, ParseResult, parse_log

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

G6 = S06
N = 65536
P = "[  1.000000 0:1 a:1] "
BUDGET = 0.5  # CPU seconds; today's worst case is about 0.01, a quadratic scan 1 to 60


def _fill(unit: str, head: str = "", tail: str = "") -> bytes:
    return (head + unit * ((N - len(head) - len(tail)) // len(unit)) + tail).encode()


CASES = {
    "cr-run": b"\r" * (N - 2) + b"x\n",
    "unit-variant-with-parenthesis": _fill(P + "Halt("),
    "escape-run-after-brace": _fill("\x1b[m", P + "MmioRead {", "x"),
    "continuation-lines": _fill("    x\n", P + "MmioRead {\n"),
    "candidates-far-from-a-bracket": _fill("] Halt", "[" + "a" * 100),
    "bracket-run": _fill("[", P + "MmioRead { "),
    "digit-brackets": _fill("    [1111111111111111\n", P + "MmioRead {\n"),
    "huge-number": _fill("1", P + "ExternalInterrupt { vector: ", " }\n"),
    "record-opening-on-every-line": _fill("    " + P + "MmioRead {\n", P + "MmioRead {\n"),
    "spaces": _fill(" ", P + "MmioRead {", "\n"),
    "open-brackets-in-a-value": _fill("[", P + "ExternalInterrupt { vector: ", " }\n"),
}


def _cpu(fn: object) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        fn()  # type: ignore[operator]
        best = min(best, time.process_time() - t0)
    return best


@pytest.mark.parametrize("name", sorted(CASES))
def test_pathological_64k_input_parses_in_linear_time(name: str) -> None:
    data = CASES[name]
    assert _cpu(lambda: parse_log(data, G6, "aarch64")) < BUDGET


def test_unit_variant_with_parenthesis_line_makes_up_no_record() -> None:
    result = parse_log(CASES["unit-variant-with-parenthesis"], G6, "aarch64")
    assert result.records == ()
    assert len(result.errors) == N // len(P + "Halt(")


def _line_by_line(data: bytes) -> ParseResult:
    scanner = LogScanner(G6, "aarch64")
    for line in data.splitlines(keepends=True):
        scanner.feed(line)
    return scanner.finish()


def test_unclosed_record_fed_line_by_line_is_not_rescanned_per_line() -> None:
    data = (P + "MmioRead {\n" + "    addr: GPA:0x0,\n" * 20000).encode()  # 380 KB
    assert _cpu(lambda: _line_by_line(data)) < BUDGET
    assert _line_by_line(data) == parse_log(data, G6, "aarch64")


def test_pretty_record_unclosed_after_16k_characters_is_an_error_there() -> None:
    data = (P + "MmioRead {\n" + "    addr: GPA:0x0,\n" * 1000 + "}\n").encode()
    result = parse_log(data, G6, "aarch64")
    assert result.records == ()
    assert len(result.errors) == 1
    err = result.errors[0]
    assert "longer than 16384 characters" in err.message
    # 16384 characters from the M of MmioRead: 11 on line 1, then lines of 19
    assert err.line == 2 + (16384 - len("MmioRead {\n")) // 19


def test_a_synchronous_tag_that_matches_nothing_does_not_slow_down_log_candidates() -> None:
    # Found by the parser fuzz after the schema wiring (0.13 s for 57 KB): with an AXH-EXIT tag
    # in the buffer but no synchronous record after the scan position, the synchronous search
    # was repeated from every log candidate to the end of the buffer (quadratic; 12x here).
    s08 = schema("axvm-0.8")
    plain = b"] Halt(" * (N // 7)
    tagged = b"AXH-EXIT vm=1 vcpu=0 Bogus " + plain
    base = _cpu(lambda: parse_log(plain, s08, "riscv64"))
    assert _cpu(lambda: parse_log(tagged, s08, "riscv64")) < 3 * base + 0.005
