"""Parser fuzz (not part of the test run): mutate windows of real serial consoles, parse each
input whole and in random chunks, and count what happens.

Every input is derived from (seed, index) alone, so a shard is resumable (its state file
holds the next index and the counters) and any input can be replayed (`--replay SEED:INDEX`).
Per input: parse_log once, classified as *parsed* (no error), *ParseError* (one or more
errors, every one inside the input: 1 <= line <= lines of the input, column >= 1, no
"internal parser error") or *other* (an exception, an internal error, a position outside the
input, a record whose text does not re-render exactly from its value: a made-up record);
then the same bytes fed to a LogScanner cut at 1-6 random places (1 % byte by byte) must
give an equal ParseResult, else a *chunk mismatch*.  Times are of the whole parse_log call:
wall clock, and CPU time for those over 2 ms; the slowest inputs are re-timed (best of 5,
CPU time) at the end of a shard.

    nice -n 19 .venv/bin/python bench/fuzz_parser.py --seed 1 --count 5000000 --minutes 55 \\
        --sources 'results/**/console.log'
    .venv/bin/python bench/fuzz_parser.py --summary      # merge shard files into parse-fuzz.json
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.model.schemas import schema, schema_set
from harness.parse.axlog import LogScanner, ParseResult, parse_log
from harness.parse.render import DebugForm, render_exit
from harness.schema import Schema

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_SOURCES = [
    str(ROOT / "tests/unit/golden/*.log"),
    str(ROOT / "tests/unit/golden/axvm-0.8/*.log"),
    str(ROOT / "tests/unit/golden/axvm-0.8/real/*.log"),
    str(ROOT / "tests/unit/data/parse-*.log"),
    "/work/shared/upstream-0.8/console-*.log",
    str(ROOT / "results/**/console.log"),
    os.path.expanduser("~/.cache/axharness/**/console.log"),
]
HEADS = [
    b"\x1b[37m[  1.000000 0:5 axvm::vm:623] \x1b[90m",
    b"\x1b[m\x1b[37m[  0.326621 0:5 axvm::vm:518] \x1b[90m",
    b"[  2.000001 1:7 axvm::vm:1] ",
    b"[  3.000001 axvm::vm:623] ",
    b"axvisor:$ \r\x1b[2K\x1b[37m[  0.729347 0:4294967302 \x1b[37maxvm::architecture::ops:225] "
    b"\x1b[90m",
    b"\x1b[0m\r\nAXH-EXIT vm=1 vcpu=0 ",
    b"AXH-EXIT vm=1 vcpu=1 ",
]
NAMES = sorted({n.encode() for s in schema_set() for n in s.rust_names()})
TOKENS = [
    *HEADS,
    *NAMES,
    b" {\n", b" {", b"{", b"(", b")", b"}", b"\n}", b"\n    ", b"    ", b"        ", b"0x",
    b"0x0", b"0x10", b"GPA:0x", b"GPA:", b",", b": ", b" | ", b"READ", b"WRITE", b"[", b"]",
    b"[\n", b"Some(", b"None", b"true", b"false", b"Byte", b"Qword", b"Port(", b"\x1b[m",
    b"\x1b[", b"\x1b", b"\r", b"\r\n", b"\r\r\n", b"\n", b"<log truncated>", b"\xc3", b"\xa9",
    b"\xff", "é".encode(), b"18446744073709551616", b"1" * 30, b"\t", b" ", b"\x00", b"] ",
    b"Halt(", b"Nothing{", b"}\x1b[m\n\x1b[m", b"GPA(0x", b"\x1b[m...[truncated]\r\n",
    b"RiscvGuestPhysAddr(\n", b"X86Port(0x", b"MSR(0x", b"ArmSysRegAddr(0x", b"Legacy",
    b"\r\x1b[2K",
]  # fmt: skip
FORMS = [DebugForm.DEBUG] * 9 + [DebugForm.DEBUG_HEX]
# process_time() is a system call here (about 60 us): inputs are timed by the wall clock and
# only those above this are timed again by CPU time.
RETIME_ABOVE = 0.002
# (schema, arch) the inputs are parsed with: the current line's three enums as often as the
# axvcpu generations together.
Gen = tuple[Schema, str]
_A8 = schema("axvm-0.8")
GENS: list[Gen] = ([(schema("axvcpu-0.6"), "aarch64")] * 4 + [(schema("axvcpu-0.2"), "aarch64")] * 2
                   + [(schema("axvcpu-0.1"), "aarch64")]
                   + [(_A8, "aarch64")] * 3 + [(_A8, "riscv64")] * 2 + [(_A8, "x86_64")] * 2)


def load_sources(patterns: list[str]) -> list[tuple[str, bytes]]:
    """Every file matching the patterns, in a stable order (name, bytes)."""
    names = sorted({p for pat in patterns for p in glob.glob(pat, recursive=True)})
    return [(n, Path(n).read_bytes()) for n in names if Path(n).is_file()]


def anchors(data: bytes) -> list[int]:
    """Offsets worth starting a window at: log prefixes that carry an exit-like name."""
    out: list[int] = []
    for name in NAMES:
        i = data.find(b"] \x1b[90m" + name)
        while i != -1 and len(out) < 4000:
            out.append(max(0, data.rfind(b"\n", 0, i) + 1))
            i = data.find(b"] \x1b[90m" + name, i + 1)
    return sorted(set(out)) or [0]


@dataclass
class Corpus:
    sources: list[tuple[str, bytes]]
    starts: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.starts = [anchors(d) for _, d in self.sources]

    def digest(self) -> str:
        h = hashlib.sha256()
        for name, data in self.sources:
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()[:16]


def _window(rnd: random.Random, corpus: Corpus) -> bytes:
    k = rnd.randrange(len(corpus.sources))
    data = corpus.sources[k][1]
    start = rnd.choice(corpus.starts[k]) if rnd.random() < 0.85 else rnd.randrange(len(data))
    start = max(0, start - rnd.choice([0, 0, 0, 10, 200]))
    return data[start : start + rnd.choice([300, 600, 1200, 2400])]


def mutate(rnd: random.Random, corpus: Corpus) -> bytes:
    """One input: a window of a console with 0-5 mutations."""
    b = bytearray(_window(rnd, corpus))
    for _ in range(rnd.choice([0, 1, 1, 2, 2, 3, 5])):
        n = len(b)
        i = rnd.randrange(n + 1)
        j = min(n, i + rnd.choice([1, 1, 2, 4, 16, 64]))
        op = rnd.randrange(12)
        if op == 0:
            del b[i:j]
        elif op == 1:
            b[i:i] = b[i:j]
        elif op in (2, 3, 4):
            b[i:i] = rnd.choice(TOKENS)
        elif op == 5 and n:
            b[min(i, n - 1)] = rnd.randrange(256)
        elif op == 6:
            b[i:i] = rnd.randbytes(rnd.randrange(1, 9))
        elif op == 7:
            b[i:i] = _window(rnd, corpus)[: rnd.randrange(1, 400)]
        elif op == 8:  # long repetition: the linear-time cases
            tok = rnd.choice([*TOKENS, b"] Halt(", b"[  1.000000 0:1 a:1] Halt("])
            b[i:i] = tok * rnd.choice([10, 100, 1000, 4000])
            del b[65536:]
        elif op == 9:
            del b[i:]
        elif op == 10:
            b[i:j] = bytes(b[i:j]).replace(b"\n", rnd.choice([b"\r\n", b"\r\r\n", b"", b"\n\n"]))
        else:  # a digit run made long
            while j < n and chr(b[j]) in "0123456789abcdef":
                j += 1
            b[i:j] = rnd.choice([b"9" * 25, b"1" * 4301, b"f" * 20, b"0" * 30, b""])
    return bytes(b)


def input_for(seed: int, index: int, corpus: Corpus) -> tuple[bytes, Gen, DebugForm]:
    rnd = random.Random((seed << 40) | index)
    return mutate(rnd, corpus), rnd.choice(GENS), rnd.choice(FORMS)


def _cuts(rnd: random.Random, n: int) -> list[int]:
    if rnd.random() < 0.01:
        return list(range(1, n))
    return sorted(rnd.randrange(n + 1) for _ in range(rnd.randrange(1, 7)))


def chunked(data: bytes, gen: Gen, form: DebugForm, cuts: list[int]) -> ParseResult:
    scanner = LogScanner(*gen, "<log>", form)
    for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
        scanner.feed(data[a:b])
    return scanner.finish()


def outside(result: ParseResult, data: bytes, gen: Gen) -> str | None:
    """A record or error position outside the input, an internal error, or a record whose
    text is not exactly Rust's rendering of its value (a made-up record)."""
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    for e in result.errors:
        if "internal" in e.message:
            return f"internal: {e}"
        if not (1 <= e.line <= lines and e.column >= 1):
            return f"position outside the input ({lines} lines): {e}"
    for r in result.records:
        if not 1 <= r.first_line <= r.last_line <= lines:
            return f"record lines {r.first_line}-{r.last_line} outside {lines} lines"
        if render_exit(r.exit, *gen, r.form) != r.text:
            return f"record at line {r.first_line} is not Rust's {r.form.value}: {r.text!r}"
    return None


