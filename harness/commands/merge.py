"""`axharness merge OUT PART.json...`: the results of `axharness run --shard K/N` jobs (or of
runs over disjoint cases) as one run: OUT/results.json, junit.xml, report.md and report.html,
exactly what `axharness run --results OUT` writes, so `axharness compare` and the nightly job
read a merged run like any other. Exit code: the merged run's, as `axharness run` gives it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.check.known import load_known
from harness.check.verdict import Verdict
from harness.commands.run import prepare_results_dir, summary_table
from harness.errors import UsageError
from harness.paths import repo_root
from harness.report.html import write_html
from harness.report.markdown import write_report
from harness.report.merge import merge_files
from harness.report.reachability import REACHABILITY_FILE, load_reachability
from harness.report.results import write_junit
from harness.run.suite import KNOWN_FILE
from harness.scenarios.registry import all_arches, scenarios_for


def register(sub: Any) -> None:
    p = sub.add_parser("merge", help="merge the results.json of shards into one run",
                       description="Merge the results.json files of `axharness run --shard K/N`"
                       " (all N shards of one partition) or of runs over disjoint cases into "
                       "OUT/results.json, junit.xml, report.md and report.html.")
    p.add_argument("out", type=Path, metavar="OUT",
                   help="directory for the merged results (not one of the parts' own)")
    p.add_argument("parts", type=Path, nargs="+", metavar="PART.json",
                   help="results.json of each shard or part; case artifacts are linked from "
                   "the cases/ directory beside each")
    p.add_argument("--force", action="store_true", help="replace a previous merge in OUT")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out: Path = args.out.resolve()
    for part in args.parts:
        if part.resolve().parent == out or out in part.resolve().parents:
            raise UsageError(f"{part} is in OUT {args.out}: merge into another directory")
    root = repo_root()
    known = load_known(root / KNOWN_FILE) if (root / KNOWN_FILE).is_file() else ()
    # every input read and checked, every case judged again, before OUT is touched
    merged = merge_files(args.parts, known)
    prepare_results_dir(out, args.force)
    (out / "results.json").write_text(json.dumps(merged.doc, indent=2, default=str))
    cases = list(merged.cases)
    reach = root / REACHABILITY_FILE
    unreachable = load_reachability(reach) if reach.is_file() else ()
    scenarios = {s.case_id: s for a in all_arches() for s in scenarios_for(a)}
    command = "axharness merge " + " ".join(str(p) for p in args.parts)
    write_junit(cases, out / "junit.xml", merged.extra)
    write_report(cases, scenarios, known, out / "report.md", command, unreachable, merged.extra)
    write_html(cases, scenarios, known, out / "report.html", command, unreachable, merged.extra)
    print(summary_table(cases))
    print(f"\n{len(cases)} cases from {len(args.parts)} part(s); results: "
          f"{out / 'results.json'}; report: {out / 'report.md'}")
    failures = [c for c in cases if c.verdict.is_failure]
    if not failures:
        return 0
    return 3 if all(c.verdict is Verdict.INFRA for c in failures) else 2
