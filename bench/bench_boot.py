"""Boot-to-verdict: the harness against raw QEMU on the same image, alternating.

Raw: a plain subprocess runs the case's exact QEMU command line (cmdline.sh as written: no -S,
no QMP) and reads the console until axvisor's shell banner; the clock stops there (the kill
after it is not counted). Harness: run_case for the same scenario (payload + patch + QMP +
console capture + parse + model + diff + teardown + artifacts), start to verdict. With the
payload cache warm (a re-run) and, with --cold, also with it off (AXH_PAYLOAD_CACHE=0: as and
ld run). The order alternates run by run (harness first on even runs, raw first on odd ones);
the load average (os.getloadavg, 2 cores here) is recorded with every run. The ratio is the
median harness time over the median raw time. Results go to bench/results/boot-<recipe>.json.

Usage: .venv/bin/python bench/bench_boot.py [--recipe aarch64] [--scenario first-guest] [-n 9]
       [--cold]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.guests.asm_cache import ENV_VAR
from harness.images.build import build_image
from harness.images.cache import cache_root
from harness.images.select import select_recipes
from harness.paths import repo_root
from harness.qemu.profiles import get_profile
from harness.run.axvisor_console import END_MARKERS
from harness.run.case import run_case
from harness.scenarios.registry import scenarios_for


def raw_boot(argv: list[str], cwd: Path) -> float:
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=cwd)
    assert proc.stdout is not None
    seen = b""
    try:
        while True:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError("QEMU exited before the end marker")
            seen += chunk
            if END_MARKERS[0] in seen:
                return time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()


def harness_run(image: Any, recipe: Any, scenario: Any, profile: Any, casedir: Path,
                cold: bool) -> float:
    os.environ[ENV_VAR] = "0" if cold else "1"
    try:
        t0 = time.monotonic()
        res = run_case(image, recipe, scenario, profile, casedir)
        took = time.monotonic() - t0
    finally:
        os.environ.pop(ENV_VAR, None)
    if res.verdict.value != "pass":
        raise SystemExit(f"harness verdict {res.verdict.value}: {res.detail}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--recipe", default="aarch64")
    ap.add_argument("--scenario", default="first-guest")
    ap.add_argument("-n", type=int, default=9)
    ap.add_argument("--cold", action="store_true", help="also time the payload cache off")
    args = ap.parse_args()
    root = repo_root()
    (recipe,) = select_recipes(root, (), (args.recipe,))  # a name or a recipe file
    image = build_image(recipe, cache_root(), progress=lambda m: None)
    (scenario,) = scenarios_for(recipe.arch, args.scenario)
    profile = get_profile(recipe.qemu_profile)
    times: dict[str, list[float]] = {"harness": [], "raw": [], "harness_cold": []}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="axh-bench-") as tmp:
        ref = Path(tmp) / "ref"
        harness_run(image, recipe, scenario, profile, ref, False)  # warms the payload cache
        line = (ref / "cmdline.sh").read_text().splitlines()[-1]
        raw_argv = shlex.split(line)
        for i in range(args.n):
            order = ["harness", "raw", "harness_cold"] if i % 2 == 0 \
                else ["harness_cold", "raw", "harness"]
            for what in order:
                loads.append(os.getloadavg()[0])
                if what == "raw":
                    times["raw"].append(raw_boot(raw_argv, ref))
                elif what == "harness" or args.cold:
                    times[what].append(harness_run(image, recipe, scenario, profile,
                                                   Path(tmp) / f"{what}{i}",
                                                   what == "harness_cold"))
    med = {k: statistics.median(v) for k, v in times.items() if v}
    out: dict[str, Any] = {
        "recipe": recipe.name, "scenario": scenario.name, "repetitions": args.n,
        "order": "alternating (harness first on even runs, raw first on odd ones)",
        "load_avg_1min": {"min": round(min(loads), 2), "median": round(
            statistics.median(loads), 2), "max": round(max(loads), 2), "cores": os.cpu_count()},
        **{f"{k}_s": [round(x, 3) for x in v] for k, v in times.items() if v},
        **{f"{k}_median_s": round(v, 3) for k, v in med.items()},
        "ratio": round(med["harness"] / med["raw"], 3),
        **({"ratio_cold": round(med["harness_cold"] / med["raw"], 3)}
           if "harness_cold" in med else {}),
    }
    dest = Path(__file__).parent / "results" / f"boot-{recipe.name}.json"
    dest.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as exc:  # a wrong --recipe/--scenario: one line, no traceback
        sys.exit(f"{Path(__file__).name}: {exc}")