def check(seed: int, index: int, corpus: Corpus) -> tuple[str, bool, float, int, str, int]:
    """(class, chunk mismatch, seconds, size, note, records) for one input."""
    data, gen, form = input_for(seed, index, corpus)
    t0 = time.perf_counter()
    try:
        whole = parse_log(data, *gen, "<log>", form)
    except Exception as exc:  # the point of the fuzz: count, never stop
        return "other", False, time.perf_counter() - t0, len(data), repr(exc), 0
    secs = time.perf_counter() - t0
    if secs > RETIME_ABOVE:  # wall time may include a preemption: take the CPU time
        secs = retime(seed, index, corpus, 1)
    bad = outside(whole, data, gen)
    kind = "other" if bad else ("parse_error" if whole.errors else "parsed")
    rnd = random.Random((seed << 40) | index | 1 << 39)
    try:
        mismatch = chunked(data, gen, form, _cuts(rnd, len(data))) != whole
    except Exception as exc:
        return "other", True, secs, len(data), f"chunked: {exc!r}", 0
    return kind, mismatch, secs, len(data), bad or "", len(whole.records)


def shard_path(seed: int) -> Path:
    return RESULTS / f"parse-fuzz-shard-{seed}.json"


def retime(seed: int, index: int, corpus: Corpus, repeat: int = 5) -> float:
    """Best process CPU time of parse_log on that input."""
    data, gen, form = input_for(seed, index, corpus)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        parse_log(data, *gen, "<log>", form)
        best = min(best, time.process_time() - t0)
    return best


