"""Generated conformance report: variant coverage per image, the cross-architecture matrix of
scenarios that do the same thing, and the known divergences that matched.

Generated from a results file and the model's contracts, never written by hand: a variant an
architecture can produce but no scenario produced shows as NOT COVERED.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.check.compare import ASYNC_VARIANTS
from harness.check.known import KnownDivergence
from harness.check.verdict import Verdict
from harness.model.arch import Arch, contract
from harness.model.exits import Generation
from harness.report.reachability import Unreachable, unreachable_for
from harness.run.case import CaseResult
from harness.scenarios.catalogue import Scenario


def _recipe(case: CaseResult) -> str:
    return case.case_id.split("/", 1)[0]


def _fields(obs: dict[str, object]) -> str:
    fields = obs.get("fields", {})
    assert isinstance(fields, dict)
    inner = ", ".join(f"{k}: {hex(v) if isinstance(v, int) and not isinstance(v, bool) else v}"
                      for k, v in fields.items())
    return f"{obs['variant']} {{ {inner} }}" if inner else str(obs["variant"])


def _unreachable(case: CaseResult, entries: Sequence[Unreachable]) -> dict[str, Unreachable]:
    return unreachable_for(entries, case.arch, str(case.image.get("axvisor", "")),
                           str(case.image.get("backend", "")))


def _ran(case: CaseResult) -> bool:
    """Whether the case ran to a verdict (its exits count for coverage)."""
    return case.verdict not in (Verdict.SKIP, Verdict.INFRA)


def _producers(cases: Sequence[CaseResult], who: Callable[[CaseResult], str]
               ) -> dict[tuple[str, str], set[str]]:
    """(arch, variant) → who(case) for every case that ran and logged that variant."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in cases:
        if _ran(c):
            for o in c.observed:
                out[(c.arch, str(o["variant"]))].add(who(c))
    return out


def arch_summary(cases: Sequence[CaseResult], entries: Sequence[Unreachable] = ()
                 ) -> list[str]:
    """Per architecture (all its images together): how many scenarios produced each variant,
    `n/a` where the architecture cannot produce it, `impl` where no image's vCPU returns it,
    `0` where one can but nothing did."""
    arches = sorted({c.arch for c in cases})
    gens = {c.arch: str(c.image["generation"]) for c in cases if c.image.get("generation")}
    produced = _producers(cases, lambda c: c.case_id)
    ran: dict[str, list[CaseResult]] = defaultdict(list)
    for c in filter(_ran, cases):
        ran[c.arch].append(c)
    names = [cls.VARIANT for cls in Generation.G0_6.variants()]
    out = ["## Variants by architecture", "",
           "Scenarios (over all images of the architecture) whose run produced each variant; "
           "`n/a`: the architecture cannot produce it; `impl`: the vCPU implementation of "
           "every image that ran never returns it (reasons below); `0`: it can, nothing "
           "did yet.", "", "| variant | " + " | ".join(arches) + " |",
           "|---|" + "---|" * len(arches)]
    for name in names:
        row = []
        for a in arches:
            gen = Generation[gens[a]] if a in gens else None
            if gen is None or not gen.has_variant(name):
                row.append("not in schema" if gen is not None else "not run")
            elif name in contract(Arch(a), gen).impossible:
                row.append("n/a")
            elif not produced.get((a, name)) and ran[a] and all(
                    name in _unreachable(c, entries) for c in ran[a]):
                row.append("impl")
            else:
                row.append(str(len(produced.get((a, name), ()))))
        out.append(f"| {name} | " + " | ".join(row) + " |")
    return [*out, ""]


