"""`axharness fuzz`: seeded random guest programs checked against the reference model; new
divergences are minimised into standalone reproducers (`--replay FILE` runs one again)."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from harness import signals
from harness.errors import UsageError
from harness.fuzz.generate import GENERATORS, MAX_SIZE
from harness.fuzz.program import describe_action, load_program
from harness.fuzz.runner import FuzzOptions, FuzzReport, FuzzSession, ProgramResult, run_fuzz
from harness.images.cache import cache_root
from harness.paths import repo_root
from harness.qemu.profiles import check_timeout_scale

DEFAULT_SIZE = 8
# Programs in one run: every one is held in memory until the report, and at about a program a
# second this is more than a day. A longer campaign is several runs with other --seed values.
MAX_COUNT = 100_000


def register(sub: Any) -> None:
    p = sub.add_parser("fuzz", help="run seeded random guest programs against the model")
    p.add_argument("--arch", choices=sorted(GENERATORS), help="architecture to fuzz")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--count", type=int, default=10,
                   help=f"programs: seeds S..S+N-1, 1..{MAX_COUNT} (default 10)")
    p.add_argument("--size", type=int, default=DEFAULT_SIZE,
                   help=f"actions per program, 1..{MAX_SIZE} (default {DEFAULT_SIZE})")
    p.add_argument("--results", type=Path, default=Path("results/fuzz"),
                   help="directory for fuzz.json, program artifacts and findings "
                   "(default ./results/fuzz)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="programs run in parallel (default: number of CPUs)")
    p.add_argument("--recipe", default="", help="image recipe (default: the arch's own)")
    p.add_argument("--cache-dir", type=Path, help="image cache (default ~/.cache/axharness)")
    p.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every timeout")
    p.add_argument("--force", action="store_true",
                   help="replace a previous campaign's results in --results")
    p.add_argument("--no-minimise", action="store_true",
                   help="report new findings without shrinking them")
    p.add_argument("--keep-artifacts", action="store_true",
                   help="keep the patched image of passing programs too")
    p.add_argument("--boot-per-program", action="store_true",
                   help="one axvisor boot per program (default: programs share boots where "
                   "the image allows it, docs/persistent-mode.md)")
    p.add_argument("--replay", type=Path, metavar="FILE",
                   help="run one program file (a finding's reproducer) instead of fuzzing")
    p.set_defaults(func=run)


def _print_report(r: FuzzReport) -> None:
    if r.findings:
        print(f"\n{len(r.findings)} new finding(s) on {r.recipe} (axvisor {r.axvisor}):")
    for n, f in enumerate(r.findings, 1):
        also = f" (also seeds {', '.join(map(str, f.also_seeds))})" if f.also_seeds else ""
        print(f"  [{n}] {f.signature.describe()} — seed {f.seed}{also}")
        print(f"      first diff: {f.first_diff.describe() if f.first_diff else f.detail}")
        print(f"      minimised: {len(f.original.actions)} → {len(f.minimal.actions)} action(s) "
              f"in {f.tests} run(s); same failure on a fresh run: "
              f"{'yes' if f.reproduced else 'NO (flaky?)'}")
        for a in f.minimal.actions:
            print(f"        {describe_action(a)}")
        print(f"      program: {f.program_file}")
        print(f"      re-run:  {f.command}")
        print(f"      artifacts: {f.case_dir}")
    verdicts = Counter(p.case.verdict.value for p in r.programs)
    print(f"\n{len(r.programs)} programs ({r.arch}, size {r.size}), {r.exits} exits in "
          f"{r.run_seconds:.1f} s: {r.per_minute(len(r.programs)):.1f} programs/min, "
          f"{r.per_minute(r.exits):.0f} exits/min; {len(r.combos)} combinations covered; "
          + ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items()))
          + f"; total {r.total_seconds:.1f} s")
    if r.persist is not None:
        p = r.persist
        print(f"persistent mode: {p['shared']} programs in {p['boots']} shared boots, "
              f"{p['standalone']} on their own boot, {p['reruns']} re-run standalone "
              f"({p['rerun_agreed']} with the same verdict), {p['fallbacks']} fallbacks")


def _replay(args: argparse.Namespace) -> int:
    recipe, scenario = load_program(args.replay)
    if args.arch and args.arch != scenario.arch:
        raise UsageError(f"{args.replay} is a {scenario.arch} program, not {args.arch}")
    opts = FuzzOptions(arch=scenario.arch, seeds=(), size=len(scenario.actions),
                       results_dir=args.results.resolve(), cache=cache_root(args.cache_dir),
                       timeout_scale=args.timeout_scale, recipe=args.recipe or recipe)
    session = FuzzSession(repo_root(), opts, lambda m: print(m, file=sys.stderr))
    casedir = opts.results_dir / "replay" / scenario.name
    case, new, sig = session.run(scenario, casedir)
    print(f"{scenario.arch}/{scenario.name}: {case.verdict.value}: {case.detail}")
    for d in case.diffs:
        print(f"  {'new  ' if d in new else 'known'} {d.describe()}")
    print(f"artifacts: {casedir}")
    if sig is not None:
        print(f"new finding: {sig.describe()}")
        return 2
    return 3 if case.verdict.value == "infra" else 0


def run(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise UsageError("--jobs must be >= 1")
    check_timeout_scale(args.timeout_scale)  # finite, > 0, <= 1000, as `run`
    results = args.results
    if results.exists() and not results.is_dir():
        raise UsageError(f"--results {results} is not a directory")
    if (results / "fuzz.json").exists() and not args.force and args.replay is None:
        raise UsageError(f"{results / 'fuzz.json'} exists; pass --force or choose another "
                         "--results")
    if args.replay is not None:
        return _replay(args)
    if args.arch is None:
        raise UsageError("--arch is required (one of: " + ", ".join(sorted(GENERATORS)) + ")")
    if not 1 <= args.count <= MAX_COUNT:
        raise UsageError(f"--count must be 1..{MAX_COUNT}, got {args.count} (a longer campaign "
                         "is several runs with other --seed values)")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if not 1 <= args.size <= MAX_SIZE:
        raise UsageError(f"--size must be 1..{MAX_SIZE}, got {args.size}")
    opts = FuzzOptions(arch=args.arch, seeds=range(args.seed, args.seed + args.count),
                       size=args.size, results_dir=args.results.resolve(),
                       cache=cache_root(args.cache_dir), jobs=args.jobs,
                       timeout_scale=args.timeout_scale, minimise=not args.no_minimise,
                       recipe=args.recipe, keep_artifacts=args.keep_artifacts,
                       persistent=not args.boot_per_program)

    def line(p: ProgramResult) -> None:
        print(p.line(), flush=True)

    report = run_fuzz(repo_root(), opts, lambda m: print(m, file=sys.stderr), line)
    _print_report(report)
    print(f"results: {opts.results_dir / 'fuzz.json'}")
    if report.interrupted:  # what finished is in fuzz.json; nothing was minimised
        print(f"axharness: interrupted by {report.interrupted}: {len(report.programs)} "
              "program(s) finished, no minimisation", file=sys.stderr)
        return signals.current().exit_code
    return report.exit_code
