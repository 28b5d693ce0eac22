"""`axharness repro CASE_DIR`: one case again, from its artifacts directory alone.

For debugging a failure after the suite has moved on, here or on another machine: boots the
case's own patched kernel (rebuilt from the cached image only when the case directory no
longer has it), runs it to the scenario's declared end, prints the verdict and the exits next
to expected.json; or hands the console to the user, or waits for gdb, or writes all of it down
as a shell script or one self-contained archive (--bundle).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.commands.outputs import check_output
from harness.errors import UsageError
from harness.images.cache import cache_root
from harness.qemu.profiles import check_timeout_scale
from harness.report.repro_view import side_by_side, summary
from harness.run import repro
from harness.run.artifacts import CaseArtifacts, declared_end, kit_of, known_covers, load_case
from harness.run.bundle import write_bundle
from harness.run.kit import DeclaredEnd
from harness.run.repro_script import render_script, write_script


def register(sub: Any) -> None:
    p = sub.add_parser(
        "repro", help="re-run one case from its artifacts directory",
        description="Re-run one case from results/cases/<id>/ with its own patched kernel "
        "(re-assembled into a copy of the cached image only when the case directory lacks "
        "it), to the scenario's declared end; print the verdict, the console and the exits "
        "next to expected.json. Exit 0 when the exits are those the recorded run observed "
        "(with no record: those the model expected), 2 when not.")
    p.add_argument("casedir", type=Path, metavar="CASE_DIR",
                   help="a case directory (results/cases/<id>/)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--gdb", action="store_true",
                      help="start QEMU paused with a gdbstub; print how to attach; wait")
    mode.add_argument("--interactive", action="store_true",
                      help="hand the serial console to the user (Ctrl-] leaves)")
    mode.add_argument("--script", type=Path, metavar="OUT.sh",
                      help="write a shell script that rebuilds the patched kernel from the "
                      "cached image and runs it to a verdict, instead of running it")
    mode.add_argument("--bundle", type=Path, metavar="OUT.tar.gz",
                      help="write one self-contained archive (kernel, ELF, QEMU line, "
                      "expected exits, run.py: QEMU and python3 only) instead of running it")
    p.add_argument("--cache-dir", type=Path, help="image cache (default ~/.cache/axharness)")
    p.add_argument("--timeout-scale", type=float, default=1.0,
                   help="multiply the run's timeouts (batch mode)")
    p.add_argument("--quiet", action="store_true", help="do not echo the console")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --script or --bundle file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_timeout_scale(args.timeout_scale)
    if args.interactive and not sys.stdin.isatty():
        raise UsageError("--interactive needs a terminal on stdin")
    art = load_case(args.casedir)
    for flag, out in (("--script", args.script), ("--bundle", args.bundle)):
        if out is not None:  # never over one of the case's own files, nor silently over any
            check_output(out, flag, [p for p in art.casedir.rglob("*") if p.is_file()],
                         force=args.force)
    cache = cache_root(args.cache_dir)
    end, note = declared_end(art)
    if note:
        print(f"note: {note}", file=sys.stderr)
    if args.script is not None:
        write_script(args.script, render_script(art, repro.find_image(art, cache), end))
        print(f"wrote {args.script} (bash {args.script}: runs it to a verdict; AXH_GDB=1 for "
              "a gdbstub)")
        return 0
    if args.bundle is not None:
        return _bundle(args, art, cache, end)
    rundir = repro.prepare_rundir(art)
    got = repro.inputs(art, cache, rundir)
    same = {True: " (identical to the recorded run's)", False: " (NOT the recorded run's)",
            None: ""}[got.kernel.identical]
    print(f"case {art.case_id}: kernel {got.kernel.path} ({got.kernel.source}) sha256 "
          f"{got.kernel.sha256[:12]}{same}; runs to {end.describe()}", file=sys.stderr)
    mode = "gdb" if args.gdb else "interactive" if args.interactive else "batch"
    ending, detail, console = repro.boot(
        art, got.kernel.path, rundir, elf=got.elf, end=end, mode=mode,
        timeout_scale=args.timeout_scale, out=None if args.quiet else sys.stdout.buffer)
    res = repro.judge(art, ending, detail, console, end)
    print()
    print(side_by_side(art, res))
    for line in summary(art, res, got.kernel):
        print(line)
    print(f"artifacts of this run: {rundir}")
    return repro.exit_code(res)


def _bundle(args: argparse.Namespace, art: CaseArtifacts, cache: Path,
            end: DeclaredEnd) -> int:
    with tempfile.TemporaryDirectory(prefix="axh-bundle-") as tmp:
        got = repro.inputs(art, cache, Path(tmp))
        elf = "axvisor.elf" if got.elf is not None else ""
        kit = kit_of(art, got.kernel.path.name, elf, end, known_covers(art.known))
        qemu = _recorded_qemu(art)
        out = write_bundle(art, kit, got.kernel.path, got.elf, args.bundle, qemu)
    print(f"wrote {out.path} ({out.size} bytes, {len(out.members)} files; kernel "
          f"{got.kernel.source}): tar -xzf {out.path.name} && python3 "
          f"{art.casedir.name}/run.py")
    return 0


def _recorded_qemu(art: CaseArtifacts) -> str:
    try:
        m = json.loads((art.casedir / "manifest.json").read_text())
        return str(m.get("qemu", {}).get("version", ""))
    except (OSError, ValueError, AttributeError):
        return ""
