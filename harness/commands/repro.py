"""`axharness repro CASE_DIR`: one case again, from its artifacts directory alone.

For debugging a failure after the suite has moved on: boots the same image with the same
payload, shows the console, and sets the exits next to what the model expected; or hands the
console to the user, or waits for gdb, or writes all of it down as a shell script.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.images.cache import cache_root
from harness.run import repro


def register(sub: Any) -> None:
    p = sub.add_parser(
        "repro", help="re-run one case from its artifacts directory",
        description="Re-run one case from results/cases/<id>/: re-assemble payload.S into a "
        "copy of the cached image, boot it, print the console and the exits next to "
        "expected.json. Exit 0 when the exits are those the recorded run observed (with no "
        "record: those the model expected), 2 when not.")
    p.add_argument("casedir", type=Path, metavar="CASE_DIR",
                   help="a case directory (results/cases/<id>/)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--gdb", action="store_true",
                      help="start QEMU paused with a gdbstub; print how to attach; wait")
    mode.add_argument("--interactive", action="store_true",
                      help="hand the serial console to the user (Ctrl-] leaves)")
    mode.add_argument("--script", type=Path, metavar="OUT.sh",
                      help="write a self-contained shell script for the case instead of "
                      "running it")
    p.add_argument("--cache-dir", type=Path, help="image cache (default ~/.cache/axharness)")
    p.add_argument("--timeout-scale", type=float, default=1.0,
                   help="multiply the run's timeouts (batch mode)")
    p.add_argument("--quiet", action="store_true", help="do not echo the console")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.timeout_scale <= 0:
        raise UsageError("--timeout-scale must be > 0")
    if args.interactive and not sys.stdin.isatty():
        raise UsageError("--interactive needs a terminal on stdin")
    art = repro.load_case(args.casedir)
    image = repro.find_image(art, cache_root(args.cache_dir))
    if args.script is not None:
        repro.write_script(args.script, repro.render_script(art, image))
        print(f"wrote {args.script} (bash {args.script}; AXH_GDB=1 for a gdbstub)")
        return 0
    rundir = repro.prepare_rundir(art)
    kernel = repro.patch_kernel(art, image, rundir)
    same = {True: " (identical to the recorded run's)", False: " (NOT the recorded run's)",
            None: ""}[kernel.identical]
    print(f"case {art.case_id}: image {image.key[:12]}, kernel {kernel.path} "
          f"sha256 {kernel.sha256[:12]}{same}", file=sys.stderr)
    mode = "gdb" if args.gdb else "interactive" if args.interactive else "batch"
    ending, detail, console = repro.boot(
        art, image, kernel.path, rundir, mode=mode, timeout_scale=args.timeout_scale,
        out=None if args.quiet else sys.stdout.buffer)
    res = repro.judge(art, ending, detail, console)
    print()
    print(repro.side_by_side(art, res))
    for line in repro.summary(art, res, kernel):
        print(line)
    print(f"artifacts of this run: {rundir}")
    return repro.exit_code(res)
