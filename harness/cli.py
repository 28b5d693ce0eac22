"""`axharness` command line: dispatches to one module per sub-command in harness.commands.

Exit codes (shared by every sub-command, kvm-unit-tests style):
  0  success: everything checked passed (or was skipped with a reason)
  1  usage error (bad arguments, unreadable input named by the user)
  2  checks failed: parse errors, conformance divergences, regressions
  3  infrastructure error: missing QEMU/toolchain, image build failed, no KVM when required
  130, 143  stopped by SIGINT, SIGTERM (128 + the signal's number); children are stopped first
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from harness import signals
from harness.errors import HarnessError, Interrupted, UsageError

# Sub-commands, in the order `--help` lists them; each names a module in harness.commands.
COMMANDS: tuple[str, ...] = ("run", "list", "parse", "images", "compare", "merge", "repro", "fuzz",
                             "host")

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_FAILED = 2
EXIT_INFRA = 3


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="axharness",
        description="Build real axvisor images, boot them under QEMU and check every vCPU exit "
        "against a reference model of AxVCpuExitReason.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"harness.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"harness.commands.{name}":
                raise
            continue  # sub-command not built yet
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors; our table says 1
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        with signals.handled():  # SIGTERM, like SIGINT, unwinds: children are stopped
            rc: int = args.func(args)
    except Interrupted as exc:
        print(f"axharness: {exc}", file=sys.stderr)
        return exc.exit_code
    except UsageError as exc:
        print(f"axharness: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HarnessError as exc:
        print(f"axharness: {exc.kind}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("axharness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `axharness list | head`: the reader has what it wanted
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return rc


if __name__ == "__main__":
    sys.exit(main())
