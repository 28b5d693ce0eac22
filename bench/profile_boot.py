"""Where a case's wall time goes: run_case on real QEMU with its phases timed, plus cProfile.

Each phase is a function run_case calls (payload build, image patch, prediction, QEMU launch
with QMP connect, console capture, teardown, parsing, comparison, artifacts); the wrappers
time it wall-clock, so waiting on child processes and sockets counts. The rest of run_case
is "other". Written to bench/results/profile-<recipe>.txt.

Usage: .venv/bin/python bench/profile_boot.py [--recipe aarch64] [--scenario first-guest] [-n 7]
       [--tag before]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.images.build import build_image
from harness.images.cache import cache_root
from harness.images.select import select_recipes
from harness.paths import repo_root
from harness.qemu import machine as machine_mod
from harness.qemu.profiles import get_profile
from harness.run import case as case_mod
from harness.scenarios.registry import scenarios_for

TIMES: dict[str, list[float]] = defaultdict(list)


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            TIMES[name].append(time.perf_counter() - t0)
    return wrapper


def instrument() -> None:
    for name in ("build_payload", "patch_image", "expected_exits", "parse_log",
                 "compare_vcpus", "keep_for_repro"):
        setattr(case_mod, name, timed(name, getattr(case_mod, name)))
    qm = machine_mod.QemuMachine
    qm.launch = timed("launch (QEMU start + QMP connect + cont)", qm.launch)  # type: ignore
    qm.run_until = timed("run_until (boot to end marker)", qm.run_until)  # type: ignore
    qm.stop = timed("stop (QMP quit, reap)", qm.stop)  # type: ignore


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--recipe", default="aarch64")
    ap.add_argument("--scenario", default="first-guest")
    ap.add_argument("-n", type=int, default=7)
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    root = repo_root()
    (recipe,) = select_recipes(root, (), (args.recipe,))  # a name or a recipe file
    image = build_image(recipe, cache_root(), progress=lambda m: None)
    (scenario,) = scenarios_for(recipe.arch, args.scenario)
    profile = get_profile(recipe.qemu_profile)
    instrument()
    totals: list[float] = []
    prof = cProfile.Profile()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="axh-prof-") as tmp:
        for i in range(args.n):
            t0 = time.perf_counter()
            prof.enable()
            res = case_mod.run_case(image, recipe, scenario, profile, Path(tmp) / f"c{i}")
            prof.disable()
            totals.append(time.perf_counter() - t0)
            if res.verdict.value != "pass":
                print(f"warning: verdict {res.verdict.value}: {res.detail}", file=sys.stderr)
    load_after = os.getloadavg()
    out = io.StringIO()
    med_total = statistics.median(totals)
    out.write(f"profile of run_case {recipe.name}/{scenario.name}, {args.n} runs"
              f"{' (' + args.tag + ')' if args.tag else ''}\n")
    out.write(f"load average before {load_before}, after {load_after} (2 cores)\n\n")
    out.write(f"{'phase':48} {'median ms':>10} {'min ms':>8} {'max ms':>8}\n")
    for name, ts in TIMES.items():
        m = statistics.median(ts)
        out.write(f"{name:48} {m * 1e3:10.1f} {min(ts) * 1e3:8.1f} {max(ts) * 1e3:8.1f}\n")
    outside = [t - b for t, b in zip(totals, TIMES["run_until (boot to end marker)"],
                                     strict=True)]
    out.write(f"{'total run_case':48} {med_total * 1e3:10.1f} {min(totals) * 1e3:8.1f} "
              f"{max(totals) * 1e3:8.1f}\n")
    out.write(f"{'outside run_until (per run: total - boot)':48} "
              f"{statistics.median(outside) * 1e3:10.1f} {min(outside) * 1e3:8.1f} "
              f"{max(outside) * 1e3:8.1f}\n\n")
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(35)
    text = out.getvalue()
    dest = Path(__file__).parent / "results" / (
        f"profile-{recipe.name}{'-' + args.tag if args.tag else ''}.txt")
    dest.write_text(text)
    print(text[:6000])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as exc:  # a wrong --recipe/--scenario: one line, no traceback
        sys.exit(f"{Path(__file__).name}: {exc}")
