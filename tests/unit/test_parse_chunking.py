"""Chunk invariance: the same bytes fed in any chunking give the same records and errors as
one parse_log call, also for mutated real consoles; every position lies inside the input."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.model.schemas import schema
from harness.parse.axlog import LogScanner, ParseResult, parse_log
from harness.parse.render import DebugForm
from harness.schema import Schema

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

G6 = S06
HERE = Path(__file__).parent
A8 = schema("axvm-0.8")
# A real console (QEMU 10, axvisor 0.3.0-preview.2, aarch64/mixed-sequence, CR CR LF line
# ends) cut to its exit records, the golden logs written by rustc, and the current line's:
# rustc's golden logs of both framings per architecture and two real axvisor 0.8.2 consoles.
CONSOLE = (HERE / "data" / "parse-console-aarch64.log").read_bytes()
NEW = HERE / "golden" / "axvm-0.8"
Base = tuple[bytes, Schema, str]
BASES: list[Base] = [(CONSOLE, G6, "aarch64")] + [
    (p.read_bytes(), G6, "aarch64") for p in sorted((HERE / "golden").glob("*.log"))] + [
    (p.read_bytes(), A8, p.stem.split("-")[1]) for p in sorted(NEW.glob("*.log"))] + [
    ((NEW / "real" / f"console-{arch}-{kind}.log").read_bytes(), A8, arch)
    for arch, kind in (("aarch64", "sync-exit"), ("riscv64", "lossy-trace"))]
TOKENS = [
    b"\x1b[37m[  1.000000 0:5 axvm::vm:623] \x1b[90m", b"[  2.000001 1:7 axvm::vm:1] ",
    b"Halt", b"Nothing", b"MmioRead", b"SystemDown", b" {\n", b" {", b"{", b"(", b")", b"}",
    b"\n}", b"\n    ", b"    ", b"0x", b"GPA:0x", b",", b" | ", b"[", b"]", b"Some(", b"\x1b[m",
    b"\x1b", b"\r", b"\r\n", b"\r\r\n", b"\n", b"<log truncated>", b"\xc3", b"\xa9", b"\xff",
    b"1" * 30, b"] ", b"AXH-EXIT vm=1 vcpu=0 ", b"AXH-EXIT vm=", b"\x1b[37maxvm::arch:1] ",
    b"axvisor:$ \r\x1b[2K", b"\x1b[m...[truncated]\r\n", b"GPA(0x", b"RiscvGuestPhysAddr(\n",
    b"SendIpi(", b"\x1b[0m\r\n",
]  # fmt: skip


def _chunked(data: bytes, cuts: list[int], gen: Schema = G6, arch: str = "aarch64"
             ) -> ParseResult:
    scanner = LogScanner(gen, arch)
    for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
        scanner.feed(data[a:b])
    return scanner.finish()


def _assert_inside(result: ParseResult, data: bytes) -> None:
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    for e in result.errors:
        assert 1 <= e.line <= lines and e.column >= 1, (e, lines)
        assert "internal" not in e.message, e
    for r in result.records:
        assert 1 <= r.first_line <= r.last_line <= lines


@st.composite
def mutated_consoles(draw: st.DrawFn) -> Base:
    base, sch, arch = draw(st.sampled_from(BASES))
    start = draw(st.integers(0, len(base)))
    b = bytearray(base[start : start + draw(st.sampled_from([200, 800, 3000]))])
    for op, at, size, tok in draw(
        st.lists(
            st.tuples(
                st.integers(0, 4), st.floats(0, 1), st.integers(1, 64), st.sampled_from(TOKENS)
            ),
            max_size=4,
        )
    ):
        i = int(at * len(b))
        if op == 0:
            del b[i : i + size]
        elif op == 1:
            b[i:i] = b[i : i + size]
        elif op == 2:
            b[i:i] = tok
        elif op == 3:
            b[i:i] = tok * size
        else:
            b[i : i + size] = bytes(b[i : i + size]).replace(b"\n", b"\r\n")
    return bytes(b), sch, arch


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_consoles(), st.lists(st.floats(0, 1), min_size=1, max_size=6))
def test_any_chunking_of_a_mutated_console_gives_the_same_result(
    base: Base, fractions: list[float]
) -> None:
    data, sch, arch = base
    whole = parse_log(data, sch, arch)
    _assert_inside(whole, data)
    cuts = sorted(int(f * len(data)) for f in fractions)
    assert _chunked(data, cuts, sch, arch) == whole


def _console_records() -> list[bytes]:
    """The console's exit records with their log prefix, as raw bytes."""
    out = []
    for chunk in CONSOLE.split(b"\x1b[m\x1b[37m[")[1:]:
        if b"axvm::vm:518]" in chunk:
            out.append(b"\x1b[37m[" + chunk.split(b"\x1b[m\r")[0])
    return out


