"""`axharness compare A.json [B.json] [--image-a NAME --image-b NAME]`: what changed between
two runs of the suite, or between two images (A/B: the stock image and a fixed one, of one
run or of two), scenario by scenario, with what differs between the images that produced them.

Exit 2 on a regression in B (a new failure, a pass that became an expected failure, a case that
disappeared, a case skipped for anything but a host capability), so that a CI job fails on
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

from harness.commands.outputs import check_output
from harness.errors import UsageError
from harness.report.compare import (
    compare_sides,
    comparison_to_json,
    read_results,
    render_markdown,
    render_table,
)
from harness.report.sides import select


def register(sub: Any) -> None:
    p = sub.add_parser("compare", help="compare two runs, or two images (A/B); exit 2 on "
                       "regression",
                       description="Compare two results files written by `axharness run` "
                       "case by case, or two images of one architecture scenario by scenario "
                       "(--image-a/--image-b: of one results file, or one image from each); "
                       "say what differs between the images (commit, key, crates patched or "
                       "local, QEMU). Exit 2 on a regression in the second (new failure, "
                       "pass → xfail, case removed, skip not for a host capability).")
    p.add_argument("old", type=Path, metavar="A.json",
                   help="results.json of the earlier run (side A)")
    p.add_argument("new", type=Path, nargs="?", metavar="B.json",
                   help="results.json of the later run (side B; default: A.json, with "
                   "--image-a and --image-b)")
    p.add_argument("--image-a", metavar="NAME", default="",
                   help="side A: this image's cases (lined up with B's by scenario)")
    p.add_argument("--image-b", metavar="NAME", default="",
                   help="side B: this image's cases")
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
    if bool(args.image_a) != bool(args.image_b):
        raise UsageError("--image-a and --image-b go together (one image per side)")
    if args.new is None and not args.image_a:
        raise UsageError("one results file: name the two images with --image-a and --image-b")
    inputs = [p for p in (args.old, args.new) if p is not None]
    if args.json is not None:
        check_output(args.json, "--json", inputs, force=True)
    if args.markdown is not None:  # appended to: $GITHUB_STEP_SUMMARY exists already
        check_output(args.markdown, "--markdown", inputs, may_exist=True)
    first = read_results(args.old)
    second = first if args.new is None or args.new == args.old else read_results(args.new)
    labels = ("A", "B") if args.image_a else ("old", "new")
    cmp = compare_sides(select(first, args.image_a, labels[0]),
                        select(second, args.image_b, labels[1]))
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
