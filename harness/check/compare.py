"""Expected exits (from the reference model) against observed exits (from the console).

Exits are compared in order, field by field, in the JSON form of harness.model.exits so that a
diff reads like the Rust Debug output. A difference is never absorbed here: known divergences
are applied later, by harness.check.known, and only turn a divergence into an expected failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.model.arch import Arch
from harness.model.convert import exit_to_json
from harness.model.exits import ExitReason
from harness.model.predict import free_fields
from harness.parse.axlog import ExitRecord

JsonScalar = int | str | bool | None | list[int]


@dataclass(frozen=True, slots=True)
class FieldDiff:
    field: str
    expected: object
    observed: object


@dataclass(frozen=True, slots=True)
class ExitDiff:
    """One position of the exit stream where expectation and observation differ."""

    index: int
    kind: str  # "fields", "variant", "missing", "unexpected"
    expected: dict[str, object] | None  # exit_to_json form
    observed: dict[str, object] | None
    observed_line: int | None  # first console line of the observed record
    fields: tuple[FieldDiff, ...] = ()
    vcpu: int = 0  # whose exit stream (each vCPU's is compared on its own)

    @property
    def variant(self) -> str:
        src = self.expected or self.observed or {}
        return str(src.get("variant", "?"))

    def describe(self) -> str:
        return (f"vCPU {self.vcpu} " if self.vcpu else "") + self._describe()

    def _describe(self) -> str:
        where = f" (console line {self.observed_line})" if self.observed_line else ""
        if self.kind == "fields":
            parts = ", ".join(f"{d.field}: expected {_fmt(d.expected)}, observed "
                              f"{_fmt(d.observed)}" for d in self.fields)
            return f"exit #{self.index} {self.variant}{where}: {parts}"
        if self.kind == "variant":
            exp = (self.expected or {}).get("variant")
            obs = (self.observed or {}).get("variant")
            return f"exit #{self.index}{where}: expected {exp}, observed {obs}"
        if self.kind == "missing":
            return f"exit #{self.index}: expected {_fmt(self.expected)}, not observed"
        return f"exit #{self.index}{where}: unexpected {_fmt(self.observed)}"


def _fmt(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return hex(value)
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {_fmt(v)}" for k, v in value.get("fields", {}).items())
        return f"{value.get('variant')} {{ {inner} }}" if inner else str(value.get("variant"))
    return str(value)


# Exits a vCPU may return at any point without the guest asking: interrupts and timers, and
# `Nothing` ("handled internally ... an opportunity to process pending interrupts", exit.rs).
# When the model did not predict one at that position, it is set aside, not a difference.
ASYNC_VARIANTS = frozenset({"Nothing", "ExternalInterrupt", "PreemptionTimer"})


def split_async(expected: Sequence[ExitReason], observed: Sequence[ExitRecord]
                ) -> tuple[list[ExitRecord], list[ExitRecord]]:
    """(observed exits matched against the prediction, unpredicted asynchronous exits)."""
    kept: list[ExitRecord] = []
    asynchronous: list[ExitRecord] = []
    for rec in observed:
        nxt = expected[len(kept)] if len(kept) < len(expected) else None
        if rec.exit.VARIANT in ASYNC_VARIANTS and (nxt is None or nxt.VARIANT != rec.exit.VARIANT):
            asynchronous.append(rec)
        else:
            kept.append(rec)
    return kept, asynchronous


def compare(expected: Sequence[ExitReason], observed: Sequence[ExitRecord],
            arch: Arch | None = None, *, vcpu: int = 0,
            undecided: Mapping[int, frozenset[str]] | None = None) -> tuple[ExitDiff, ...]:
    """Position-by-position comparison of two exit streams (asynchronous exits set aside).
    With `arch`, fields the contract leaves undefined (model.predict.free_fields, e.g.
    CpuDown.state) are not held to the predicted value, nor those the trap left undecided
    (`undecided`: position → attributes, harness.model.predict.Prediction.undecided)."""
    diffs: list[ExitDiff] = []
    observed, _ = split_async(expected, observed)
    for i in range(max(len(expected), len(observed))):
        exp = exit_to_json(expected[i]) if i < len(expected) else None
        rec = observed[i] if i < len(observed) else None
        obs = exit_to_json(rec.exit) if rec is not None else None
        line = rec.first_line if rec is not None else None
        if exp is None:
            diffs.append(ExitDiff(i, "unexpected", None, obs, line, vcpu=vcpu))
        elif obs is None:
            diffs.append(ExitDiff(i, "missing", exp, None, None, vcpu=vcpu))
        elif exp["variant"] != obs["variant"]:
            diffs.append(ExitDiff(i, "variant", exp, obs, line, vcpu=vcpu))
        else:
            ef = exp["fields"]
            of = obs["fields"]
            assert isinstance(ef, dict) and isinstance(of, dict)
            free = free_fields(expected[i], arch) if arch is not None else frozenset()
            free |= (undecided or {}).get(i, frozenset())
            fd = tuple(FieldDiff(k, ef.get(k), of.get(k)) for k in sorted(set(ef) | set(of))
                       if ef.get(k) != of.get(k) and k not in free)
            if fd:
                diffs.append(ExitDiff(i, "fields", exp, obs, line, fd, vcpu))
    return tuple(diffs)


def fold_repeats(observed: Sequence[ExitRecord]) -> tuple[list[ExitRecord], int]:
    """Take off the end of the stream every repeat of its last synchronous exit (and the
    asynchronous exits among them): a hypervisor that re-enters the guest at an instruction it
    did not handle gets the same exit again and again. Returns (records, how many went)."""
    out = list(observed)
    sync = [i for i, r in enumerate(out) if r.exit.VARIANT not in ASYNC_VARIANTS]
    if not sync:
        return out, 0
    last = exit_to_json(out[sync[-1]].exit)
    first = sync[-1]
    for i in reversed(sync[:-1]):
        if exit_to_json(out[i].exit) != last:
            break
        first = i
    return out[: first + 1], len(out) - first - 1


def fold_repeats_per_vcpu(observed: Sequence[ExitRecord], vcpu_of_cpu: Mapping[int, int]
                          ) -> tuple[list[ExitRecord], int]:
    """fold_repeats on each vCPU's own stream (a stopped vCPU woken while the others run
    re-executes the call it did not step past: its repeats sit among their exits), the
    streams' order otherwise kept. Returns (records, how many went over all vCPUs)."""
    streams = by_vcpu(observed, vcpu_of_cpu)
    keep = {id(r) for s in streams.values() for r in fold_repeats(s)[0]}
    out = [r for r in observed if id(r) in keep]
    return out, len(observed) - len(out)