def run_shard(args: argparse.Namespace, corpus: Corpus) -> int:
    path = shard_path(args.seed)
    state = json.loads(path.read_text()) if path.exists() else {}
    if state and state.get("corpus") != corpus.digest():
        print(f"{path}: made from other sources; delete it or use another seed", file=sys.stderr)
        return 1
    counts = state.get("counts", {"parsed": 0, "parse_error": 0, "other": 0})
    recs = state.get("records", {"records": 0, "inputs_with_records": 0})
    mism: list[list[object]] = state.get("mismatches", [])
    others: list[list[object]] = state.get("others", [])
    slow: list[tuple[float, int, int]] = [
        tuple(x) for x in state.get("slowest", [])
    ]  # secs, index, size
    index = state.get("next_index", 0)
    cpu = state.get("cpu_seconds", 0.0)
    target = args.count
    deadline = time.monotonic() + 60 * args.minutes
    t_start = time.process_time()

    def save() -> None:
        state.update(
            seed=args.seed, corpus=corpus.digest(), next_index=index, counts=counts, records=recs,
            mismatches=mism[:100], others=others[:100], slowest=slow,
            cpu_seconds=round(cpu + time.process_time() - t_start, 1),
            sources=[n for n, _ in corpus.sources],
        )  # fmt: skip
        path.write_text(json.dumps(state, indent=1) + "\n")

    last_save = time.monotonic()
    while index < target and time.monotonic() < deadline:
        kind, mismatch, secs, size, note, n_rec = check(args.seed, index, corpus)
        counts[kind] += 1
        recs["records"] += n_rec
        recs["inputs_with_records"] += n_rec > 0
        if mismatch:
            mism.append([index, size])
        if kind == "other":
            others.append([index, size, note[:300]])
        if len(slow) < 10 or secs > slow[-1][0]:
            slow = sorted([*slow, (secs, index, size)], reverse=True)[:10]
        index += 1
        if time.monotonic() - last_save > 30:
            save()
            last_save = time.monotonic()
    slow = sorted(((retime(args.seed, i, corpus), i, n) for _, i, n in slow), reverse=True)
    save()
    print(json.dumps({k: state[k] for k in ("next_index", "counts", "cpu_seconds")}))
    return 0


