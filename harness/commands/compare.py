"""`axharness compare OLD.json NEW.json`: what changed between two runs of the suite.

Exit 2 on a regression (a new failure, a pass that became an expected failure, a case that
disappeared, a case skipped for anything but a host capability), so that a nightly job fails on
what got worse rather than on what was already known to be broken. An output file that cannot
be written is reported in one line and exits 1, but never turns a regression's 2 into a 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
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
                       "exit 2 on a regression (new failure, pass → xfail, case removed, "
                       "skip not for a host capability).")
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
    outputs: list[tuple[Path | None, Callable[[], str], bool]] = [
        (args.json, lambda: json.dumps(comparison_to_json(cmp), indent=2) + "\n", False),
        (args.markdown, lambda: render_markdown(cmp), True)]
    for path, text, append in outputs:
        if path is None:
            continue
        try:
            _write(path, text(), append=append)
        except UsageError as exc:
            if not cmp.regressions:
                raise
            print(f"axharness: error: {exc}", file=sys.stderr)  # the regression's 2 wins
    return 2 if cmp.regressions else 0
