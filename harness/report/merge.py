"""Several results.json files merged into the one run they are parts of: the N shards of
`axharness run --shard K/N`, or runs over disjoint cases (one per architecture).

Shards are checked to belong together before anything is merged: all N present, each once,
all cut by the same partition (same plan and durations: the digest each shard records); parts
of any kind never share a case; an image has one key in every part that built it. A case's
artifacts move to where its part's cases/ now lies (beside that results.json), so the merged
reports link to the files a CI artifact download actually holds.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.check.compare import ExitDiff, FieldDiff
from harness.check.known import KnownDivergence, apply_known
from harness.check.scope import KnownNote
from harness.check.verdict import Verdict
from harness.errors import UsageError
from harness.report.results import SCHEMA, load_results
from harness.run.case import CaseResult

_LINE = re.compile(r"\(console line (\d+)\)")
_VCPU = re.compile(r"vCPU (\d+) ")


@dataclass(frozen=True, slots=True)
class Merged:
    doc: dict[str, Any]  # the merged results.json, host capabilities as each part recorded
    cases: tuple[CaseResult, ...]  # the same cases, for the reports
    extra: dict[str, Any]  # images, wall_seconds, shards: what the reports read beside them


def merge_files(paths: Sequence[Path], known: Sequence[KnownDivergence] = (),
                today: _dt.date | None = None) -> Merged:
    """The parts as one run; each case judged again against `known` (today's
    known-divergences file) as `run` judges it, so a part's xfail whose entry has since been
    removed, expired or stopped matching is not merged green."""
    if not paths:
        raise UsageError("nothing to merge: name at least one results.json")
    docs = [(p, load_results(p)) for p in paths]
    _check_shards(docs)
    commit = _same_everywhere(docs, "commit")
    _same_everywhere(docs, "harness")
    seen: dict[str, Path] = {}
    images: dict[str, Any] = {}
    where_image: dict[str, Path] = {}
    raw: list[dict[str, Any]] = []
    for path, doc in docs:
        for i, obj in enumerate(doc["cases"]):
            if not isinstance(obj, dict) or not isinstance(obj.get("case"), str):
                raise UsageError(f"{path}: cases[{i}] has no \"case\" id")
            if obj["case"] in seen:
                raise UsageError(f"{path}: case {obj['case']} is also in {seen[obj['case']]}: "
                                 "the parts overlap")
            seen[obj["case"]] = path
            raw.append(dict(obj, artifacts=str(_relocated(path, obj.get("artifacts")))))
        images_of = doc.get("images") or {}
        if not isinstance(images_of, dict) or not all(isinstance(e, dict)
                                                      for e in images_of.values()):
            raise UsageError(f"{path}: \"images\" must map each recipe to an object")
        for recipe, entry in images_of.items():
            key = entry.get("key")
            if recipe in images and images[recipe].get("key") != key:
                raise UsageError(f"{path}: image {recipe} has key {key}, but "
                                 f"{images[recipe].get('key')} in {where_image[recipe]}: the "
                                 "parts ran different builds of it")
            images.setdefault(recipe, entry)
            where_image.setdefault(recipe, path)
    raw.sort(key=lambda c: str(c["case"]))
    cases = tuple(case_from_json(c, f"{seen[c['case']]}: case {c['case']}") for c in raw)
    judged = [_rejudged(c, known, today) for c in cases]
    raw = [obj if again is case else {**obj, **{k: v for k, v in again.to_json().items()
                                                if k in _VERDICT_KEYS}}
           for obj, case, again in zip(raw, cases, judged, strict=True)]
    cases = tuple(judged)
    parts = [{"file": str(p), "host": d.get("host"), "finished_at": d.get("finished_at"),
              "wall_seconds": d.get("wall_seconds"), "cases": len(d["cases"]),
              **({"shard": d["shard"]} if "shard" in d else {})} for p, d in docs]
    walls = [w for _, d in docs if isinstance(w := d.get("wall_seconds"), int | float)]
    extra: dict[str, Any] = {"images": dict(sorted(images.items())),
                             "wall_seconds": max(walls, default=0.0), "parts": parts}
    stops = sorted({str(d["interrupted_by"]) for _, d in docs if d.get("interrupted_by")})
    if stops:
        extra["interrupted_by"] = ", ".join(stops)
    first = docs[0][1]
    doc = {"schema": SCHEMA, "harness": first.get("harness"), "commit": commit,
           "host": first.get("host"),
           "finished_at": max(str(d.get("finished_at", "")) for _, d in docs),
           "summary": dict(sorted(Counter(str(c["verdict"]) for c in raw).items())),
           **extra, "cases": raw}
    return Merged(doc, cases, extra)


_VERDICT_KEYS = ("verdict", "detail", "known_divergences", "known_notes")


def _rejudged(case: CaseResult, known: Sequence[KnownDivergence], today: _dt.date | None
              ) -> CaseResult:
    """`case` itself when today's entries judge it as its part did; else the new verdict,
    saying where it comes from."""
    if case.verdict is Verdict.XFAIL:  # judged again from its diffs
        again = apply_known(replace(case, verdict=Verdict.DIVERGENCE, known=(), known_notes=()),
                            known, today)
        if again.verdict is Verdict.XFAIL and set(again.known) == set(case.known):
            return case
    elif case.verdict is Verdict.PASS:  # an entry listing it may have gone stale meanwhile
        again = apply_known(replace(case, known_notes=()), known, today)
        if again.verdict is Verdict.PASS:
            return case
    else:
        return case
    return replace(again, detail=f"re-judged by merge against today's known divergences "
                   f"(was {case.verdict.value}): {again.detail}")


def _same_everywhere(docs: Sequence[tuple[Path, dict[str, Any]]], key: str) -> object:
    """The parts' `key` (commit, harness version), which must agree where recorded."""
    values = [(p, d[key]) for p, d in docs if d.get(key)]
    for path, value in values[1:]:
        if value != values[0][1]:
            raise UsageError(f"{path}: {key} {value}, but {values[0][1]} in {values[0][0]}: "
                             "parts of one run come from one checkout of the harness")
    return values[0][1] if values else None


