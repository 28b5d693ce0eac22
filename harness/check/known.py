"""Known divergences: reviewed differences between axvisor and the reference model.

An entry turns a matching divergence into an expected failure (XFAIL), never into a pass. It
names the architecture, the axvisor versions, the variant and fields, the upstream source
location, what the model expects and what axvisor does, the scenarios where it must show, and
an expiry date. An entry that no longer matches a scenario it lists (fixed upstream?), or that
has expired, makes that case an ERROR with a message saying which entry and why.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harness.check.compare import ExitDiff
from harness.check.verdict import Verdict
from harness.errors import UsageError
from harness.reviewed_list import read_entries
from harness.run.case import CaseResult

_KEYS = {"id", "arch", "axvisor", "variant", "fields", "scenarios", "model", "observed",
         "source", "reviewed", "expires"}
_OPTIONAL = {"kind"}
# "fields": the exit comes with the listed fields different; "missing": the exit never comes
# (axvisor errs or panics instead), `fields` is then empty.
KINDS = ("fields", "missing")


@dataclass(frozen=True, slots=True)
class KnownDivergence:
    id: str
    arch: str
    axvisor: tuple[str, ...]
    variant: str
    fields: tuple[str, ...]
    scenarios: tuple[str, ...]
    model: str
    observed: str
    source: str
    reviewed: _dt.date
    expires: _dt.date
    line: int
    kind: str = "fields"

    def covers(self, arch: str, version: str, diff: ExitDiff) -> bool:
        return (arch == self.arch and version in self.axvisor and diff.kind == self.kind
                and diff.variant == self.variant
                and {f.field for f in diff.fields} <= set(self.fields))


def load_known(path: Path) -> tuple[KnownDivergence, ...]:
    out = []
    seen: set[str] = set()
    for line, entry in read_entries(path, "divergence"):

        def bad(what: str, line: int = line) -> UsageError:
            return UsageError(f"{path}:{line}: [[divergence]] {what}")

        if not _KEYS <= set(entry) <= _KEYS | _OPTIONAL:
            missing, extra = _KEYS - set(entry), set(entry) - _KEYS - _OPTIONAL
            raise bad(f"needs exactly {sorted(_KEYS)} (optionally {sorted(_OPTIONAL)}); "
                      f"missing {sorted(missing)}, unknown {sorted(extra)}")
        kind = entry.get("kind", "fields")
        if kind not in KINDS:
            raise bad(f"`kind` must be one of {', '.join(KINDS)}, got {kind!r}")
        for key in ("axvisor", "fields", "scenarios"):
            if not isinstance(entry[key], list) or not all(isinstance(v, str) for v in entry[key]):
                raise bad(f"`{key}` must be a list of strings")
        if (kind == "missing") != (not entry["fields"]):
            raise bad("`fields` must be empty exactly when `kind` is \"missing\"")
        for key in ("reviewed", "expires"):
            if not isinstance(entry[key], _dt.date):
                raise bad(f"`{key}` must be a date (YYYY-MM-DD)")
        if not re.match(r"^[a-z0-9][a-z0-9-]*$", str(entry["id"])) or entry["id"] in seen:
            raise bad(f"`id` {entry['id']!r} must be unique, lower-case words joined by -")
        seen.add(entry["id"])
        out.append(KnownDivergence(
            id=entry["id"], arch=entry["arch"], axvisor=tuple(entry["axvisor"]),
            variant=entry["variant"], fields=tuple(entry["fields"]),
            scenarios=tuple(entry["scenarios"]), model=entry["model"],
            observed=entry["observed"], source=entry["source"], reviewed=entry["reviewed"],
            expires=entry["expires"], line=line, kind=kind))
    return tuple(out)


def explaining(arch: str, version: str, diff: ExitDiff, known: Sequence[KnownDivergence]
               ) -> tuple[KnownDivergence, ...]:
    """Entries that explain `diff`: one entry that covers it, else — for a fields diff —
    entries of its arch, version and variant whose fields together include every differing
    field (two reviewed causes in one access, e.g. a sign-extending writeback load on aarch64:
    SSE ignored *and* the ISV = 0 syndrome decoded). Empty: nothing known explains it."""
    single = [k for k in known if k.covers(arch, version, diff)]
    if single:
        return (single[0],)
    if diff.kind != "fields":
        return ()
    differing = {f.field for f in diff.fields}
    parts = tuple(k for k in known if k.arch == arch and version in k.axvisor
                  and k.variant == diff.variant and differing & set(k.fields))
    covered: set[str] = set().union(*(set(k.fields) for k in parts)) if parts else set()
    return parts if differing <= covered else ()


def apply_known(case: CaseResult, known: Sequence[KnownDivergence],
                today: _dt.date | None = None) -> CaseResult:
    """Reclassify one case: DIVERGENCE → XFAIL when every diff is covered; stale → ERROR."""
    today = today or _dt.date.today()
    version = str(case.image.get("axvisor", ""))
    relevant = [k for k in known if k.arch == case.arch and version in k.axvisor]
    if case.verdict not in (Verdict.PASS, Verdict.DIVERGENCE):
        return case
    explained = [explaining(case.arch, version, d, relevant) for d in case.diffs]
    matched = {k.id for entries in explained for k in entries}
    stale = [k for k in relevant if case.scenario in k.scenarios and k.id not in matched]
    if stale:
        k = stale[0]
        return replace(case, verdict=Verdict.ERROR, detail=(
            f"known divergence {k.id} (line {k.line}) lists this scenario but did not match: "
            f"fixed upstream or changed? Review the entry. Case: {case.detail}"))
    if case.verdict is Verdict.PASS:
        return case
    expired = [k for k in relevant if k.id in matched and k.expires < today]
    if expired:
        return replace(case, verdict=Verdict.ERROR, detail=(
            f"known divergence {expired[0].id} expired on {expired[0].expires}; review it. "
            f"Case: {case.detail}"))
    covered = bool(case.diffs) and all(explained)
    if covered:
        joint = sorted({k.id for entries in explained if len(entries) > 1 for k in entries})
        detail = case.detail + (f" (explained jointly by {', '.join(joint)})" if joint else "")
        return replace(case, verdict=Verdict.XFAIL, known=tuple(sorted(matched)), detail=detail)
    return replace(case, known=tuple(sorted(matched)))