def vcpu_of(record: ExitRecord, vcpu_of_cpu: Mapping[int, int]) -> int:
    """Which vCPU `record` is of: a synchronous `AXH-EXIT` record names it; otherwise vCPUs are
    pinned, so the CPU number of its log prefix tells (a prefix without one is CPU 0); a CPU
    no vCPU is pinned to keeps its own number."""
    if record.vcpu is not None:
        return record.vcpu
    cpu = record.cpu or 0
    return vcpu_of_cpu.get(cpu, cpu)


def record_json(record: ExitRecord, vcpu_of_cpu: Mapping[int, int]) -> dict[str, object]:
    """An observed exit as observed.jsonl holds it: exit_to_json, its first console line, and
    `vcpu` when it is not vCPU 0."""
    v = vcpu_of(record, vcpu_of_cpu)
    return {**exit_to_json(record.exit), "line": record.first_line, **({"vcpu": v} if v else {})}


def by_vcpu(observed: Sequence[ExitRecord], vcpu_of_cpu: Mapping[int, int]
            ) -> dict[int, list[ExitRecord]]:
    out: dict[int, list[ExitRecord]] = {}
    for rec in observed:
        out.setdefault(vcpu_of(rec, vcpu_of_cpu), []).append(rec)
    return out


def compare_vcpus(expected: Mapping[int, Sequence[ExitReason]], observed: Sequence[ExitRecord],
                  arch: Arch | None = None, vcpu_of_cpu: Mapping[int, int] | None = None,
                  undecided: Mapping[tuple[int, int], frozenset[str]] | None = None
                  ) -> tuple[tuple[ExitDiff, ...], list[ExitRecord]]:
    """Each vCPU's exit stream against its own prediction (their interleaving is not
    defined): (differences, unpredicted asynchronous exits of all vCPUs)."""
    seen = by_vcpu(observed, vcpu_of_cpu or {})
    diffs: list[ExitDiff] = []
    asynchronous: list[ExitRecord] = []
    for v in sorted(set(expected) | set(seen)):
        exp, obs = expected.get(v, ()), seen.get(v, [])
        mine = {i: f for (w, i), f in (undecided or {}).items() if w == v}
        diffs += compare(exp, obs, arch, vcpu=v, undecided=mine)
        asynchronous += split_async(exp, obs)[1]
    return tuple(diffs), asynchronous


def matches_json(observed: Mapping[str, object], expected: Mapping[str, object]) -> bool:
    """Whether an exit as results record it (record_json) is an expected one (expected.json)
    in its variant and every field the model decided (not those listed as `undecided`)."""
    if observed.get("variant") != expected.get("variant"):
        return False
    undecided = expected.get("undecided", ())
    got, want = observed.get("fields", {}), expected.get("fields", {})
    assert isinstance(got, Mapping) and isinstance(want, Mapping)
    assert isinstance(undecided, list | tuple)
    return all(got.get(k) == v for k, v in want.items() if k not in undecided)


def differ_detail(diffs: Sequence[ExitDiff]) -> str:
    """The line a case whose exits differ from the model gets, the same in every mode (one
    boot per case, a shared boot, a repro): the differential test compares these texts."""
    return f"{len(diffs)} exit(s) differ from the model; first: {diffs[0].describe()}"


def async_requirement(text: str) -> tuple[str, dict[str, int]]:
    """An `expect_async` entry, "Variant" or "Variant field=value …" (values as Rust prints
    them, decimal or 0x…): the variant and the fields the exit must carry. ValueError when the
    text is not of that form."""
    variant, *pairs = text.split()
    fields: dict[str, int] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name or not value:
            raise ValueError(f"{pair!r} is not field=value")
        fields[name] = int(value, 0)
    return variant, fields


def _meets(record: ExitRecord, variant: str, fields: Mapping[str, int]) -> bool:
    if variant != record.exit.VARIANT:
        return False
    got = exit_to_json(record.exit)["fields"]
    return isinstance(got, Mapping) and all(got.get(k) == v for k, v in fields.items())


def missing_async(expect_async: Sequence[str], asynchronous: Sequence[ExitRecord]) -> str:
    """Why a scenario that requires asynchronous exits of these kinds (with these fields, where
    it names them: any host timer tick is an ExternalInterrupt too) fails ("" if it does
    not)."""
    absent = [text for text in expect_async
              if not any(_meets(r, *async_requirement(text)) for r in asynchronous)]
    return f"expected at least one asynchronous {' and '.join(absent)} exit, none was logged" \
        if absent else ""
