"""Known divergences: reviewed differences between axvisor and the reference model.

An entry turns a matching divergence into an expected failure (XFAIL), never into a pass. It
names the architecture, the axvisor versions, the variant and fields, the upstream source
location, what the model expects and what axvisor does, the scenarios where it must show, and
an expiry date. An entry that no longer matches a scenario it lists (fixed upstream?), or that
has expired, makes that case an ERROR with a message saying which entry and why.

An entry explains a diff only for the access it documents: in a catalogue scenario, the
scenarios it lists; in a fuzz program (in no list), an exit whose action is of the entry's
`access` class. Two entries that both touch `data` of an MmioWrite are two causes, and one
must not absorb the other's regression because the fields happen to agree.

An entry also applies only to images that build the crate it quotes (`crate`) unmodified from
crates.io (harness.check.scope): on an image with that crate patched or local, it is noted as
not applicable and the scenarios it lists are judged by the model alone, so a fix goes green
there while the stock image keeps its xfail in the same run.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harness.check.access import AccessClass, access_from_toml
from harness.check.compare import ExitDiff
from harness.check.scope import KnownNote, case_crates, not_applicable
from harness.check.verdict import Verdict
from harness.errors import UsageError
from harness.reviewed_list import read_entries
from harness.run.case import CaseResult

_KEYS = {"id", "arch", "axvisor", "variant", "fields", "scenarios", "model", "observed",
         "source", "reviewed", "expires"}
_OPTIONAL = {"kind", "access", "crate", "reviewed_patches"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# "fields": the exit comes with the listed fields different; "missing": the exit never comes
# (axvisor errs or panics instead), `fields` is then empty.
KINDS = ("fields", "missing")
_CRATE = re.compile(r"^[A-Za-z0-9_-]+ \d+\.\d+\.\d+\S*$")

# vCPU → the action behind each of its expected exits, in order (None: the runtime's own trap).
ExitActions = Mapping[int, Sequence[object | None]]


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
    access: AccessClass | None = None  # None: applies to its listed scenarios only
    crate: str = ""  # "name version" of the crate the source cites ("" not recorded)
    # Digests of patch sets of `crate` (an image's modified_crates sha256) reviewed as not
    # touching the cited code: the entry applies to images built with exactly those too.
    reviewed_patches: tuple[str, ...] = ()

    def applies(self, arch: str, version: str, scenario: str, action: object | None) -> bool:
        """This entry may explain a diff of `scenario` whose exit came from `action`."""
        return arch == self.arch and version in self.axvisor and (
            scenario in self.scenarios
            or (action is not None and self.access is not None and self.access.matches(action)))

    def covers(self, diff: ExitDiff) -> bool:
        """The diff is of the entry's kind and variant, in fields the entry lists."""
        return (diff.kind == self.kind and diff.variant == self.variant
                and {f.field for f in diff.fields} <= set(self.fields))


