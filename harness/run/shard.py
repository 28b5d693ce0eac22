"""`axharness run --shard K/N`: the K-th of N disjoint parts of a suite's plan.

Every shard job computes the same partition from the same inputs (the plan's case ids and one
durations file) and keeps its own part, so N jobs that each run one shard run every case
exactly once without talking to each other. Cases are weighed by their measured duration and
dealt longest first to the least-loaded shard (LPT; ties by case id and shard number): the
longest shard then stays within the mean load plus the longest case, and within 4/3 of the
best possible split. Only the images of a shard's own cases are in its plan, so each shard
builds each image it needs once and no other.

Durations come from a previous run's results.json (`--durations`), else from the estimate
shipped in ci/case-durations.json; a case neither knows gets the median of its image's known
cases, else the median of all, else 1 s.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.run.case import case_id
from harness.run.suite import Plan
from harness.textfile import parse_json, read_text

ESTIMATES = Path("ci/case-durations.json")
DURATIONS_SCHEMA = "axharness-durations/1"
RESULTS_SCHEMA = "axharness-results/1"
# A case with one of these verdicts did not run to its end: its duration measures nothing.
_UNMEASURED = ("infra", "interrupted")
_SPEC = re.compile(r"([0-9]+)/([0-9]+)")


@dataclass(frozen=True, slots=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


MAX_SHARDS = 1000  # more parts than cases, or than CI jobs anyone runs, is a typo


def parse_shard(text: str) -> Shard:
    m = _SPEC.fullmatch(text.strip())
    if not m or not 1 <= int(m[1]) <= int(m[2]) <= MAX_SHARDS:
        raise UsageError(f"--shard {text!r}: expected K/N with 1 <= K <= N <= {MAX_SHARDS}, "
                         "e.g. 1/4")
    return Shard(int(m[1]), int(m[2]))


@dataclass(frozen=True, slots=True)
class Durations:
    source: str  # the file, for messages and the results' record; "" when none
    seconds: Mapping[str, float]  # measured, by case id

    def estimate(self, case: str) -> float:
        if case in self.seconds:
            return self.seconds[case]
        image = case.split("/", 1)[0] + "/"
        same = [s for c, s in self.seconds.items() if c.startswith(image)]
        if same or self.seconds:
            return float(statistics.median(same or self.seconds.values()))
        return 1.0


def load_durations(path: Path) -> Durations:
    """A results.json of an earlier run, or a durations file {"schema", "cases": {id: s}}."""
    doc = parse_json(read_text(path), path)
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema == RESULTS_SCHEMA and isinstance(doc.get("cases"), list):
        pairs = [(c.get("case"), c.get("duration_s")) for c in doc["cases"]
                 if isinstance(c, dict) and c.get("verdict") not in _UNMEASURED]
    elif schema == DURATIONS_SCHEMA and isinstance(doc.get("cases"), dict):
        pairs = list(doc["cases"].items())
    else:
        raise UsageError(f"{path}: neither a results.json ({RESULTS_SCHEMA}) nor a durations "
                         f"file ({DURATIONS_SCHEMA}, {{\"cases\": {{\"image/scenario\": s}}}})")
    seconds: dict[str, float] = {}
    for case, value in pairs:
        if not isinstance(case, str) or isinstance(value, bool) or \
                not isinstance(value, int | float) or not 0 <= value < float("inf"):
            raise UsageError(f"{path}: case {case!r}: duration {value!r} is not a number of "
                             "seconds >= 0")
        seconds[case] = float(value)
    return Durations(str(path), seconds)


def durations_for(root: Path, path: Path | None) -> Durations:
    """`path` if given, else the shipped estimate, else none (every case weighs the same)."""
    if path is not None:
        return load_durations(path)
    if not (root / ESTIMATES).is_file():
        return Durations("", {})
    return replace(load_durations(root / ESTIMATES), source=str(ESTIMATES))


def assign(cases: Sequence[str], durations: Durations, count: int) -> dict[str, int]:
    """Case id → shard number (1..count): longest case first, each to the least-loaded shard.
    Depends only on the arguments (never on set or hash order), so every job agrees."""
    if len(set(cases)) != len(cases):
        raise ValueError("case ids must be unique")
    weighed = sorted(((durations.estimate(c), c) for c in cases), key=lambda w: (-w[0], w[1]))
    load = [0.0] * count
    out: dict[str, int] = {}
    for seconds, case in weighed:
        k = min(range(count), key=lambda i: (load[i], i))
        load[k] += seconds
        out[case] = k + 1
    return out


@dataclass(frozen=True, slots=True)
class ShardInfo:
    """What a shard's results record, so that merging can check the shards belong together."""

    shard: Shard
    cases: int
    plan_cases: int
    estimated_s: float
    plan_estimated_s: float
    durations: str
    partition: str  # digest of the whole case → shard assignment: equal in every shard

    def describe(self) -> str:
        return (f"shard {self.shard}: {self.cases} of {self.plan_cases} cases, estimated "
                f"{self.estimated_s:.0f} s of {self.plan_estimated_s:.0f} s "
                f"(durations: {self.durations or 'none, every case 1 s'})")

    def to_json(self) -> dict[str, Any]:
        return {"index": self.shard.index, "count": self.shard.count, "cases": self.cases,
                "plan_cases": self.plan_cases, "estimated_s": round(self.estimated_s, 1),
                "plan_estimated_s": round(self.plan_estimated_s, 1),
                "durations": self.durations, "partition": self.partition}


def select(plan: Plan, shard: Shard, durations: Durations) -> tuple[Plan, ShardInfo]:
    """The part of `plan` that is `shard`'s: recipes without a case in it are left out, so
    their images are not built by this shard."""
    ids = [case_id(r, s) for r, scenarios in plan for s in scenarios]
    if shard.count > len(ids):
        raise UsageError(f"--shard {shard}: {shard.count} parts of {len(ids)} case(s); at most "
                         "one part per case")
    where = assign(ids, durations, shard.count)
    mine = tuple((r, kept) for r, scenarios in plan
                 if (kept := tuple(s for s in scenarios if where[case_id(r, s)] == shard.index)))
    digest = hashlib.sha256("".join(f"{c}\t{where[c]}\n" for c in sorted(ids)).encode())
    return mine, ShardInfo(
        shard=shard, cases=sum(where[c] == shard.index for c in ids), plan_cases=len(ids),
        estimated_s=sum(durations.estimate(c) for c in ids if where[c] == shard.index),
        plan_estimated_s=sum(durations.estimate(c) for c in ids),
        durations=durations.source, partition=digest.hexdigest()[:16])


def from_options(root: Path, spec: str | None, durations: Path | None, plan: Plan
                 ) -> tuple[Plan, ShardInfo] | None:
    """`axharness run`'s --shard and --durations applied to its plan (None: no --shard)."""
    if spec is None:
        if durations is not None:
            raise UsageError("--durations is only read with --shard")
        return None
    return select(plan, parse_shard(spec), durations_for(root, durations))
