"""The two sides of a comparison (Firecracker's ab_test: A and B) and what tells them apart.

A side is a results file, or one image's cases in it (`--image-a/--image-b`: the stock and the
fixed image of one run, lined up scenario by scenario). Between the sides this module finds
what changed in what produced them — harness commit, image key, axvisor, the exit crates'
versions, crates patched or local (with the patch's sha256), QEMU — and, per case, the first
exit whose observed value differs, field by field. All of it from results.json's structured
records, never from prose.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from harness.check.compare import ASYNC_VARIANTS
from harness.check.scope import ModifiedCrate
from harness.errors import UsageError
from harness.report.outcomes import CaseOutcome, ObservedExit, ResultsFile


@dataclass(frozen=True, slots=True)
class Side:
    label: str  # "A"/"B" (or "old"/"new")
    file: ResultsFile
    image: str = ""  # one image's cases, keyed by scenario; "": every case, keyed by case id

    def outcomes(self) -> dict[str, CaseOutcome]:
        if not self.image:
            return self.file.by_id()
        return {c.scenario: c for c in self.file.cases if c.recipe == self.image}

    def describe(self) -> str:
        n = len(self.outcomes())
        when = f", {self.file.finished_at}" if self.file.finished_at else ""
        what = f" image {self.image}" if self.image else ""
        return f"{self.file.source}{what} ({n} cases{when})"


def select(file: ResultsFile, image: str, label: str) -> Side:
    """One side; UsageError when the file holds no case of `image`."""
    side = Side(label, file, image)
    if image and not side.outcomes():
        have = ", ".join(file.recipes) or "none"
        raise UsageError(f"{file.source}: no case of image {image!r} (images: {have})")
    return side


def check_pairing(a: Side, b: Side) -> None:
    """Images compared scenario by scenario must be of one architecture."""
    if a.image and b.image:
        arch_a = {c.arch for c in a.outcomes().values()}
        arch_b = {c.arch for c in b.outcomes().values()}
        if arch_a != arch_b:
            raise UsageError(f"--image-a {a.image} is {'/'.join(sorted(arch_a))}, --image-b "
                             f"{b.image} is {'/'.join(sorted(arch_b))}: compare images of one "
                             "architecture")


# -- provenance ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What produced one image's cases, as its results file recorded it."""

    recipe: str
    key: str
    axvisor: str
    versions: tuple[tuple[str, str], ...]
    modified: tuple[ModifiedCrate, ...]
    qemu: str
    accel: str


def image_facts(side: Side) -> dict[str, ImageFacts]:
    """recipe → its facts, from the first case of it that ran (else its first case)."""
    out: dict[str, ImageFacts] = {}
    for c in sorted(side.outcomes().values(), key=lambda c: (not c.image_key, not c.qemu)):
        if c.recipe in out:
            continue
        crates = c.crates
        out[c.recipe] = ImageFacts(
            recipe=c.recipe, key=c.image_key, axvisor=c.axvisor,
            versions=crates.versions if crates else (),
            modified=crates.modified if crates else (), qemu=c.qemu, accel=c.accel)
    return out


@dataclass(frozen=True, slots=True)
class ProvenanceChange:
    what: str  # "harness", "image", "axvisor", a crate name, "qemu", "accelerator"
    a: str
    b: str
    note: str  # one line saying what changed, naming the sides


def _qemu(version: str) -> str:
    """`QEMU emulator version 10.0.2 (Debian …)` → `10.0.2 (Debian …)`."""
    return version.replace("QEMU emulator version ", "") or "not recorded"


def _modification(m: ModifiedCrate | None, label: str) -> str:
    if m is None:
        return f"stock (crates.io) in {label}"
    return f"{m.word} in {label}" + (f" ({m.evidence})" if m.evidence else "")


