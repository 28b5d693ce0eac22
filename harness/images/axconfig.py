"""ArceOS platform configuration (AX_CONFIG_PATH) for static-platform builds.

Upstream's xtask (axbuild / ax-config-gen) merges the `ax-config` crate's defaults with the
platform crate's `axconfig.toml` into `.axconfig.toml`. Without it, `ax-config` falls back to a
dummy platform and ax-hal links the kernel at the wrong address. The trailing comments of these
files are type annotations that ax-config's macros read (`# uint`, `# [(uint, uint)]`), so the
merge works on the text: every entry keeps its raw lines and its comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InfraError

_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
_TABLE = re.compile(r"^\s*\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$")


@dataclass(frozen=True, slots=True)
class Entry:
    table: str  # "" for the top level
    key: str
    text: str  # the whole `key = value  # type` text, possibly several lines
    type_comment: str  # "# uint" etc., "" if none


def _code(line: str) -> str:
    """The line without its comment (quotes in these files never contain '#')."""
    return line.split("#", 1)[0]


def parse_entries(text: str, where: str) -> list[Entry]:
    entries: list[Entry] = []
    table = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _TABLE.match(line)
        if m:
            table = m.group(1)
            i += 1
            continue
        k = _KEY.match(line)
        if not k:
            if _code(line).strip():
                raise InfraError(f"{where}:{i + 1}: cannot read axconfig line {line!r}")
            i += 1
            continue
        chunk = [line]
        depth = _code(line).count("[") - _code(line).count("]")
        while depth > 0 and i + 1 < len(lines):
            i += 1
            chunk.append(lines[i])
            depth += _code(lines[i]).count("[") - _code(lines[i]).count("]")
        last = chunk[-1]
        comment = last[len(_code(last)):].strip()
        entries.append(Entry(table, k.group(1), "\n".join(chunk), comment))
        i += 1
    return entries


def _with_value(entry: Entry, value: int | str) -> Entry:
    rendered = f'"{value}"' if isinstance(value, str) else hex(value) if value >= 10 else str(value)
    text = f"{entry.key} = {rendered}" + (f"  {entry.type_comment}" if entry.type_comment else "")
    return Entry(entry.table, entry.key, text, entry.type_comment)


def generate(base_file: Path, platform_file: Path, overrides: dict[str, int | str]) -> str:
    try:
        base = parse_entries(base_file.read_text(), str(base_file))
        plat = parse_entries(platform_file.read_text(), str(platform_file))
    except OSError as exc:
        raise InfraError(f"cannot read axconfig inputs: {exc}") from exc
    merged: dict[tuple[str, str], Entry] = {(e.table, e.key): e for e in base}
    for e in plat:
        old = merged.get((e.table, e.key))
        if old is not None and not e.type_comment and old.type_comment:
            e = Entry(e.table, e.key, f"{e.text}  {old.type_comment}", old.type_comment)
        merged[(e.table, e.key)] = e
    for dotted, value in overrides.items():
        table, _, key = dotted.rpartition(".")
        if (table, key) not in merged:
            raise InfraError(f"axconfig override {dotted}: no such key in {base_file} or "
                             f"{platform_file}")
        merged[(table, key)] = _with_value(merged[(table, key)], value)
    tables: dict[str, list[Entry]] = {}
    for (table, _), e in merged.items():
        tables.setdefault(table, []).append(e)
    out = [e.text for e in tables.pop("", [])]
    for table, items in tables.items():
        out += ["", f"[{table}]", *(e.text for e in items)]
    return "\n".join(out) + "\n"
