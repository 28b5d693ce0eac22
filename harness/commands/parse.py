"""`axharness parse LOG`: print every vCPU exit record of a serial log as one JSON line.

The exit schema comes from --schema ID, or from the version of axvisor, axvm or axvcpu the log
is from (harness.model.schemas), and --arch for the current line's per-architecture enums.
When records do not parse, the last line on stderr says which known schema the log looks like
(harness.schema.detect)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from harness.errors import UsageError
from harness.model import schemas
from harness.model.convert import exit_to_json
from harness.parse.axlog import ExitRecord, LogScanner, ParseError
from harness.parse.render import DebugForm
from harness.schema import ARCHES, Schema
from harness.schema.detect import explain

EXIT_OK = 0
EXIT_FAILED = 2
_CHUNK = 1 << 20
_EXPLAIN_MAX = 64 << 20  # logs longer than this are not kept for the "looks like" hint


def register(subparsers: Any) -> None:
    """Add the `parse` sub-command."""
    p = subparsers.add_parser(
        "parse",
        help="parse the exit records of an axvisor serial log into JSON lines",
        description="Print one JSON object per exit record: "
        '{"line": N, "variant": KIND, "fields": {...}} (plus "vm"/"vcpu" for a synchronous '
        "AXH-EXIT record). Exit 2 if any record fails to parse.",
    )
    p.add_argument("log", metavar="LOG", help="serial log file ('-' for stdin)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--schema", default="", metavar="ID",
                       help="exit schema id (schemas/*.toml: axvcpu-0.1, axvcpu-0.2, "
                       "axvcpu-0.6, axvm-0.8)")
    which.add_argument("--axvisor", default="", metavar="VERSION",
                       help="the axvisor version the log is from (0.3.0-preview.2, 0.5.8, 0.8.2)")
    which.add_argument("--axvm", default="", metavar="VERSION",
                       help="the axvm version whose exit enums the log uses (0.8.3 - 0.8.5)")
    which.add_argument("--axvcpu", default="", metavar="VERSION",
                       help="the axvcpu version whose AxVCpuExitReason the log uses "
                       "(default 0.7.2); schema:0.1 / schema:0.2 / schema:0.6 name one")
    p.add_argument("--arch", choices=ARCHES, default="",
                   help="architecture of the log (needed for a schema with one enum per "
                   "architecture, such as axvm-0.8)")
    p.add_argument(
        "--compact-hex",
        action="store_true",
        help="single-line records were printed with {:x?} (bare hex), not {:?}",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Stream the log through a LogScanner, printing records as they complete."""
    schema, arch = _schema(args)
    form = DebugForm.DEBUG_HEX if args.compact_hex else DebugForm.DEBUG
    name = "<stdin>" if args.log == "-" else args.log
    scanner = LogScanner(schema, arch, name, form)
    kept: list[bytes] | None = []
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
                ids = {"vm": item.vm, "vcpu": item.vcpu} if item.vm is not None else {}
                obj = {"line": item.first_line, **ids, **exit_to_json(item.exit)}
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
                if kept is not None:
                    kept.append(chunk)
                    if sum(map(len, kept)) > _EXPLAIN_MAX:
                        kept = None
                emit(scanner.feed(chunk))
    except IsADirectoryError:
        raise UsageError(f"cannot read log {args.log!r}: is a directory") from None
    emit(scanner.close())
    out.flush()
    if n_errors and kept is not None:
        hint = explain(b"".join(kept), schemas.schema_set(), schema, arch)
        if hint is not None:
            print(f"{name}: note: {hint}", file=sys.stderr)
    return EXIT_FAILED if n_errors else EXIT_OK


def _schema(args: argparse.Namespace) -> tuple[Schema, str]:
    """The schema and architecture the options name (default: axvcpu 0.7.2's)."""
    axvcpu = args.axvcpu
    if axvcpu.startswith("schema:"):
        schema = schemas.schema({"0.1": "axvcpu-0.1", "0.2": "axvcpu-0.2",
                                 "0.6": "axvcpu-0.6"}.get(axvcpu[7:], axvcpu[7:]))
    elif args.schema or args.axvisor or args.axvm or axvcpu:
        schema = schemas.parse_spec(schema_id=args.schema, axvisor=args.axvisor,
                                    axvm=args.axvm, axvcpu=axvcpu)
    else:
        schema = schemas.for_crate("axvcpu", "0.7.2")
    if args.arch:
        if args.arch not in schema.arches:
            raise UsageError(f"schema {schema.id} has no exit enum for {args.arch}")
        return schema, args.arch
    names = {schema.enum(a).name: a for a in schema.arches}
    shared = all(schema.variants(a) == schema.variants(schema.arches[0]) for a in schema.arches)
    if len(names) > 1 and not shared:
        raise UsageError(f"schema {schema.id} has one exit enum per architecture "
                         f"({', '.join(f'{n}: {a}' for n, a in names.items())}): name --arch")
    return schema, schema.arches[0]
