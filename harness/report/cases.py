"""The cases that did not pass, as a reader needs them: verdict, the first differing exit field
by field, the known-divergence entry with its upstream source line, the artifacts (relative
to the report, so a downloaded CI artifact still links) and, for failures, the console's end."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.check.compare import ExitDiff
from harness.check.known import KnownDivergence
from harness.check.verdict import Verdict
from harness.run.case import CaseResult

# What a case directory may hold, in the order a reader opens them.
ARTIFACTS = ("console.log", "diagnostics.json", "internal-error.txt", "observed.jsonl",
             "expected.json", "payload.S", "cmdline.sh", "qmp.jsonl", "manifest.json")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]")
# Characters XML 1.0 cannot carry (and a reader does not want): C0 controls but tab/newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class FieldRow:
    field: str
    expected: str
    observed: str


@dataclass(frozen=True, slots=True)
class KnownView:
    id: str
    model: str
    observed: str
    source: str  # the upstream source line
    line: int  # of its [[divergence]] in known-divergences.toml


@dataclass(frozen=True, slots=True)
class CaseView:
    case_id: str
    image: str
    arch: str
    verdict: str
    failure: bool  # fails CI
    detail: str
    first_diff: str  # one line, or "" when the case has none
    diff_at: str  # where the first diff is: "exit #0 MmioWrite (console line 435)"
    fields: tuple[FieldRow, ...]  # the first differing exit, field by field
    more_diffs: int  # differing exits after the first
    known: tuple[KnownView, ...]
    artifacts_dir: str  # relative to the report; "" when the case left none
    artifacts: tuple[tuple[str, str], ...]  # (file name, relative path) that exist
    console_tail: str  # failures only

    @property
    def anchor(self) -> str:
        return case_anchor(self.case_id)


def case_anchor(case_id: str) -> str:
    """The HTML id of a case's entry in the list of cases that did not pass."""
    return "case-" + re.sub(r"[^A-Za-z0-9_-]", "-", case_id)


def fmt_value(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, list):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {fmt_value(v)}" for k, v in value.get("fields", {}).items())
        return f"{value.get('variant')} {{ {inner} }}" if inner else str(value.get("variant"))
    return str(value)


def diff_rows(diff: ExitDiff) -> tuple[FieldRow, ...]:
    if diff.kind == "fields":
        return tuple(FieldRow(f.field, fmt_value(f.expected), fmt_value(f.observed))
                     for f in diff.fields)
    exp = fmt_value(diff.expected) if diff.expected is not None else "no exit"
    obs = fmt_value(diff.observed) if diff.observed is not None else "not observed"
    return (FieldRow("exit", exp, obs),)


def diff_at(diff: ExitDiff) -> str:
    where = f" (console line {diff.observed_line})" if diff.observed_line else ""
    return (f"vCPU {diff.vcpu} " if diff.vcpu else "") + f"exit #{diff.index} {diff.variant}{where}"


def first_field(diff: ExitDiff) -> str:
    """The short name of what differs first: `MmioWrite.data`, `NestedPageFault missing`."""
    if diff.kind == "fields" and diff.fields:
        more = f" +{len(diff.fields) - 1}" if len(diff.fields) > 1 else ""
        return f"{diff.variant}.{diff.fields[0].field}{more}"
    if diff.kind == "variant":
        obs = (diff.observed or {}).get("variant", "?")
        return f"{diff.variant} → {obs}"
    return f"{diff.variant} {diff.kind}"


def console_tail(casedir: Path, lines: int = 30, limit: int = 4000) -> str:
    """The last lines of the case's console, without colours or control characters."""
    try:
        with (casedir / "console.log").open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            raw = f.read()
    except OSError:
        return ""
    text = _CONTROL.sub("", _ANSI.sub("", raw.decode("utf-8", "replace").replace("\r", "")))
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])[-limit:]


def relative(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def case_view(case: CaseResult, known: Sequence[KnownDivergence], base: Path) -> CaseView:
    """`base`: the directory of the report that will link to the artifacts."""
    by_id = {k.id: k for k in known}
    casedir = Path(case.artifacts)
    present = casedir.is_dir()
    first = case.diffs[0] if case.diffs else None
    return CaseView(
        case_id=case.case_id, image=case.case_id.split("/", 1)[0], arch=case.arch,
        verdict=case.verdict.value, failure=case.verdict.is_failure, detail=case.detail,
        first_diff=first.describe() if first else "", diff_at=diff_at(first) if first else "",
        fields=diff_rows(first) if first else (), more_diffs=max(0, len(case.diffs) - 1),
        known=tuple(KnownView(k.id, k.model, k.observed, k.source, k.line)
                    for k in (by_id.get(i) for i in case.known) if k is not None),
        artifacts_dir=relative(casedir, base) if present else "",
        artifacts=tuple((n, relative(casedir / n, base)) for n in ARTIFACTS
                        if present and (casedir / n).is_file()),
        console_tail=console_tail(casedir) if case.verdict.is_failure and present else "")


def not_passed(cases: Sequence[CaseResult], known: Sequence[KnownDivergence], base: Path
               ) -> tuple[CaseView, ...]:
    """Every case that is not a pass: failures first, then expected failures, then skips."""
    def rank(c: CaseResult) -> tuple[int, str]:
        return (0 if c.verdict.is_failure else 1 if c.verdict is Verdict.XFAIL else 2,
                c.case_id)

    return tuple(case_view(c, known, base)
                 for c in sorted((c for c in cases if c.verdict is not Verdict.PASS), key=rank))
