"""Whole conformance suite wall time, serial and with two parallel cases.

Runs `axharness run -j 1` and `-j 2` on every architecture this host can run (images must be
built; the first call builds them) and writes bench/results/suite.json with both wall times
and the speed-up.

Usage: .venv/bin/python bench/bench_suite.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(jobs: int) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory(prefix="axh-suite-") as tmp:
        start = time.monotonic()
        subprocess.run([str(ROOT / ".venv/bin/axharness"), "run", "-j", str(jobs),
                        "--results", tmp], check=False, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.monotonic() - start
        summary = json.loads((Path(tmp) / "results.json").read_text())["summary"]
    return wall, summary


def main() -> int:
    subprocess.run([str(ROOT / ".venv/bin/axharness"), "images", "build"], check=True, cwd=ROOT)
    serial, summary = run(1)
    parallel, summary2 = run(2)
    out = {"serial_s": round(serial, 1), "parallel_2_s": round(parallel, 1),
           "speedup": round(serial / parallel, 2), "verdicts": summary,
           "verdicts_parallel": summary2}
    (Path(__file__).parent / "results" / "suite.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
