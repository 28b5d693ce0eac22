"""Which known schema and architecture a log looks like, for the error message of a log that
does not fit the schema it was parsed with ("this looks like the axvm-0.8 aarch64 schema").

Records are found loosely here (an axlog prefix `[  0.123456 … module:line] ` or the
synchronous `AXH-EXIT vm=<id> vcpu=<id> ` line, then a variant name of any known schema,
continued up to a `}` or `)` in column 0); every (schema, arch) then tries to parse them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.errors import HarnessError
from harness.schema.schema import Schema

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_START = re.compile(
    r"(?:AXH-EXIT vm=(?P<vm>\d+) vcpu=(?P<vcpu>\d+) "
    r"|\[ *\d+\.\d{6} (?:(?P<cpu>\d+)(?::(?P<task>\d+))? )?[^\s\[\]]+:\d+\] )"
    r"(?P<rec>(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?: \{.*|\(.*)?)\Z"
)


@dataclass(frozen=True, slots=True)
class Found:
    """A record candidate: 1-based line of its first line, its text (no ANSI, no CR) and the
    ids its prefix names (None when absent)."""

    line: int
    text: str
    vm: int | None
    vcpu: int | None
    cpu: int | None
    task: int | None


@dataclass(frozen=True, slots=True)
class Resemblance:
    """How many of the found records parse under one schema and architecture."""

    schema: str
    arch: str
    parsed: int
    total: int

    def label(self) -> str:
        return f"{self.schema} {self.arch}"


def _visible(line: str) -> str:
    line = _ANSI.sub("", line).rstrip("\r")
    return line[line.rfind("\r") + 1 :]


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def find_records(log: str | bytes, names: Iterable[str]) -> list[Found]:
    """Record candidates whose first word is one of `names`, in log order."""
    text = log.decode("utf-8", "replace") if isinstance(log, bytes) else log
    lines = [_visible(x) for x in text.split("\n")]
    known = frozenset(names)
    out: list[Found] = []
    i = 0
    while i < len(lines):
        m = _START.search(lines[i])
        if m is None or m.group("name") not in known:
            i += 1
            continue
        rec = [m.group("rec")]
        j = i
        if rec[0].endswith(("{", "(")):
            while j + 1 < len(lines):
                j += 1
                rec.append(lines[j])
                if lines[j] in ("}", ")"):
                    break
        out.append(Found(i + 1, "\n".join(rec), _int(m.group("vm")), _int(m.group("vcpu")),
                         _int(m.group("cpu")), _int(m.group("task"))))
        i = j + 1
    return out


def resemblances(log: str | bytes, schemas: Iterable[Schema]) -> list[Resemblance]:
    """Every (schema, arch) with the number of records it parses, best first."""
    every = list(schemas)
    names = frozenset(n for s in every for n in s.rust_names())
    found = find_records(log, names)
    out: list[Resemblance] = []
    for s in every:
        for arch in s.arches:
            ok = 0
            for rec in found:
                try:
                    s.parse(arch, rec.text)
                except HarnessError:
                    continue
                ok += 1
            out.append(Resemblance(s.id, arch, ok, len(found)))
    return sorted(out, key=lambda r: -r.parsed)


def _who(best: list[Resemblance], every: list[Schema]) -> str:
    """`the axvm-0.8 aarch64 schema`, `the axvcpu-0.6 schema` (every arch alike), or `one of
    …` when several schemas fit equally."""
    arches: dict[str, list[str]] = {}
    for r in best:
        arches.setdefault(r.schema, []).append(r.arch)
    names = []
    for sid, found in arches.items():
        all_arches = next(s.arches for s in every if s.id == sid)
        names.append(sid if tuple(found) == all_arches else f"{sid} {'/'.join(found)}")
    return f"the {names[0]} schema" if len(names) == 1 else "one of " + ", ".join(names)


def explain(log: str | bytes, schemas: Iterable[Schema], told: Schema, arch: str) -> str | None:
    """None if `told`/`arch` parses every record found; else one sentence saying what the log
    looks like instead."""
    every = list(schemas)
    ranked = resemblances(log, every)
    mine = next(r for r in ranked if r.schema == told.id and r.arch == arch)
    if mine.total == 0 or mine.parsed == mine.total:
        return None
    top = ranked[0].parsed
    if top <= mine.parsed:
        return (f"no known schema fits this log better than {mine.label()} "
                f"({mine.parsed} of {mine.total} records parse)")
    best = [r for r in ranked if r.parsed == top]
    return (f"this looks like {_who(best, every)} ({top} of {mine.total} records parse), "
            f"not {mine.label()} ({mine.parsed} of {mine.total})")
