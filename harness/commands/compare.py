"""`axharness compare OLD.json NEW.json`: what changed between two runs of the suite.

Exit 2 on a regression (a new failure, a pass that became an expected failure, a case that
disappeared), so that a nightly job fails on what got worse rather than on what was already
known to be broken.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.report.compare import (
    compare_results,
    comparison_to_json,
    read_results,
    render_markdown,
    render_table,
)


def register(sub: Any) -> None:
    p = sub.add_parser("compare", help="compare two results.json files (exit 2 on regression)",
                       description="Compare two results files written by `axharness run`; "
                       "exit 2 on a regression (new failure, pass → xfail, case removed).")
    p.add_argument("old", type=Path, help="results.json of the earlier run")
    p.add_argument("new", type=Path, help="results.json of the later run")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the comparison as JSON")
    p.add_argument("--markdown", type=Path, metavar="OUT",
                   help="also write it as Markdown (appended: works with $GITHUB_STEP_SUMMARY)")
    p.set_defaults(func=run)


def _write(path: Path, text: str, *, append: bool = False) -> None:
    try:
        with path.open("a" if append else "w") as f:
            f.write(text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    cmp = compare_results(read_results(args.old), read_results(args.new))
    print(render_table(cmp))
    if args.json is not None:
        _write(args.json, json.dumps(comparison_to_json(cmp), indent=2) + "\n")
    if args.markdown is not None:
        _write(args.markdown, render_markdown(cmp), append=True)
    return 2 if cmp.regressions else 0