def _check_shards(docs: Sequence[tuple[Path, dict[str, Any]]]) -> None:
    """Shards of one partition, complete, each once; or no shards at all."""
    shards = [(p, d["shard"]) for p, d in docs if isinstance(d.get("shard"), dict)]
    if not shards:
        return
    for path, s in shards:
        index, count = s.get("index"), s.get("count")
        if not (type(index) is int and type(count) is int and 1 <= index <= count <= 1000):
            raise UsageError(f"{path}: \"shard\" must have integers 1 <= index <= count <= "
                             f"1000, got {index!r}/{count!r}")
    if len(shards) != len(docs):
        plain = next(p for p, d in docs if not isinstance(d.get("shard"), dict))
        raise UsageError(f"{plain}: not a shard, but {shards[0][0]} is: merge the shards of "
                         "one run, or whole runs")
    path0, s0 = shards[0]
    for path, s in shards:
        if s.get("count") != s0.get("count") or s.get("partition") != s0.get("partition"):
            raise UsageError(f"{path}: shard {s.get('index')}/{s.get('count')} of partition "
                             f"{s.get('partition')}, but {path0} is {s0.get('index')}/"
                             f"{s0.get('count')} of {s0.get('partition')}: not cut from the same "
                             "plan and durations")
    by_index: dict[object, Path] = {}
    for path, s in shards:
        if s.get("index") in by_index:
            raise UsageError(f"{path}: shard {s.get('index')}/{s.get('count')} is also "
                             f"{by_index[s.get('index')]}")
        by_index[s.get("index")] = path
    count = s0.get("count")
    missing = [k for k in range(1, count + 1) if k not in by_index] \
        if isinstance(count, int) else []
    if missing:
        raise UsageError(f"shard(s) {', '.join(f'{k}/{count}' for k in missing)} missing: "
                         f"{len(shards)} of {count} given")


def _relocated(results: Path, artifacts: object) -> Path:
    """A case directory `…/cases/<name>` recorded on the shard's machine → the one beside
    this results.json, when it is there; otherwise the path as recorded."""
    recorded = Path(str(artifacts or ""))
    if recorded.parent.name == "cases":
        here = results.parent / "cases" / recorded.name
        if here.is_dir():
            return here.resolve()
    return recorded


def case_from_json(obj: Mapping[str, Any], where: str) -> CaseResult:
    """A results.json case back into a CaseResult (what write_results wrote from one)."""
    for key in ("expected", "observed", "diffs"):
        items = obj.get(key, ())
        if not isinstance(items, list | tuple) or not all(isinstance(i, dict) for i in items):
            raise UsageError(f"{where}: \"{key}\" must be a list of objects")
    for key in ("image", "qemu", "restored"):
        if not isinstance(obj.get(key, {}), dict):
            raise UsageError(f"{where}: \"{key}\" must be an object")
    try:
        return CaseResult(
            case_id=str(obj["case"]), scenario=str(obj["scenario"]), arch=str(obj["arch"]),
            verdict=Verdict(obj["verdict"]), detail=str(obj.get("detail", "")),
            expected=tuple(obj.get("expected", ())), observed=tuple(obj.get("observed", ())),
            diffs=tuple(_diff(d) for d in obj.get("diffs", ())),
            duration_s=float(obj.get("duration_s", 0.0)),
            artifacts=Path(str(obj.get("artifacts", ""))), image=dict(obj.get("image", {})),
            qemu=dict(obj.get("qemu", {})), known=tuple(obj.get("known_divergences", ())),
            asynchronous=int(obj.get("asynchronous_exits", 0)),
            parse_errors=tuple(obj.get("parse_errors", ())),
            known_notes=tuple(KnownNote(str(n["entry"]), str(n["status"]), str(n["why"]))
                              for n in obj.get("known_notes", ())),
            contract_notes=tuple(str(n) for n in obj.get("contract_notes", ())),
            restored=dict(obj.get("restored", {})), end_failed=bool(obj.get("end_failed")))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise UsageError(f"{where}: not a case as axharness writes it ({exc!r})") from None


def _diff(d: Mapping[str, Any]) -> ExitDiff:
    """Exact when the file records the diff's exits (this version on); from older files the
    variant, fields, console line and vCPU are recovered, the exits' other fields are not."""
    text = str(d.get("text", ""))
    line = d.get("observed_line")
    if line is None and (m := _LINE.search(text)):
        line = int(m[1])
    vcpu = d.get("vcpu")
    if vcpu is None:
        vcpu = int(m[1]) if (m := _VCPU.match(text)) else 0
    stub = {"variant": d.get("variant", "?")}
    kind = str(d["kind"])
    return ExitDiff(
        index=int(d["index"]), kind=kind,
        expected=d.get("expected", stub if kind != "unexpected" else None),
        observed=d.get("observed", stub if kind != "missing" else None),
        observed_line=line,
        fields=tuple(FieldDiff(f["field"], f["expected"], f["observed"])
                     for f in d.get("fields", ())),
        vcpu=int(vcpu))