def provenance_changes(a: ImageFacts, b: ImageFacts, la: str = "A", lb: str = "B"
                       ) -> tuple[ProvenanceChange, ...]:
    """Everything recorded that differs between the images of two sides, in a fixed order."""
    out: list[ProvenanceChange] = []

    def differ(what: str, va: str, vb: str, note: str) -> None:
        if va != vb and (va or vb):
            out.append(ProvenanceChange(what, va, vb, note))

    differ("image", f"{a.recipe} {a.key}", f"{b.recipe} {b.key}",
           f"image {a.recipe} (key {a.key[:12] or '?'}) in {la}, {b.recipe} "
           f"(key {b.key[:12] or '?'}) in {lb}")
    differ("axvisor", a.axvisor, b.axvisor, f"axvisor {a.axvisor} in {la}, {b.axvisor} in {lb}")
    va, vb = dict(a.versions), dict(b.versions)
    for name in sorted((va.keys() | vb.keys()) - {"axvisor"}):
        differ(name, va.get(name, ""), vb.get(name, ""),
               f"{name}: {va.get(name) or 'absent'} in {la}, {vb.get(name) or 'absent'} in {lb}")
    ma = {m.crate: m for m in a.modified}
    mb = {m.crate: m for m in b.modified}
    for name in sorted(ma.keys() | mb.keys()):
        x, y = ma.get(name), mb.get(name)
        if x == y:
            continue
        version = next(m.version for m in (y, x) if m is not None)
        if x is None:
            note = f"{name} {version}: {_modification(y, lb)}"
        elif y is None:
            note = f"{name} {version}: {_modification(x, la)}, stock (crates.io) in {lb}"
        else:
            note = f"{name} {version}: {_modification(x, la)}, {_modification(y, lb)}"
        out.append(ProvenanceChange(name, x.describe() if x else "stock",
                                    y.describe() if y else "stock", note))
    differ("qemu", a.qemu, b.qemu,
           f"QEMU {_qemu(a.qemu)} in {la}, {_qemu(b.qemu)} in {lb}")
    differ("accelerator", a.accel, b.accel, f"accelerator {a.accel} in {la}, {b.accel} in {lb}")
    return tuple(out)


def same_facts(a: ImageFacts, b: ImageFacts) -> tuple[str, ...]:
    """What both sides share, briefly (so a reader sees what was held constant)."""
    out = []
    if a.axvisor and a.axvisor == b.axvisor:
        out.append(f"axvisor {a.axvisor}")
    va, vb = dict(a.versions), dict(b.versions)
    out += [f"{n} {va[n]}" for n in sorted(va) if n != "axvisor" and vb.get(n) == va[n]
            and n not in {m.crate for m in (*a.modified, *b.modified)}]
    if a.qemu and a.qemu == b.qemu:
        out.append(f"QEMU {_qemu(a.qemu)}")
    return tuple(out)


def short_commit(commit: str) -> str:
    """A commit as people read it: 12 hex digits, `+dirty` kept; "not recorded" for none."""
    if not commit:
        return "not recorded"
    head, plus, rest = commit.partition("+")
    return head[:12] + plus + rest if len(head) == 40 else commit


def run_changes(a: Side, b: Side) -> tuple[tuple[ProvenanceChange, ...], tuple[str, ...]]:
    """(what differs, what is the same) between the harnesses that wrote the two files."""
    fa, fb = a.file, b.file
    changes = []
    if fa.commit != fb.commit:
        changes.append(ProvenanceChange(
            "harness", fa.commit, fb.commit, f"harness commit {short_commit(fa.commit)} in "
            f"{a.label}, {short_commit(fb.commit)} in {b.label}"))
    if fa.harness != fb.harness:
        changes.append(ProvenanceChange(
            "version", fa.harness, fb.harness,
            f"axharness {fa.harness or '?'} in {a.label}, {fb.harness or '?'} in {b.label}"))
    same = [f"harness commit {short_commit(fa.commit)}"] if fa.commit and \
        fa.commit == fb.commit else []
    return tuple(changes), tuple(same)


