"""Benchmark (not a test): scan a ≥100 MB synthetic axvisor log and compare with json.loads;
with --pathological, 64 KiB pathological inputs against 64 KiB of ordinary log lines.

Of the log's messages, 70 % are ordinary log lines (info/debug/warn), 20 % guest output and
10 % exit records ({:#x?} as axvm traces them, several lines each), so about a third of the
lines belong to exit records and two thirds do not.  The
baseline is json.loads over the same records written as JSON lines (the CLI's output form), i.e.
the cost of reading the records if they had been logged as JSON instead.  Times are process
CPU times, best of --repeat interleaved runs; both sides keep the objects they build.

    .venv/bin/python bench/bench_parse.py [--mb 100] [--out bench/results/parse.json]
    .venv/bin/python bench/bench_parse.py --pathological   # → bench/results/parse-pathological.json
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
from pathlib import Path

from harness.model.convert import exit_to_json
from harness.model.exits import (
    CpuUp,
    ExitReason,
    ExternalInterrupt,
    Halt,
    Hypercall,
    InterruptEnd,
    IoRead,
    IoWrite,
    MmioRead,
    MmioWrite,
    NestedPageFault,
    Nothing,
    SendIPI,
    SysRegRead,
    SysRegWrite,
)
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr, MappingFlags, Port, SysRegAddr
from harness.parse.axlog import format_log_line, parse_log
from harness.parse.render import DebugForm, render_exit

GEN = schema("axvcpu-0.6")

NOISE = [
    ("axvisor::vmm::vcpus", 412, 36, "VM[1] VCpu[0] handling exit"),
    ("axvisor::vmm", 88, 32, "VM[1] boot complete, entering run loop"),
    ("axdevice", 140, 36, "emu_device handle_mmio_read addr 0x9000018 width 4"),
    ("axtask::run_queue", 210, 36, "task yield: axvisor-vcpu-1-0"),
    ("axvm::vm", 700, 33, "vCPU 0 got an unexpected interrupt 27, ignoring"),
]
GUEST = [
    "Hello from the guest!",
    "[    0.000000] Booting Linux on physical CPU 0x0",
    "ok 12 - mmio",
]

UNITS: list[ExitReason] = [Halt(), Nothing()]


def _random_exit(rnd: random.Random) -> ExitReason:
    k = rnd.random()
    w = rnd.choice(list(AccessWidth))
    if k < 0.35:
        addr = GuestPhysAddr(0x900_0000 + rnd.randrange(0, 64, 4))
        return MmioWrite(addr, w, rnd.getrandbits(32))
    if k < 0.60:
        return MmioRead(GuestPhysAddr(0x900_0018), w, rnd.randrange(31), AccessWidth.Qword, False)
    if k < 0.70:
        return ExternalInterrupt(rnd.choice([27, 30, 33]))
    if k < 0.76:
        return SysRegWrite(SysRegAddr(0x3A3016), rnd.getrandbits(64))
    if k < 0.80:
        return SysRegRead(SysRegAddr(0x33_0000 + rnd.randrange(64)), rnd.randrange(31))
    if k < 0.84:
        return Hypercall(rnd.getrandbits(32), tuple(rnd.getrandbits(64) for _ in range(6)))  # type: ignore[arg-type]
    if k < 0.87:
        return IoWrite(Port(0x3F8), AccessWidth.Byte, rnd.getrandbits(8))
    if k < 0.89:
        return IoRead(Port(0x3FD), AccessWidth.Byte)
    if k < 0.91:
        return NestedPageFault(GuestPhysAddr(rnd.getrandbits(40)), MappingFlags(rnd.randrange(8)))
    if k < 0.93:
        return InterruptEnd(rnd.choice([None, 0x20, 0x21]))
    if k < 0.95:
        return SendIPI(rnd.randrange(4), 0, False, False, 1)
    if k < 0.97:
        return CpuUp(rnd.randrange(4), GuestPhysAddr(0x4008_0000), 0)
    return rnd.choice(UNITS)


def build_log(target_bytes: int, seed: int = 1) -> tuple[bytes, list[dict[str, object]]]:
    """The synthetic log and the expected records in CLI JSON form."""
    rnd = random.Random(seed)
    parts: list[str] = []
    expected: list[dict[str, object]] = []
    size = 0
    line = 1
    t = 0
    while size < target_bytes:
        t += rnd.randrange(1, 500)
        r = rnd.random()
        if r < 0.70:  # ordinary log lines
            mod, src, color, msg = rnd.choice(NOISE)
            s = format_log_line(msg, t, mod, src, cpu=rnd.randrange(2), task=5, level_color=color)
            nl = 1
        elif r < 0.90:
            s = rnd.choice(GUEST) + "\n"
            nl = 1
        else:
            e = _random_exit(rnd)
            text = render_exit(e, GEN, "aarch64", DebugForm.PRETTY_HEX)
            s = format_log_line(text, t, cpu=rnd.randrange(2), task=5)
            expected.append({"line": line, **exit_to_json(e)})
            nl = text.count("\n") + 1
        parts.append(s)
        size += len(s)
        line += nl
    return "".join(parts).encode(), expected


K64 = 65536
BARE = "[  1.000000 0:1 a:1] "  # a prefix without colours, cpu:task or a long module


def _fill(unit: str, head: str = "", tail: str = "") -> bytes:
    return (head + unit * ((K64 - len(head) - len(tail)) // len(unit)) + tail).encode()


def _records_only(form: DebugForm | None) -> bytes:
    """64 KiB where every log line is an exit record (form None: unit variants only)."""
    rnd = random.Random(2)
    parts: list[str] = []
    size = t = 0
    while size < K64:
        e = rnd.choice(UNITS) if form is None else _random_exit(rnd)
        s = format_log_line(render_exit(e, GEN, "aarch64", form or DebugForm.DEBUG), t)
        parts.append(s)
        size += len(s)
        t += 7
    text = "".join(parts)
    return text[: text.rfind("\n", 0, K64) + 1].encode()


def ordinary_logs() -> dict[str, bytes]:
    """64 KiB of well-formed log lines, from the benchmark mix to the densest records."""
    mix = build_log(K64 + 4096)[0]
    return {
        "mix (70 % log lines, 20 % guest, 10 % records)": mix[: mix.rfind(b"\n", 0, K64) + 1],
        "every line a {:#x?} record": _records_only(DebugForm.PRETTY_HEX),
        "every line a {:?} record": _records_only(DebugForm.DEBUG),
        "every line a unit record": _records_only(None),
        "every line a unit record, bare prefix": _fill(BARE + "Halt\n"),
    }


def pathological_inputs() -> dict[str, bytes]:
    """The inputs issue 13 timed (1-57 s before the fix) and others aimed at each regex."""
    return {
        "CR run then x": b"\r" * (K64 - 2) + b"x\n",
        "Halt( repeated, each with a prefix": _fill(BARE + "Halt("),
        "MmioRead { then ESC[m repeated": _fill("\x1b[m", BARE + "MmioRead {", "x"),
        "unclosed record, x continuation lines": _fill("    x\n", BARE + "MmioRead {\n"),
        "record opening on every continuation line": _fill(
            "    " + BARE + "MmioRead {\n", BARE + "MmioRead {\n"
        ),
        "'] Halt' repeated after one far '['": _fill("] Halt", "[" + "a" * 100),
        "'[' run in a one-line record": _fill("[", BARE + "MmioRead { "),
        "'[digits' continuation lines": _fill("    [1111111111111111\n", BARE + "MmioRead {\n"),
        "64 Ki-digit integer": _fill("1", BARE + "ExternalInterrupt { vector: ", " }\n"),
        "spaces after an opening brace": _fill(" ", BARE + "MmioRead {", "\n"),
        "ESC[90m run before a variant": _fill("\x1b[90m", BARE, "Halt\n"),
        "unit records glued by ESC[m": _fill(BARE + "Halt\x1b[m"),
    }


def _best_cpu(data: bytes, repeat: int) -> tuple[float, int, int]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.process_time()
        result = parse_log(data, GEN, "aarch64")
        best = min(best, time.process_time() - t0)
    assert result is not None
    return best, len(result.records), len(result.errors)


def pathological(repeat: int) -> dict[str, object]:
    """CPU time of each 64 KiB pathological input over the slowest 64 KiB ordinary log."""
    ordinary = {k: _best_cpu(v, repeat) for k, v in ordinary_logs().items()}
    worst_name = max(ordinary, key=lambda k: ordinary[k][0])
    worst = ordinary[worst_name][0]
    mix = next(iter(ordinary.values()))[0]
    cases = {}
    for name, data in pathological_inputs().items():
        secs, n_rec, n_err = _best_cpu(data, repeat)
        cases[name] = {
            "bytes": len(data),
            "ms": round(secs * 1000, 2),
            "records": n_rec,
            "errors": n_err,
            "ratio_to_slowest_ordinary": round(secs / worst, 2),
            "ratio_to_mix": round(secs / mix, 1),
        }
    return {
        "ordinary_64k_ms": {
            k: {"ms": round(v[0] * 1000, 2), "records": v[1]} for k, v in ordinary.items()
        },
        "slowest_ordinary": worst_name,
        "pathological_64k": cases,
        "max_ratio_to_slowest_ordinary": max(
            c["ratio_to_slowest_ordinary"] for c in cases.values()
        ),
        "max_ratio_to_mix": max(c["ratio_to_mix"] for c in cases.values()),
        "note": "process CPU time, best of `repeat`; a pathological input that holds thousands "
        "of malformed records costs what as many well-formed records cost (one error each)",
        "python": platform.python_version(),
        "repeat": repeat,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=100.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pathological", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.pathological:
        res = pathological(max(args.repeat, 20))
        out_path = Path(args.out or Path(__file__).parent / "results" / "parse-pathological.json")
        out_path.write_text(json.dumps(res, indent=2) + "\n")
        print(json.dumps(res, indent=2))
        return 0
    args.out = args.out or str(Path(__file__).parent / "results" / "parse.json")
    data, expected = build_log(int(args.mb * 1_000_000))
    n_lines = data.count(b"\n")
    exit_lines = len(expected)
    jsonl = [json.dumps(x) for x in expected]

    # Interleave the two measurements and keep each one's best CPU time, so that load from
    # other processes on the machine inflates neither side.  Both keep what they parse.
    best_parse = best_json = best_discard = best_nogc = float("inf")
    result = None
    for _ in range(args.repeat):
        t0 = time.process_time()
        result = parse_log(data, GEN, "aarch64", "bench.log")
        best_parse = min(best_parse, time.process_time() - t0)
        t0 = time.process_time()
        loaded = [json.loads(line) for line in jsonl]
        best_json = min(best_json, time.process_time() - t0)
        del loaded
        t0 = time.process_time()
        for line in jsonl:
            json.loads(line)
        best_discard = min(best_discard, time.process_time() - t0)
        gc.disable()  # the same treatment parse_log gives itself
        t0 = time.process_time()
        loaded = [json.loads(line) for line in jsonl]
        best_nogc = min(best_nogc, time.process_time() - t0)
        gc.enable()
        del loaded
    assert result is not None
    got = [{"line": r.first_line, **exit_to_json(r.exit)} for r in result.records]
    if result.errors or got != expected:
        print("benchmark log did not parse back exactly", file=sys.stderr)
        return 2

    mb = len(data) / 1e6
    out = {
        "log_bytes": len(data),
        "log_lines": n_lines,
        "records": len(expected),
        "parse_seconds": round(best_parse, 3),
        "parse_mb_per_s": round(mb / best_parse, 1),
        "parse_records_per_s": round(len(expected) / best_parse),
        "json_loads_seconds": round(best_json, 3),
        "json_loads_records_per_s": round(len(expected) / best_json),
        "ratio_parse_over_json_loads": round(best_parse / best_json, 2),
        # json.loads with each result dropped at once (no allocation pressure, no GC work):
        "json_loads_discarding_seconds": round(best_discard, 3),
        "ratio_parse_over_json_loads_discarding": round(best_parse / best_discard, 2),
        # json.loads keeping its results with the cyclic GC off, as parse_log runs:
        "json_loads_gc_off_seconds": round(best_nogc, 3),
        "ratio_parse_over_json_loads_gc_off": round(best_parse / best_nogc, 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "repeat": args.repeat,
    }
    out["exit_records_per_100_lines"] = round(100 * exit_lines / n_lines, 1)
    record_lines = sum(r.last_line - r.first_line + 1 for r in result.records)
    out["exit_record_lines_percent"] = round(100 * record_lines / n_lines, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