def coverage_section(cases: Sequence[CaseResult], entries: Sequence[Unreachable] = ()
                     ) -> list[str]:
    out = ["## Variant coverage per image", "",
           "Which scenarios produced each `AxVCpuExitReason` variant on each image (observed in "
           "the console, in cases that ran to a verdict). Variants the architecture cannot "
           "produce carry the model's reason; variants the image's vCPU implementation never "
           "returns carry the reason read from its source "
           "(tests/conformance/vcpu-reachability.toml).", ""]
    by_recipe: dict[str, list[CaseResult]] = defaultdict(list)
    for c in cases:
        by_recipe[_recipe(c)].append(c)
    elsewhere = _producers(cases, _recipe)  # (arch, variant) → images
    for recipe, items in sorted(by_recipe.items()):
        ran = [c for c in items if _ran(c)]
        arch = Arch(items[0].arch)
        gen_name = next((str(c.image.get("generation")) for c in items
                         if c.image.get("generation")), "")
        if not ran or not gen_name:
            why = items[0].detail if items else ""
            out += [f"### {recipe}", "", f"Not run on this host: {why}", ""]
            continue
        gen = Generation[gen_name]
        con = contract(arch, gen)
        never = _unreachable(ran[0], entries)
        produced = _producers(ran, lambda c: c.scenario)
        out += [f"### {recipe} (axvisor {items[0].image.get('axvisor')}, schema {gen_name})", "",
                "| variant | category | produced by | note |", "|---|---|---|---|"]
        for cls in gen.variants():
            name = cls.VARIANT
            scen = sorted(produced.get((arch.value, name), ()))
            if name in con.impossible:
                note = "cannot occur: " + con.impossible[name]
            elif scen:
                note = "" if name not in never else (
                    f"**produced although listed as never returned by {never[name].vcpu}** "
                    f"(vcpu-reachability.toml line {never[name].line}: review the entry)")
            elif name in never:
                e = never[name]
                note = f"not returned by {e.vcpu}: {e.why} ({e.source})"
            elif others := sorted(elsewhere.get((arch.value, name), set()) - {recipe}):
                note = f"not on this image; produced on {', '.join(others)}"
            else:
                note = "**NOT COVERED** (possible on this architecture, no scenario yet)"
            shown = ", ".join(scen[:6]) + (f" … (+{len(scen) - 6})" if len(scen) > 6 else "")
            out.append(f"| {name} | {cls.CATEGORY.value} | {shown or '—'} | {note} |")
        out.append("")
    return out


def matrix_section(cases: Sequence[CaseResult], scenarios: dict[str, Scenario]) -> list[str]:
    """Same semantic action on every image, side by side."""
    rows: dict[str, dict[str, CaseResult]] = defaultdict(dict)
    for c in cases:
        sc = scenarios.get(f"{c.arch}/{c.scenario}")
        if sc is not None and sc.semantic:
            rows[sc.semantic][_recipe(c)] = c
    recipes = sorted({_recipe(c) for c in cases})
    out = ["## Cross-architecture matrix", "",
           "Scenarios that perform the same semantic action on each architecture; each cell is "
           "the verdict and the first exit observed (asynchronous ones skipped, unless the "
           "scenario is about one).", "",
           "| action | " + " | ".join(recipes) + " |", "|---|" + "---|" * len(recipes)]
    for semantic, cells in sorted(rows.items()):
        row = []
        for r in recipes:
            cell = cells.get(r)
            if cell is None:
                row.append("—")
            elif cell.observed:
                sc = scenarios.get(f"{cell.arch}/{cell.scenario}")
                wanted = [o for o in cell.observed
                          if sc is not None and o["variant"] in sc.expect_async]
                sync = [o for o in cell.observed if o["variant"] not in ASYNC_VARIANTS]
                first = (wanted or sync or list(cell.observed))[0]
                row.append(f"{cell.verdict.value}: `{_fields(first)}`")
            else:
                row.append(f"{cell.verdict.value}")
        out.append(f"| {semantic} | " + " | ".join(row) + " |")
    return [*out, ""]


def divergence_section(cases: Sequence[CaseResult], known: Sequence[KnownDivergence]
                       ) -> list[str]:
    matched: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        for kid in case.known:
            matched[kid].append(case.case_id)
    out = ["## Known divergences", "",
           "From tests/conformance/known-divergences.toml; each shows as xfail, never as pass.",
           "", "| id | arch | axvisor | variant.fields | model | axvisor does | source | "
           "matched in |", "|---|---|---|---|---|---|---|---|"]
    for k in known:
        out.append(f"| {k.id} | {k.arch} | {', '.join(k.axvisor)} | {k.variant}."
                   f"{'/'.join(k.fields)} | {k.model} | {k.observed} | {k.source} | "
                   f"{', '.join(matched.get(k.id, [])) or 'not run'} |")
    open_divs = [c for c in cases if c.verdict is Verdict.DIVERGENCE]
    if open_divs:
        out += ["", "Divergences without a reviewed entry (failures):", ""]
        out += [f"- {c.case_id}: {c.detail}" for c in open_divs]
    return [*out, ""]


def write_report(cases: Sequence[CaseResult], scenarios: dict[str, Scenario],
                 known: Sequence[KnownDivergence], path: Path, command: str,
                 unreachable: Sequence[Unreachable] = ()) -> None:
    counts: dict[str, int] = defaultdict(int)
    for c in cases:
        counts[c.verdict.value] += 1
    lines = ["# axvisor conformance report", "",
             f"Generated by `{command}`; do not edit by hand.", "",
             "Verdicts: " + ", ".join(f"{v}: {n}" for v, n in sorted(counts.items())), ""]
    lines += arch_summary(cases, unreachable) + coverage_section(cases, unreachable)
    lines += matrix_section(cases, scenarios)
    lines += divergence_section(cases, known)
    path.write_text("\n".join(lines))
