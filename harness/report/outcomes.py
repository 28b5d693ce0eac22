"""results.json read back as typed values: what `axharness compare` looks at, per case and per
image. Every problem is one UsageError naming the file (and the case).

Diffs are read in their structured form (position, kind, variant, fields with expected and
observed values, the whole exits when recorded): two runs are compared by those, never by the
prose of `text`, which carries the console line a divergence happened to be logged on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.check.scope import ImageCrates, case_crates
from harness.check.verdict import Verdict
from harness.errors import UsageError
from harness.report.results import SCHEMA
from harness.textfile import read_json


def _frozen(value: object) -> str:
    """A JSON value as canonical text: hashable, comparable, key order ignored."""
    return json.dumps(value, sort_keys=True)


@dataclass(frozen=True, slots=True)
class DiffKey:
    """One diff against the model, as compared between runs (no console line)."""

    vcpu: int
    index: int
    kind: str
    variant: str
    fields: tuple[tuple[str, str, str], ...]  # (field, expected, observed) as canonical JSON
    exits: str  # the expected and observed exits as canonical JSON ("" when not recorded)


@dataclass(frozen=True, slots=True)
class ObservedExit:
    """One exit a run observed, without its console line."""

    vcpu: int
    variant: str
    fields: tuple[tuple[str, str], ...]  # (field, canonical JSON value), in logged order

    def value(self, name: str) -> object:
        return json.loads(dict(self.fields)[name]) if name in dict(self.fields) else None


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """What a results file says about one case: only what a comparison looks at."""

    case: str
    verdict: Verdict
    detail: str
    diffs: tuple[str, ...]  # ExitDiff.describe() texts, in exit order (for people)
    known: frozenset[str]  # ids of the known divergences that matched
    host_capability: str = ""  # a skip: what this host lacks ("kvm-vmx"); "" not recorded
    signature_keys: tuple[DiffKey, ...] = ()  # the diffs, structured (for comparing)
    scenario: str = ""
    recipe: str = ""
    arch: str = ""
    observed: tuple[ObservedExit, ...] = ()
    crates: ImageCrates | None = None  # what the case recorded of its image's crates
    image_key: str = ""
    axvisor: str = ""
    qemu: str = ""  # QEMU version line
    accel: str = ""
    notes: tuple[str, ...] = ()  # known_notes, described

    @property
    def divergence_signature(self) -> tuple[DiffKey, ...]:
        return self.signature_keys


@dataclass(frozen=True, slots=True)
class ResultsFile:
    source: str  # the path as the user gave it, for messages
    finished_at: str
    cases: tuple[CaseOutcome, ...]
    commit: str = ""  # harness commit that wrote it ("" not recorded)
    harness: str = ""  # harness version

    def by_id(self) -> dict[str, CaseOutcome]:
        return {c.case: c for c in self.cases}

    @property
    def recipes(self) -> tuple[str, ...]:
        return tuple(sorted({c.recipe for c in self.cases}))


def _str_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: expected a list of strings")
    return tuple(value)


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _diff(d: object, where: str) -> tuple[str, DiffKey]:
    if not isinstance(d, Mapping) or not isinstance(d.get("text"), str):
        raise UsageError(f"{where} has no \"text\"")
    fields = d.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, Mapping) for f in fields):
        raise UsageError(f"{where}: \"fields\" must be a list of objects")
    exits = {k: d[k] for k in ("expected", "observed") if k in d}
    key = DiffKey(
        vcpu=_int(d.get("vcpu")), index=_int(d.get("index")), kind=str(d.get("kind", "")),
        variant=str(d.get("variant", "")),
        fields=tuple((str(f.get("field")), _frozen(f.get("expected")),
                      _frozen(f.get("observed"))) for f in fields),
        exits=_frozen({k: {kk: vv for kk, vv in v.items() if kk != "line"}
                       if isinstance(v, Mapping) else v for k, v in exits.items()})
        if exits else "")
    return str(d["text"]), key


def _observed(value: object, where: str) -> tuple[ObservedExit, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{where}: \"observed\" must be a list")
    out = []
    for i, e in enumerate(value):
        if not isinstance(e, Mapping) or not isinstance(e.get("variant"), str) \
                or not isinstance(e.get("fields", {}), Mapping):
            raise UsageError(f"{where}: observed[{i}] is not an exit record")
        out.append(ObservedExit(_int(e.get("vcpu")), str(e["variant"]),
                                tuple((str(k), _frozen(v)) for k, v in e["fields"].items())))
    return tuple(out)


def _notes(value: object) -> tuple[str, ...]:
    return tuple(f"entry {n.get('entry')} {str(n.get('status', '')).replace('-', ' ')}: "
                 f"{n.get('why')}" for n in (value if isinstance(value, list) else [])
                 if isinstance(n, Mapping))


def case_from_json(obj: object, where: str) -> CaseOutcome:
    if not isinstance(obj, Mapping):
        raise UsageError(f"{where}: expected an object")
    case = obj.get("case")
    if not isinstance(case, str) or not case:
        raise UsageError(f"{where}: missing case id (\"case\")")
    where = f"{where} ({case})"
    try:
        verdict = Verdict(obj.get("verdict"))
    except ValueError:
        raise UsageError(f"{where}: unknown verdict {obj.get('verdict')!r} (known: "
                         f"{', '.join(v.value for v in Verdict)})") from None
    diffs = obj.get("diffs", [])
    if not isinstance(diffs, list):
        raise UsageError(f"{where}: \"diffs\" must be a list")
    read = [_diff(d, f"{where}: diffs[{i}]") for i, d in enumerate(diffs)]
    detail = obj.get("detail", "")
    lacking = obj.get("host_capability", "")
    if not isinstance(lacking, str):
        raise UsageError(f"{where}: \"host_capability\" must be a string")
    image = obj.get("image", {})
    image = image if isinstance(image, Mapping) else {}
    qemu = obj.get("qemu", {})
    qemu = qemu if isinstance(qemu, Mapping) else {}
    recipe, _, scenario = case.partition("/")
    return CaseOutcome(
        case=case, verdict=verdict, detail=detail if isinstance(detail, str) else str(detail),
        diffs=tuple(t for t, _ in read), signature_keys=tuple(k for _, k in read),
        known=frozenset(_str_list(obj.get("known_divergences", []),
                                  f"{where}: known_divergences")),
        host_capability=lacking, scenario=str(obj.get("scenario") or scenario),
        recipe=str(image.get("recipe") or recipe), arch=str(obj.get("arch", "")),
        observed=_observed(obj.get("observed", []), where), crates=case_crates(image),
        image_key=str(image.get("key", "")), axvisor=str(image.get("axvisor", "")),
        qemu=str(qemu.get("version", "")), accel=str(qemu.get("accel", "")),
        notes=_notes(obj.get("known_notes")))


def parse_results(doc: object, source: str) -> ResultsFile:
    """A results document (already JSON-decoded) as typed values; UsageError names `source`."""
    if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA:
        raise UsageError(f"{source}: not an axharness results file (schema {SCHEMA})")
    cases = doc.get("cases")
    if not isinstance(cases, list):
        raise UsageError(f"{source}: \"cases\" must be a list")
    out = [case_from_json(c, f"{source}: cases[{i}]") for i, c in enumerate(cases)]
    seen: set[str] = set()
    for c in out:
        if c.case in seen:
            raise UsageError(f"{source}: case {c.case} appears twice")
        seen.add(c.case)
    finished = doc.get("finished_at", "")
    return ResultsFile(source, finished if isinstance(finished, str) else "", tuple(out),
                       commit=str(doc.get("commit", "")), harness=str(doc.get("harness", "")))


def read_results(path: Path) -> ResultsFile:
    """Read and check a results file; every problem is one line naming the file."""
    return parse_results(read_json(path), str(path))
