"""Persistent mode against one boot per program, side by side in one run.

Fuzz: the same seeds and size per architecture, run once with programs sharing boots (the
default) and once with --boot-per-program; exits checked per minute of each and their ratio,
plus whether every program got the same verdict. Suite (--suite): `axharness run -j 2` with and
without --boot-per-case on the same images; wall times, their ratio and `compare`'s verdict
changes, and the case time of the cases that end on a declared wait (the same windows in both
modes) apart from the rest. The load average (2 cores, shared) is recorded before and after each
measurement.
Results: bench/results/persist.json (or --out).

Usage: .venv/bin/python bench/bench_persist.py [--arch aarch64 --arch riscv64] [-n 60]
       [--image aarch64-0.8] [--size 8] [-j 1] [--seed 5000] [--suite]
       [--recipe aarch64 --recipe riscv64] [--differential N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.fuzz.runner import FuzzOptions, FuzzReport, FuzzSession, run_fuzz
from harness.images.cache import cache_root
from harness.images.recipe import find_recipes, load_recipe
from harness.paths import repo_root
from harness.persist.differential import differences, program_view
from harness.run.watchers import declared_waits
from harness.scenarios.registry import scenarios_for

ROOT = repo_root()


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _target(name: str) -> tuple[str, str]:
    """(arch, recipe) of an --arch value or an --image recipe name."""
    if name in ("aarch64", "riscv64"):
        return name, ""
    arches = {r.name: r.arch for r in (load_recipe(p, ROOT) for p in find_recipes(ROOT))}
    if name not in arches:
        raise SystemExit(f"bench_persist: no image recipe {name!r}")
    return arches[name], name


def differential(target: str, seeds: range, size: int) -> dict[str, Any]:
    """Every program of `seeds` in both modes, compared through harness.persist.differential
    (what tests/integration/test_persist.py checks for 48 seeds in CI)."""
    arch, recipe = _target(target)
    runs = {}
    stats: dict[str, Any] | None = None
    for persistent in (True, False):
        with tempfile.TemporaryDirectory(prefix="axh-bench-persist-diff-") as tmp:
            opts = FuzzOptions(arch=arch, recipe=recipe, seeds=seeds, size=size,
                               results_dir=Path(tmp), cache=cache_root(), jobs=1,
                               minimise=False, persistent=persistent)
            session = FuzzSession(ROOT, opts)
            try:
                # persistent: one stream, the next program queued while one is judged
                runs[persistent] = list(session.stream(iter(seeds))) if persistent else \
                    [session.program(seed) for seed in seeds]
            finally:
                session.close()
            if persistent:
                stats = session.stats.to_json() if session.stats else None
    differ = {p.seed: differences(p.case, o.case)
              for p, o in zip(runs[True], runs[False], strict=True)
              if differences(p.case, o.case)}
    verdicts: dict[str, int] = {}
    for p in runs[True]:
        verdicts[p.case.verdict.value] = verdicts.get(p.case.verdict.value, 0) + 1
    return {"seeds": [seeds.start, seeds.stop - 1], "size": size, "programs": len(seeds),
            "persistent_stats": stats, "verdicts": verdicts,
            "exits_compared": sum(len(program_view(p.case)[1]) for p in runs[True]),
            "programs_that_differ": {str(k): v for k, v in differ.items()}}


def _fuzz(target: str, seeds: range, size: int, jobs: int, persistent: bool
          ) -> tuple[FuzzReport, dict[str, Any]]:
    before = _load()
    arch, recipe = _target(target)
    with tempfile.TemporaryDirectory(prefix="axh-bench-persist-") as tmp:
        opts = FuzzOptions(arch=arch, recipe=recipe, seeds=seeds, size=size,
                           results_dir=Path(tmp),
                           cache=cache_root(), jobs=jobs, minimise=False,
                           persistent=persistent)
        r = run_fuzz(ROOT, opts)
    return r, {"programs": len(r.programs), "exits": r.exits,
               "run_seconds": round(r.run_seconds, 2),
               "programs_per_minute": round(r.per_minute(len(r.programs)), 1),
               "exits_per_minute": round(r.per_minute(r.exits), 1),
               "load_before": before, "load_after": _load(),
               **({"persistent": r.persist} if r.persist else {})}


def fuzz(arch: str, args: argparse.Namespace) -> dict[str, Any]:
    seeds = range(args.seed, args.seed + args.n)
    per, per_json = _fuzz(arch, seeds, args.size, args.jobs, True)
    one, one_json = _fuzz(arch, seeds, args.size, args.jobs, False)
    differ = [p.seed for p, o in zip(per.programs, one.programs, strict=True)
              if p.case.verdict is not o.case.verdict]
    ratio = per.per_minute(per.exits) / one.per_minute(one.exits) if one.exits else 0.0
    return {"size": args.size, "seeds": [seeds.start, seeds.stop - 1], "jobs": args.jobs,
            "persistent": per_json, "boot_per_program": one_json,
            "exits_per_minute_ratio": round(ratio, 2),
            "verdicts_differ_for_seeds": differ}


def _suite(results: Path, recipes: list[str], per_case: bool) -> dict[str, Any]:
    argv = [str(ROOT / ".venv/bin/axharness"), "run", "-j", "2", "--results", str(results)]
    for r in recipes:
        argv += ["--recipe", r]
    if per_case:
        argv.append("--boot-per-case")
    before = _load()
    start = time.monotonic()
    subprocess.run(argv, check=False, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.monotonic() - start
    data = json.loads((results / "results.json").read_text())
    return {"wall_s": round(wall, 1), "verdicts": data["summary"], "load_before": before,
            "load_after": _load(), "persistent_stats": data.get("persistent"),
            "case_seconds": {c["case"]: c["duration_s"] for c in data["cases"]},
            # how long each case held a job slot (a parked hang gives it back once idle)
            "slot_seconds": {c["case"]: c["qemu"].get("job_slot_given_back_after_s")
                             or c["duration_s"] for c in data["cases"]},
            "shared": sorted(c["case"] for c in data["cases"] if "persistent" in c["qemu"]),
            "restored": sorted(c["case"] for c in data["cases"]
                               if c.get("restored", {}).get("loader_exit_lines"))}


def _declared_waits(cases: dict[str, float]) -> list[str]:
    """The cases whose scenario, on their image, ends on a declared wait (a hang's quiet
    window, a stuck VM's settle time): they take as long in either mode."""
    recipes = {r.name: r for r in (load_recipe(p, ROOT) for p in find_recipes(ROOT))}
    out = []
    for case in cases:
        image, name = case.split("/", 1)
        recipe = recipes.get(image)
        if recipe is None:
            continue
        for sc in scenarios_for(recipe.arch, name):
            if declared_waits(sc.for_image(image)):
                out.append(case)
    return out


def suite(recipes: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="axh-bench-persist-suite-") as tmp:
        a, b = Path(tmp) / "persistent", Path(tmp) / "per-case"
        per = _suite(a, recipes, False)
        one = _suite(b, recipes, True)
        cmp = subprocess.run([str(ROOT / ".venv/bin/axharness"), "compare",
                              str(b / "results.json"), str(a / "results.json")],
                             check=False, cwd=ROOT, capture_output=True, text=True)
    shared, restored = per.pop("shared"), per.pop("restored")
    one.pop("shared")
    one.pop("restored")
    a_s, b_s = per.pop("case_seconds"), one.pop("case_seconds")
    slots_a = per.pop("slot_seconds")
    one.pop("slot_seconds")
    subset = {"cases": len(shared),
              "case_seconds_persistent": round(sum(a_s[c] for c in shared), 1),
              "case_seconds_boot_per_case": round(sum(b_s[c] for c in shared), 1),
              "boots": (per.get("persistent_stats") or {}).get("boots")}
    restored_subset = {"cases": len(restored),
                       "case_seconds_restored": round(sum(a_s[c] for c in restored), 1),
                       "case_seconds_boot_per_case": round(sum(b_s[c] for c in restored), 1)}
    waits = _declared_waits(a_s)
    w_a, w_b = sum(a_s[c] for c in waits), sum(b_s[c] for c in waits)
    rest_a, rest_b = sum(a_s.values()) - w_a, sum(b_s.values()) - w_b
    waits_subset = {
        "cases": len(waits), "cases_run": sum(a_s[c] > 0 for c in waits),
        "case_seconds_persistent": round(w_a, 1),
        "case_seconds_boot_per_case": round(w_b, 1),
        "other_case_seconds_persistent": round(rest_a, 1),
        "other_case_seconds_boot_per_case": round(rest_b, 1),
        # The ratio of case time if the waits (the same windows in both modes) were shared by
        # both sides as they are, and if everything else persistent mode runs cost nothing.
        "case_time_ratio": round((w_a + rest_a) / (w_b + rest_b), 3),
        "case_time_ratio_floor": round(w_a / (w_b + rest_b), 3),
        # No schedule on 2 job slots runs the waits in less than half their slot time: the
        # persistent suite's wall time cannot go below this even if nothing else cost a thing.
        "wall_floor_s": round(sum(slots_a[c] for c in waits) / 2, 1)}
    waits_subset["wall_floor_ratio"] = round(waits_subset["wall_floor_s"] / one["wall_s"], 3)
    return {"recipes": recipes, "jobs": 2, "persistent": per, "boot_per_case": one,
            "shared_subset": subset, "restored_subset": restored_subset,
            "declared_waits_subset": waits_subset,
            "wall_ratio": round(per["wall_s"] / one["wall_s"], 3),
            "compare_exit_code": cmp.returncode, "compare": cmp.stdout.strip().splitlines()[-20:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--arch", action="append", choices=["aarch64", "riscv64"])
    ap.add_argument("--image", action="append", default=[],
                    help="fuzz (or --differential) this image recipe too, e.g. aarch64-0.8")
    ap.add_argument("-n", type=int, default=60, help="programs per architecture")
    ap.add_argument("--size", type=int, default=8)
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=5000, help="first seed")
    ap.add_argument("--suite", action="store_true", help="also the suite, both ways")
    ap.add_argument("--no-fuzz", action="store_true", help="only the suite")
    ap.add_argument("--recipe", action="append", help="suite images (default: all)")
    ap.add_argument("--differential", type=int, metavar="N",
                    help="instead: N programs per architecture in both modes, compared "
                    "program by program (bench/results/persist-differential.json)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.differential:
        res = {"host": {"cpus": os.cpu_count()}, "load_before": _load(),
               **{a: differential(a, range(args.seed, args.seed + args.differential), args.size)
                  for a in [*(args.arch or ([] if args.image else ["aarch64", "riscv64"])),
                            *args.image]}, "load_after": _load()}
        out_file = args.out or ROOT / "bench" / "results" / "persist-differential.json"
        out_file.write_text(json.dumps(res, indent=2) + "\n")
        print(json.dumps(res, indent=2))
        return 0
    args.out = args.out or ROOT / "bench" / "results" / "persist.json"
    out: dict[str, Any] = {"host": {"cpus": os.cpu_count(), "machine": platform.machine()},
                           "fuzz": {}}
    targets = [*(args.arch or ([] if args.image else ["aarch64", "riscv64"])), *args.image]
    for arch in [] if args.no_fuzz else targets:
        out["fuzz"][arch] = fuzz(arch, args)
        print(arch, json.dumps(out["fuzz"][arch]), flush=True)
    if args.suite:
        out["suite"] = suite(args.recipe or [])
        print(json.dumps(out["suite"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