RECORDS = _console_records()
SEPARATORS = [b"", b"\x1b[m", b"\n", b"\x1b[m\r\r\n\x1b[m", b"\r", b"\n\n"]


@st.composite
def glued_and_cut_records(draw: st.DrawFn) -> bytes:
    """Real records, some cut anywhere, glued to each other or separated by line ends."""
    parts = []
    for rec, cut, sep in draw(
        st.lists(
            st.tuples(st.sampled_from(RECORDS), st.integers(0, 400), st.sampled_from(SEPARATORS)),
            min_size=1,
            max_size=5,
        )
    ):
        parts.append(rec[:cut] if cut < len(rec) else rec)
        parts.append(sep)
    return b"".join(parts)


@settings(max_examples=300)
@given(glued_and_cut_records(), st.data())
def test_any_chunking_of_glued_and_cut_records_gives_the_same_result(
    data: bytes, draw: st.DataObject
) -> None:
    whole = parse_log(data, S02, "aarch64")
    _assert_inside(whole, data)
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), min_size=1, max_size=3)))
    assert _chunked(data, cuts, S02) == whole


def test_byte_by_byte_feeding_of_real_consoles_gives_the_same_result() -> None:
    for base, sch, arch in BASES:
        whole = parse_log(base, sch, arch)
        assert _chunked(base, list(range(1, len(base))), sch, arch) == whole


def test_real_console_yields_its_exit_records_whole_and_in_chunks() -> None:
    # The records are the messages of axvm::vm:518 (its trace of the exit reason).
    want = [i + 1 for i, ln in enumerate(CONSOLE.split(b"\n")) if b"axvm::vm:518] " in ln]
    result = parse_log(CONSOLE, S02, "aarch64")
    assert result.errors == ()
    assert [r.first_line for r in result.records] == want
    assert _chunked(CONSOLE, [len(CONSOLE) // 3, len(CONSOLE) // 2], S02) == result


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=5))
def test_any_chunking_of_random_bytes_gives_the_same_result(data: bytes, cuts: list[int]) -> None:
    whole = parse_log(data, G6, "aarch64", compact_form=DebugForm.DEBUG_HEX)
    _assert_inside(whole, data)
    scanner = LogScanner(G6, "aarch64", compact_form=DebugForm.DEBUG_HEX)
    bounds = sorted(min(c, len(data)) for c in cuts)
    for a, b in zip([0, *bounds], [*bounds, len(data)], strict=True):
        scanner.feed(data[a:b])
    assert scanner.finish() == whole


def test_runs_of_carriage_returns_before_a_newline_fold_at_any_chunk_boundary() -> None:
    for k in range(1, 6):
        cr = "\r" * k
        log = f"boot{cr}\n\x1b[37m[  1.000000 0:5 axvm::vm:623] \x1b[90mMmioWrite {{{cr}\n"
        log += f"    addr: GPA:0x10,{cr}\n    width: Byte,{cr}\n    data: 0x1,{cr}\n}}\x1b[m{cr}\n"
        data = (log + f"x\r{cr}\n").encode()
        whole = parse_log(data, G6, "aarch64")
        assert [(r.first_line, r.last_line) for r in whole.records] == [(2, 6)], k
        assert whole.errors == ()
        for cut in range(len(data) + 1):
            assert _chunked(data, [cut]) == whole, (k, cut)
