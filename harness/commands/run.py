"""`axharness run`: the conformance suite on every architecture this host can run."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from harness import signals
from harness.check.verdict import Verdict
from harness.commands.images import add_local_options, describe_locals
from harness.errors import UsageError
from harness.images.cache import cache_root
from harness.images.progress import for_stream
from harness.images.recipe import ARCHES
from harness.images.select import local_options
from harness.paths import repo_root
from harness.qemu.profiles import check_timeout_scale
from harness.report.html import write_html
from harness.report.markdown import write_report
from harness.report.reachability import REACHABILITY_FILE, load_reachability
from harness.report.results import write_junit, write_results
from harness.run import shard
from harness.run.suite import SuiteOptions, plan_suite, run_suite
from harness.scenarios.registry import all_arches, scenarios_for, use_files


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run the conformance suite (builds images as needed)")
    p.add_argument("--arch", choices=ARCHES, action="append",
                   help="only this architecture (repeatable; default: all)")
    add_local_options(p)  # --recipe NAME|FILE, --crate NAME=PATH, --axvisor PATH
    p.add_argument("--scenario", default="*", help="glob over scenario names (default: *)")
    p.add_argument("--scenarios", type=Path, action="append", metavar="FILE",
                   help="run the scenarios of this file (repeatable; format: "
                   "docs/writing-a-scenario.md) instead of the catalogue in scenarios/")
    p.add_argument("--results", type=Path, default=Path("results"),
                   help="directory for results.json, junit.xml and case artifacts "
                   "(default: ./results); must not already hold a results.json unless --force")
    p.add_argument("--force", action="store_true",
                   help="replace a previous run's results and cases/")
    p.add_argument("--cache-dir", type=Path, help="image cache (default ~/.cache/axharness)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="cases run in parallel (default: number of CPUs); a declared hang "
                   "whose QEMU is idle in its quiet window lets the next case start")
    p.add_argument("--timeout-scale", type=float, default=1.0,
                   help="multiply every timeout (TCG base; KVM gets a quarter)")
    p.add_argument("--keep-artifacts", action="store_true",
                   help="keep the patched image of passing cases too")
    p.add_argument("--trap-log", action="store_true",
                   help="also log every trap in QEMU and judge each exit from the trap's "
                   "syndrome (docs/oracle.md); recorded in each case's manifest, the verdict "
                   "stays the model's")
    p.add_argument("--boot-per-case", action="store_true",
                   help="one axvisor boot per case (default: the scenarios that allow it share "
                   "boots, grouped per image, and most others start from a snapshot of the "
                   "booted loader: docs/persistent-mode.md)")
    p.add_argument("--shard", metavar="K/N", help="run only the K-th of N parts of the cases, "
                   "balanced by case durations (merge the parts with `axharness merge`)")
    p.add_argument("--durations", type=Path, metavar="FILE", help="case durations for --shard: "
                   f"an earlier run's results.json (default: {shard.ESTIMATES})")
    p.set_defaults(func=run)


def summary_table(cases: list[Any]) -> str:
    arches = sorted({c.arch for c in cases})
    verdicts = [v.value for v in Verdict]
    width = max(len(v) for v in verdicts) + 1
    counts = Counter((c.arch, c.verdict.value) for c in cases)
    head = f"{'arch':10}" + "".join(f"{v:>{width}}" for v in verdicts)
    rows = [head, "-" * len(head)]
    for a in arches:
        rows.append(f"{a:10}" + "".join(f"{counts[(a, v)]:>{width}}" for v in verdicts))
    return "\n".join(rows)


OUTPUTS = ("results.json", "junit.xml", "report.md", "report.html")


def prepare_results_dir(results_dir: Path, force: bool) -> None:
    """Make sure the run can write its results before any case runs (one-line UsageError
    otherwise); with `force`, clear the previous run's outputs and cases/ so that the two
    runs never mix."""
    where = f"--results {results_dir}"
    if results_dir.exists() and not results_dir.is_dir():
        raise UsageError(f"{where} is not a directory")
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {where}: {exc.strerror or exc}") from None
    for name in (*OUTPUTS, "cases"):
        path = results_dir / name
        if path.exists() and path.is_dir() != (name == "cases"):
            kind = "not a directory" if name == "cases" else "a directory, not a file"
            raise UsageError(f"{path} is {kind}; remove it or choose another --results")
    previous = [results_dir / n for n in ("results.json", "cases") if (results_dir / n).exists()]
    if previous and not force:
        raise UsageError(f"{previous[0]} exists; pass --force or choose another --results")
    try:
        with tempfile.TemporaryFile(dir=results_dir):
            pass
        if force:
            for name in OUTPUTS:
                (results_dir / name).unlink(missing_ok=True)
            if (results_dir / "cases").exists():
                shutil.rmtree(results_dir / "cases")
    except OSError as exc:
        raise UsageError(f"cannot write in {where}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise UsageError("--jobs must be >= 1")
    check_timeout_scale(args.timeout_scale)
    # A signal only records a stop from here on: the running cases end `interrupted`, and the
    # results of the others are still written (the builds in run_suite opt into raising).
    with signals.current().deferred():
        return _run(args)


def _why_nothing_runs(pattern: str, arches: tuple[str, ...]) -> str:
    """Why the plan is empty: no scenario matches, or those that do name images none of the
    selected recipes is (an `images` name mistyped, or a recipe not selected)."""
    matching = [s for a in arches for s in scenarios_for(a, pattern)]
    if not matching:
        return f"no scenario matches --scenario {pattern!r}"
    named = sorted({i for s in matching for i in s.images})
    return (f"{len(matching)} scenario(s) match --scenario {pattern!r}, but none runs on the "
            "selected images" + (f": they name image(s) {', '.join(named)}" if named else ""))


def _run(args: argparse.Namespace) -> int:
    stop = signals.current()
    results_dir: Path = args.results.resolve()
    results_file = results_dir / "results.json"
    if args.scenarios:
        use_files(args.scenarios)
    opts = SuiteOptions(arches=tuple(args.arch or ()), pattern=args.scenario,
                        results_dir=results_dir, cache=cache_root(args.cache_dir),
                        jobs=args.jobs, timeout_scale=args.timeout_scale,
                        keep_artifacts=args.keep_artifacts, recipes=tuple(args.recipe or ()),
                        trap_log=args.trap_log,
                        local_crates=local_options(args.crate, args.axvisor),
                        persistent=not args.boot_per_case)
    plan = plan_suite(repo_root(), opts)
    for recipe, _ in plan:
        if recipe.local_crates:
            print(describe_locals(recipe), file=sys.stderr)
    if not plan:
        raise UsageError(_why_nothing_runs(args.scenario, tuple(args.arch or all_arches())))
    part = shard.from_options(repo_root(), args.shard, args.durations, plan)
    if part is not None:
        plan, info = part
        print(info.describe(), file=sys.stderr)
    prepare_results_dir(results_dir, args.force)
    reach_file = repo_root() / REACHABILITY_FILE
    unreachable = load_reachability(reach_file) if reach_file.is_file() else ()
    started = time.monotonic()
    cases, extra, known = run_suite(repo_root(), opts, plan, status=for_stream(sys.stderr))
    extra["wall_seconds"] = round(time.monotonic() - started, 1)
    if stop.requested:
        extra["interrupted_by"] = stop.name
    extra["jobs"] = args.jobs
    extra["timeout_scale"] = args.timeout_scale  # a smaller one shortens no hang evidence
    if part is not None:
        extra["shard"] = part[1].to_json()
    write_results(cases, results_file, extra)
    write_junit(cases, results_dir / "junit.xml", extra)
    scenarios = {s.case_id: s for a in all_arches() for s in scenarios_for(a)}
    write_report(cases, scenarios, known, results_dir / "report.md",
                 "axharness " + " ".join(sys.argv[1:]), unreachable, extra)
    write_html(cases, scenarios, known, results_dir / "report.html",
               "axharness " + " ".join(sys.argv[1:]), unreachable, extra)
    print(summary_table(cases))
    for c in cases:
        if (c.verdict.is_failure or c.verdict is Verdict.XFAIL) \
                and c.verdict is not Verdict.INTERRUPTED:
            print(f"{c.verdict.value.upper():10} {c.case_id}: {c.detail}")
    print(f"\n{len(cases)} cases in {extra['wall_seconds']}s; results: {results_file}; "
          f"report: {results_dir / 'report.md'}")
    if stop.requested:
        print(f"axharness: interrupted by {stop.name}", file=sys.stderr)
        return stop.exit_code
    failures = [c for c in cases if c.verdict.is_failure]
    if not failures:
        return 0
    if all(c.verdict is Verdict.INFRA for c in failures):
        return 3
    return 2


