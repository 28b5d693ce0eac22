"""Where a command may write a file the user named: never over one of its own inputs, and
never over an existing file unless asked (nothing the user gave is lost or overwritten)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.errors import UsageError


def check_output(path: Path, flag: str, inputs: Iterable[Path] = (), *,
                 force: bool = False, may_exist: bool = False) -> None:
    """One-line UsageError when `path` (given with `flag`) is one of `inputs`, or exists
    without `force` (unless `may_exist`: a file the command appends to)."""
    target = path.resolve()
    for given in inputs:
        if given.resolve() == target:
            raise UsageError(f"{flag} {path} is one of the command's inputs; choose another path")
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a directory; name a file")
    if path.exists() and not (force or may_exist):
        raise UsageError(f"{flag} {path} exists; pass --force to replace it or choose another "
                         "path")