def provenance_pairs(a: Side, b: Side) -> tuple[tuple[str, ImageFacts, ImageFacts], ...]:
    """(title, A's image, B's image): the two chosen images, or every image both files ran."""
    fa, fb = image_facts(a), image_facts(b)
    if a.image and b.image:
        return ((f"{a.image} → {b.image}" if a.image != b.image else a.image,
                 fa[a.image], fb[b.image]),)
    return tuple((r, fa[r], fb[r]) for r in sorted(fa.keys() & fb.keys()))


# -- exits --------------------------------------------------------------------------------------

def _fmt(canonical: str | None) -> str:
    if canonical is None:
        return "—"
    value = json.loads(canonical)
    if isinstance(value, int) and not isinstance(value, bool):
        return hex(value)
    if isinstance(value, list):
        return "[" + ", ".join(hex(v) if isinstance(v, int) else str(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True, slots=True)
class ExitDelta:
    """The first synchronous exit whose observation differs between A and B."""

    vcpu: int
    index: int
    a: ObservedExit | None  # None: A logged fewer exits
    b: ObservedExit | None
    fields: tuple[tuple[str, str | None, str | None], ...]  # (field, A's, B's) canonical JSON

    def describe(self, la: str = "A", lb: str = "B") -> str:
        who = f"vCPU {self.vcpu} " if self.vcpu else ""
        if self.a is None or self.b is None:
            there = self.b if self.a is None else self.a
            assert there is not None
            missing = la if self.a is None else lb
            return f"{who}exit #{self.index} {there.variant}: not observed in {missing}"
        if self.a.variant != self.b.variant:
            return f"{who}exit #{self.index}: {self.a.variant} in {la}, {self.b.variant} in {lb}"
        parts = ", ".join(f"{f}: {_fmt(x)} → {_fmt(y)}" for f, x, y in self.fields)
        return f"{who}exit #{self.index} {self.a.variant}: {parts}"

    def to_json(self) -> dict[str, object]:
        return {"vcpu": self.vcpu, "index": self.index,
                "variant_a": self.a.variant if self.a else None,
                "variant_b": self.b.variant if self.b else None,
                "fields": [{"field": f, "a": None if x is None else json.loads(x),
                            "b": None if y is None else json.loads(y)}
                           for f, x, y in self.fields]}


def _streams(exits: tuple[ObservedExit, ...]) -> dict[int, list[ObservedExit]]:
    out: dict[int, list[ObservedExit]] = {}
    for e in exits:
        if e.variant not in ASYNC_VARIANTS:  # interrupts and timers come when they come
            out.setdefault(e.vcpu, []).append(e)
    return out


def first_exit_difference(a: CaseOutcome | None, b: CaseOutcome | None) -> ExitDelta | None:
    """Per vCPU, in order, the first synchronous exit A and B observed differently; None when
    they agree or a side has no observation (never ran)."""
    if a is None or b is None or (not a.observed and not b.observed):
        return None
    sa, sb = _streams(a.observed), _streams(b.observed)
    for vcpu in sorted(sa.keys() | sb.keys()):
        xs, ys = sa.get(vcpu, []), sb.get(vcpu, [])
        for i in range(max(len(xs), len(ys))):
            x = xs[i] if i < len(xs) else None
            y = ys[i] if i < len(ys) else None
            if x == y:
                continue
            fields: tuple[tuple[str, str | None, str | None], ...] = ()
            if x is not None and y is not None and x.variant == y.variant:
                fx: Mapping[str, str] = dict(x.fields)
                fy: Mapping[str, str] = dict(y.fields)
                fields = tuple((f, fx.get(f), fy.get(f)) for f in [*fx, *(k for k in fy
                                                                             if k not in fx)]
                               if fx.get(f) != fy.get(f))
            return ExitDelta(vcpu, i, x, y, fields)
    return None
