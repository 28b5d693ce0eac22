"""Fuzz throughput: programs and exits checked per minute, per architecture, for N programs of
a given size (without minimisation, so the number is the campaign's steady rate), plus the
coverage combinations those N programs reached. Results go to bench/results/fuzz.json.

Usage: .venv/bin/python bench/bench_fuzz.py [--arch aarch64 --arch riscv64] [-n 40]
       [--size 8] [-j 2] [--seed 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from harness.fuzz.generate import GENERATORS
from harness.fuzz.runner import FuzzOptions, run_fuzz
from harness.images.cache import cache_root
from harness.paths import repo_root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--arch", action="append", choices=sorted(GENERATORS))
    ap.add_argument("-n", type=int, default=40, help="programs per architecture")
    ap.add_argument("--size", type=int, default=8)
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1000, help="first seed")
    ap.add_argument("--out", type=Path, default=repo_root() / "bench" / "results" / "fuzz.json")
    args = ap.parse_args()
    results: dict[str, object] = {}
    for arch in args.arch or sorted(GENERATORS):
        with tempfile.TemporaryDirectory(prefix="axh-bench-fuzz-") as tmp:
            opts = FuzzOptions(arch=arch, seeds=tuple(range(args.seed, args.seed + args.n)),
                               size=args.size, results_dir=Path(tmp), cache=cache_root(),
                               jobs=args.jobs, minimise=False)
            r = run_fuzz(repo_root(), opts, lambda m: print(m, file=sys.stderr))
        row = {"programs": len(r.programs), "size": args.size, "jobs": args.jobs,
               "exits": r.exits, "run_seconds": round(r.run_seconds, 2),
               "programs_per_minute": round(r.per_minute(len(r.programs)), 1),
               "exits_per_minute": round(r.per_minute(r.exits), 1),
               "combinations": len(r.combos),
               "verdicts": dict(Counter(p.case.verdict.value for p in r.programs)),
               "new_signatures": len({p.signature for p in r.programs if p.signature}),
               "axvisor": r.axvisor, "recipe": r.recipe}
        results[arch] = row
        print(f"{arch}: {row['programs_per_minute']} programs/min, "
              f"{row['exits_per_minute']} exits/min, {row['combinations']} combinations, "
              f"verdicts {row['verdicts']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "what": "fuzz programs through run_case + model + known divergences, no minimisation",
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(),
                 "loadavg_at_end": os.getloadavg()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "results": results}, indent=2) + "\n")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
