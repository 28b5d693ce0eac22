"""Reviewed lists kept as TOML arrays of tables (known divergences, vCPU reachability): read
one, with the line each entry starts on, so every complaint can name file and line."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.textfile import read_text


def read_entries(path: Path, table: str) -> list[tuple[int, dict[str, Any]]]:
    """(line of `[[table]]`, entry) for every entry of the array `table` in `path`."""
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc
    starts = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip() == f"[[{table}]]"]
    entries = data.get(table, [])
    if not isinstance(entries, list):
        raise UsageError(f"{path}: `{table}` must be an array of tables ([[{table}]])")
    return [(starts[n] if n < len(starts) else 1, e) for n, e in enumerate(entries)]