def summary() -> int:
    shards = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("parse-fuzz-shard-*.json"))]
    total = {"parsed": 0, "parse_error": 0, "other": 0}
    recs = {"records": 0, "inputs_with_records": 0}
    for s in shards:
        for k in total:
            total[k] += s["counts"][k]
        for k in recs:
            recs[k] += s["records"][k]
    n = sum(total.values())
    cpu = sum(s["cpu_seconds"] for s in shards)
    slowest = max(([*x, s["seed"]] for s in shards for x in s["slowest"]), default=None)
    out = {
        "inputs": n,
        "counts": total,
        **recs,
        "chunk_mismatches": sum(len(s["mismatches"]) for s in shards),
        "other_examples": [[s["seed"], *o] for s in shards for o in s["others"]][:20],
        "mismatch_examples": [[s["seed"], *m] for s in shards for m in s["mismatches"]][:20],
        "slowest_input": None
        if slowest is None
        else {
            "cpu_seconds_best_of_5": slowest[0],
            "seed": slowest[3],
            "index": slowest[1],
            "bytes": slowest[2],
        },
        "cpu_seconds": round(cpu, 1),
        "inputs_per_cpu_second": round(n / cpu) if cpu else None,
        "shards": [s["seed"] for s in shards],
        "corpus_digests": sorted({s["corpus"] for s in shards}),  # replay needs these sources
        "sources": sorted({src for s in shards for src in s["sources"]}),
    }
    (RESULTS / "parse-fuzz.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seed", type=int, default=1, help="shard id: inputs are (seed, index)")
    ap.add_argument("--count", type=int, default=10_000_000, help="stop at this index")
    ap.add_argument("--minutes", type=float, default=55.0, help="time budget of this run")
    ap.add_argument("--sources", nargs="*", default=[], help="more console globs")
    ap.add_argument("--replay", metavar="SEED:INDEX", help="write that input to stdout")
    ap.add_argument("--summary", action="store_true", help="merge the shard files")
    args = ap.parse_args()
    if args.summary:
        return summary()
    corpus = Corpus(load_sources(DEFAULT_SOURCES + args.sources))
    if not corpus.sources:
        print("no console sources found", file=sys.stderr)
        return 1
    if args.replay:
        seed, index = (int(x) for x in args.replay.split(":"))
        data, gen, form = input_for(seed, index, corpus)
        print(f"schema {gen[0].id} {gen[1]}, compact form {form.value}", file=sys.stderr)
        sys.stdout.buffer.write(data)
        return 0
    return run_shard(args, corpus)


if __name__ == "__main__":
    sys.exit(main())
