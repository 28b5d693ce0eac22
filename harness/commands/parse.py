"""`axharness parse LOG`: print every vCPU exit record of a serial log as one JSON line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from harness.errors import UsageError
from harness.model.exits import Generation, exit_to_json
from harness.model.values import ModelError
from harness.parse.axlog import ExitRecord, LogScanner, ParseError
from harness.parse.render import DebugForm

EXIT_OK = 0
EXIT_FAILED = 2
_CHUNK = 1 << 20


def register(subparsers: Any) -> None:
    """Add the `parse` sub-command."""
    p = subparsers.add_parser(
        "parse",
        help="parse the exit records of an axvisor serial log into JSON lines",
        description="Print one JSON object per AxVCpuExitReason record: "
        '{"line": N, "variant": NAME, "fields": {...}}. Exit 2 if any record fails to parse.',
    )
    p.add_argument("log", metavar="LOG", help="serial log file ('-' for stdin)")
    p.add_argument(
        "--axvcpu",
        default="0.7.2",
        metavar="VERSION",
        help="axvcpu version whose AxVCpuExitReason schema the log uses (default 0.7.2), "
        "or schema:0.1 / schema:0.2 / schema:0.6",
    )
    p.add_argument(
        "--compact-hex",
        action="store_true",
        help="single-line records were printed with {:x?} (bare hex), not {:?}",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Stream the log through a LogScanner, printing records as they complete."""
    try:
        generation = Generation.parse(args.axvcpu)
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    form = DebugForm.DEBUG_HEX if args.compact_hex else DebugForm.DEBUG
    name = "<stdin>" if args.log == "-" else args.log
    scanner = LogScanner(generation, name, form)
    out = sys.stdout
    try:
        stream = sys.stdin.buffer if args.log == "-" else open(args.log, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read log {args.log!r}: {exc.strerror or exc}") from None
    n_errors = 0

    def emit(items: list[ExitRecord | ParseError]) -> None:
        nonlocal n_errors
        for item in items:
            if isinstance(item, ExitRecord):
                obj = {"line": item.first_line, **exit_to_json(item.exit)}
                out.write(json.dumps(obj) + "\n")
            else:
                n_errors += 1
                print(str(item), file=sys.stderr)

    try:
        with stream:
            while True:
                try:
                    chunk = stream.read(_CHUNK)
                except OSError as exc:
                    raise UsageError(f"cannot read log {args.log!r}: {exc}") from None
                if not chunk:
                    break
                emit(scanner.feed(chunk))
    except IsADirectoryError:
        raise UsageError(f"cannot read log {args.log!r}: is a directory") from None
    emit(scanner.close())
    out.flush()
    return EXIT_FAILED if n_errors else EXIT_OK
