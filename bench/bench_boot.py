"""Boot-to-verdict: the harness against raw QEMU on the same image, alternating.

Raw: a plain subprocess runs the case's exact QEMU command line (cmdline.sh, without -S and
QMP) and reads the console until axvisor's shell banner, then kills QEMU. Harness: run_case
for the same scenario (payload build + patch + QMP + console capture + parse + model + diff).
Both are timed wall-clock, alternating, several repetitions; the ratio is the median harness
time over the median raw time. Results go to bench/results/boot.json.

Usage: .venv/bin/python bench/bench_boot.py [--recipe aarch64] [--scenario first-guest] [-n 7]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.images.build import build_image
from harness.images.cache import cache_root
from harness.images.recipe import find_recipes, load_recipe
from harness.paths import repo_root
from harness.qemu.profiles import get_profile
from harness.run.axvisor_console import END_MARKERS
from harness.run.case import run_case
from harness.scenarios.registry import scenarios_for


def raw_boot(argv: list[str]) -> float:
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    seen = b""
    try:
        while True:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                raise RuntimeError("QEMU exited before the end marker")
            seen += chunk
            if END_MARKERS[0] in seen:
                return time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--recipe", default="aarch64")
    ap.add_argument("--scenario", default="first-guest")
    ap.add_argument("-n", type=int, default=7)
    args = ap.parse_args()
    root = repo_root()
    recipe = next(r for r in (load_recipe(p, root) for p in find_recipes(root))
                  if r.name == args.recipe)
    image = build_image(recipe, cache_root(), progress=lambda m: None)
    (scenario,) = scenarios_for(recipe.arch, args.scenario)
    profile = get_profile(recipe.qemu_profile)
    harness_t: list[float] = []
    raw_t: list[float] = []
    with tempfile.TemporaryDirectory(prefix="axh-bench-") as tmp:
        for i in range(args.n):
            casedir = Path(tmp) / f"h{i}"
            t0 = time.monotonic()
            res = run_case(image, recipe, scenario, profile, casedir)
            harness_t.append(time.monotonic() - t0)
            if res.verdict.value != "pass":
                print(f"warning: harness verdict {res.verdict.value}: {res.detail}",
                      file=sys.stderr)
            line = (casedir / "cmdline.sh").read_text().splitlines()[-1]
            argv = [a for a in shlex.split(line) if a != "-S"]
            q = argv.index("-qmp")
            del argv[q: q + 2]
            argv[argv.index("-serial") + 1] = "stdio"
            raw_t.append(raw_boot(argv))
    h, r = statistics.median(harness_t), statistics.median(raw_t)
    out = {
        "recipe": recipe.name, "scenario": scenario.name, "repetitions": args.n,
        "harness_s": [round(x, 3) for x in harness_t], "raw_s": [round(x, 3) for x in raw_t],
        "harness_median_s": round(h, 3), "raw_median_s": round(r, 3),
        "ratio": round(h / r, 3),
    }
    dest = Path(__file__).parent / "results" / f"boot-{recipe.name}.json"
    dest.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