def _entry(path: Path, line: int, entry: dict[str, object], seen: set[str]) -> KnownDivergence:
    def bad(what: str) -> UsageError:
        return UsageError(f"{path}:{line}: [[divergence]] {what}")

    if not _KEYS <= set(entry) <= _KEYS | _OPTIONAL:
        missing, extra = _KEYS - set(entry), set(entry) - _KEYS - _OPTIONAL
        raise bad(f"needs exactly {sorted(_KEYS)} (optionally {sorted(_OPTIONAL)}); "
                  f"missing {sorted(missing)}, unknown {sorted(extra)}")
    kind = entry.get("kind", "fields")
    if kind not in KINDS:
        raise bad(f"`kind` must be one of {', '.join(KINDS)}, got {kind!r}")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("axvisor", "fields", "scenarios"):
        value = entry[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(f"`{key}` must be a list of strings")
        lists[key] = tuple(value)
    if (kind == "missing") != (not lists["fields"]):
        raise bad("`fields` must be empty exactly when `kind` is \"missing\"")
    for key in ("reviewed", "expires"):
        if not isinstance(entry[key], _dt.date):
            raise bad(f"`{key}` must be a date (YYYY-MM-DD)")
    strings = {k: entry[k] for k in ("id", "arch", "variant", "model", "observed", "source")}
    for key, value in strings.items():
        if not isinstance(value, str):
            raise bad(f"`{key}` must be a string")
    kid = str(strings["id"])
    if not re.match(r"^[a-z0-9][a-z0-9-]*$", kid) or kid in seen:
        raise bad(f"`id` {kid!r} must be unique, lower-case words joined by -")
    access = None
    if "access" in entry:
        try:
            access = access_from_toml(entry["access"])
        except ValueError as exc:
            raise bad(str(exc)) from None
    crate = entry.get("crate", "")
    if crate and (not isinstance(crate, str) or not _CRATE.match(crate)
                  or not str(strings["source"]).startswith(crate + " ")):
        raise bad(f"`crate` must be \"NAME VERSION\" and `source` must start with it, got "
                  f"{crate!r}")
    reviewed_patches = entry.get("reviewed_patches", [])
    if not isinstance(reviewed_patches, list) or not all(
            isinstance(d, str) and _SHA256.match(d) for d in reviewed_patches) or (
            reviewed_patches and not crate):
        raise bad("`reviewed_patches` must be a list of sha256 digests (an image's "
                  "modified_crates sha256 of `crate`), and needs `crate`")
    seen.add(kid)
    reviewed, expires = entry["reviewed"], entry["expires"]
    assert isinstance(reviewed, _dt.date) and isinstance(expires, _dt.date)
    return KnownDivergence(
        id=kid, arch=str(strings["arch"]), axvisor=lists["axvisor"],
        variant=str(strings["variant"]), fields=lists["fields"], scenarios=lists["scenarios"],
        model=str(strings["model"]), observed=str(strings["observed"]),
        source=str(strings["source"]), reviewed=reviewed, expires=expires, line=line,
        kind=str(kind), access=access, crate=str(crate),
        reviewed_patches=tuple(reviewed_patches))


def load_known(path: Path) -> tuple[KnownDivergence, ...]:
    seen: set[str] = set()
    return tuple(_entry(path, line, entry, seen)
                 for line, entry in read_entries(path, "divergence"))


def action_of(diff: ExitDiff, actions: ExitActions | None) -> object | None:
    """The action behind the diff's expected exit (None: not known, or no expected exit)."""
    if actions is None or diff.expected is None:
        return None
    stream = actions.get(diff.vcpu, ())
    return stream[diff.index] if diff.index < len(stream) else None


def explaining(arch: str, version: str, diff: ExitDiff, known: Sequence[KnownDivergence], *,
               scenario: str, action: object | None = None) -> tuple[KnownDivergence, ...]:
    """Entries that explain `diff` (of `scenario`, its exit coming from `action` when known):
    among the entries that apply to it, one that covers it, else — for a fields diff — those
    of its variant whose fields together include every differing field (two reviewed causes
    in one access, e.g. a sign-extending writeback load on aarch64: SSE ignored *and* the
    ISV = 0 syndrome decoded). Empty: nothing known explains it."""
    usable = [k for k in known if k.applies(arch, version, scenario, action)]
    single = [k for k in usable if k.covers(diff)]
    if single:
        return (single[0],)
    if diff.kind != "fields":
        return ()
    differing = {f.field for f in diff.fields}
    parts = tuple(k for k in usable if k.kind == "fields" and k.variant == diff.variant
                  and differing & set(k.fields))
    covered: set[str] = set().union(*(set(k.fields) for k in parts)) if parts else set()
    return parts if differing <= covered else ()


def in_scope(case: CaseResult, known: Sequence[KnownDivergence]
             ) -> tuple[list[KnownDivergence], list[KnownNote]]:
    """(entries that apply to the case's image, notes for those listing its scenario that do
    not): an entry applies to its architecture and axvisor versions, and only where the image
    builds the crate it quotes unmodified from crates.io (harness.check.scope)."""
    version = str(case.image.get("axvisor", ""))
    crates = case_crates(case.image)
    applying, notes = [], []
    for k in known:
        if k.arch != case.arch or version not in k.axvisor:
            continue
        why = not_applicable(k.crate, crates, k.reviewed_patches)
        if not why:
            applying.append(k)
        elif case.scenario in k.scenarios:
            notes.append(KnownNote(k.id, "not-applicable", why))
    return applying, notes


def apply_known(case: CaseResult, known: Sequence[KnownDivergence],
                today: _dt.date | None = None, *, actions: ExitActions | None = None
                ) -> CaseResult:
    """Reclassify one case: DIVERGENCE → XFAIL when every diff is explained; stale → ERROR.
    `actions`: the action behind each expected exit (fuzz programs), for entries' `access`.
    Entries listing the scenario that were evaluated without an xfail are noted on the case
    (`known_notes`): not applicable to this image, stale, expired."""
    today = today or _dt.date.today()
    version = str(case.image.get("axvisor", ""))
    if case.verdict not in (Verdict.PASS, Verdict.DIVERGENCE):
        return case
    relevant, notes = in_scope(case, known)

    def noted(verdict: Verdict, detail: str, more: Sequence[KnownNote] = (),
              matched: Sequence[str] = ()) -> CaseResult:
        every = (*notes, *more)
        tail = "".join(f" ({n.describe()})" for n in notes)
        return replace(case, verdict=verdict, detail=detail + tail, known_notes=every,
                       known=tuple(sorted(matched)))

    explained = [explaining(case.arch, version, d, relevant, scenario=case.scenario,
                            action=action_of(d, actions)) for d in case.diffs]
    matched = {k.id for entries in explained for k in entries}
    stale = [k for k in relevant if case.scenario in k.scenarios and k.id not in matched]
    if stale:
        k = stale[0]
        return noted(Verdict.ERROR, (
            f"known divergence {k.id} (line {k.line}) lists this scenario but did not match: "
            f"fixed upstream or changed? Review the entry. Case: {case.detail}"),
            [KnownNote(s.id, "stale", f"applies to image {case.image.get('recipe', '?')} and "
                       "lists the scenario, but did not match") for s in stale])
    if case.verdict is Verdict.PASS:
        return noted(Verdict.PASS, case.detail) if notes else case
    expired = [k for k in relevant if k.id in matched and k.expires < today]
    if expired:
        return noted(Verdict.ERROR, (
            f"known divergence {expired[0].id} expired on {expired[0].expires}; review it. "
            f"Case: {case.detail}"),
            [KnownNote(k.id, "expired", f"expired on {k.expires}") for k in expired])
    # A missed declared end is the case's failure whatever its exits: no entry explains it.
    covered = bool(case.diffs) and all(explained) and not case.end_failed
    if covered:
        joint = sorted({k.id for entries in explained if len(entries) > 1 for k in entries})
        detail = case.detail + (f" (explained jointly by {', '.join(joint)})" if joint else "")
        return noted(Verdict.XFAIL, detail, matched=sorted(matched))
    return noted(case.verdict, case.detail, matched=sorted(matched))


def check_references(known: Sequence[KnownDivergence], path: Path,
                     scenarios: Mapping[str, frozenset[str]],
                     versions: Mapping[str, frozenset[str]]) -> None:
    """One-line UsageError (file and line) for an entry that names an architecture, an
    axvisor version or a scenario this checkout does not have (`scenarios` and `versions`:
    per architecture), or that lists no scenario and has no `access` class: such an entry
    silently stops applying, and the cases it meant fail without naming it."""
    for k in known:
        where = f"{path}:{k.line}: [[divergence]] {k.id}"
        if k.arch not in scenarios:
            raise UsageError(f"{where}: `arch` {k.arch!r} is none of "
                             f"{', '.join(sorted(scenarios))}")
        unknown = sorted(set(k.scenarios) - scenarios[k.arch])
        if unknown:
            raise UsageError(f"{where}: no {k.arch} scenario named {', '.join(unknown)}")
        if not k.scenarios and k.access is None:
            raise UsageError(f"{where}: lists no scenario and has no `access` class: it can "
                             "explain nothing")
        versions_here = versions.get(k.arch, frozenset())
        stray = sorted(set(k.axvisor) - versions_here)
        if stray:
            raise UsageError(f"{where}: no {k.arch} recipe builds axvisor {', '.join(stray)} "
                             f"(recipes build {', '.join(sorted(versions_here)) or 'none'})")
