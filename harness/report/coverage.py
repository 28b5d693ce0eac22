"""Variant coverage of a run, per architecture and per image, and the known divergences that
apply to it, as report sections.

Generated from the cases and the model's contracts, never written by hand: a variant an
architecture can produce but no scenario produced shows as NOT COVERED.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from harness.check.known import KnownDivergence
from harness.check.verdict import Verdict
from harness.model.arch import Arch, contract
from harness.model.exits import Generation
from harness.report import matrix
from harness.report.reachability import Unreachable, unreachable_for
from harness.report.tables import COUNT, GAP, IMPL, NA, NONE, Cell, Section, Table, md_section
from harness.run.case import CaseResult
from harness.scenarios.catalogue import Scenario


def _recipe(case: CaseResult) -> str:
    return case.case_id.split("/", 1)[0]


def _unreachable(case: CaseResult, entries: Sequence[Unreachable]) -> dict[str, Unreachable]:
    return unreachable_for(entries, case.arch, str(case.image.get("axvisor", "")),
                           str(case.image.get("backend", "")))


def _ran(case: CaseResult) -> bool:
    """Whether the case ran to a verdict (its exits count for coverage)."""
    return case.verdict not in (Verdict.SKIP, Verdict.INFRA, Verdict.INTERRUPTED)


def _producers(cases: Sequence[CaseResult], who: Callable[[CaseResult], str]
               ) -> dict[tuple[str, str], set[str]]:
    """(arch, variant) → who(case) for every case that ran and logged that variant."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in cases:
        if _ran(c):
            for o in c.observed:
                out[(c.arch, str(o["variant"]))].add(who(c))
    return out


def arch_section(cases: Sequence[CaseResult], entries: Sequence[Unreachable] = ()
                 ) -> Section:
    """Per architecture (all its images together): how many scenarios produced each variant,
    `n/a` where the architecture cannot produce it, `impl` where no image's vCPU returns it,
    `0` where one can but nothing did."""
    gens = {c.arch: Generation[str(c.image["generation"])] for c in cases
            if str(c.image.get("generation")) in Generation.__members__}
    arches = sorted(gens)
    ran_arches = {c.arch for c in cases if c.image.get("generation")}
    not_run = sorted({c.arch for c in cases} - ran_arches)
    other = sorted(ran_arches - set(gens))  # a schema generation this table does not know
    produced = _producers(cases, lambda c: c.case_id)
    ran: dict[str, list[CaseResult]] = defaultdict(list)
    for c in filter(_ran, cases):
        ran[c.arch].append(c)
    rows = []
    for name in (cls.VARIANT for cls in Generation.G0_6.variants()):
        row = [Cell(name)]
        for a in arches:
            gen = gens[a]
            n = len(produced.get((a, name), ()))
            if not gen.has_variant(name):
                row.append(Cell("not in schema", tone=NONE))
            elif name in contract(Arch(a), gen).impossible:
                row.append(Cell("n/a", tone=NA))
            elif not n and ran[a] and all(name in _unreachable(c, entries) for c in ran[a]):
                row.append(Cell("impl", tone=IMPL))
            else:
                row.append(Cell(str(n), tone=COUNT if n else GAP))
        rows.append(tuple(row))
    return Section(
        "Variants by architecture",
        "Scenarios (over all images of the architecture) whose run produced each variant; "
        "`n/a`: the architecture cannot produce it; `impl`: the vCPU implementation of every "
        "image that ran never returns it (reasons below); `0`: it can, nothing did yet."
        + (f" Not run on this host: {', '.join(not_run)}." if not_run else "")
        + (f" Another exit schema, not in this table: {', '.join(other)}." if other else ""),
        Table(("variant", *arches), tuple(rows)), anchor="coverage")


def image_sections(cases: Sequence[CaseResult], entries: Sequence[Unreachable] = ()
                   ) -> list[Section]:
    """One section per image: which scenarios produced each variant, or why none did."""
    out = [Section(
        "Variant coverage per image",
        "Which scenarios produced each `AxVCpuExitReason` variant on each image (observed in "
        "the console, in cases that ran to a verdict). Variants the architecture cannot "
        "produce carry the model's reason; variants the image's vCPU implementation never "
        "returns carry the reason read from its source "
        "(tests/conformance/vcpu-reachability.toml).", None, anchor="coverage-images")]
    by_recipe: dict[str, list[CaseResult]] = defaultdict(list)
    for c in cases:
        by_recipe[_recipe(c)].append(c)
    elsewhere = _producers(cases, _recipe)  # (arch, variant) → images
    for recipe, items in sorted(by_recipe.items()):
        ran = [c for c in items if _ran(c)]
        gen_name = next((str(c.image.get("generation")) for c in items
                         if c.image.get("generation")), "")
        if not ran or not gen_name:
            why = items[0].detail.strip() or items[0].verdict.value
            out.append(Section(recipe, f"Not run on this host: {why}", None, level=3))
            continue
        if gen_name not in Generation.__members__:  # a schema this table does not know yet
            out.append(Section(recipe, f"Schema {gen_name}: no coverage table yet.", None,
                               level=3))
            continue
        out.append(_image_section(recipe, ran, Generation[gen_name], entries, elsewhere))
    return out


def _image_section(recipe: str, ran: Sequence[CaseResult], gen: Generation,
                   entries: Sequence[Unreachable],
                   elsewhere: dict[tuple[str, str], set[str]]) -> Section:
    arch = Arch(ran[0].arch)
    con = contract(arch, gen)
    never = _unreachable(ran[0], entries)
    produced = _producers(ran, lambda c: c.scenario)
    rows = []
    for cls in gen.variants():
        name = cls.VARIANT
        scen = sorted(produced.get((arch.value, name), ()))
        note, tone, strong = "", COUNT, False
        if name in con.impossible:
            note, tone = "cannot occur: " + con.impossible[name], NA
        elif scen and name in never:
            note, strong = (f"produced although listed as never returned by {never[name].vcpu} "
                            f"(vcpu-reachability.toml line {never[name].line}: review the "
                            "entry)"), True
        elif name in never:
            e = never[name]
            note, tone = f"not returned by {e.vcpu}: {e.why} ({e.source})", IMPL
        elif not scen and (others := sorted(elsewhere.get((arch.value, name), set())
                                            - {recipe})):
            note, tone = f"not on this image; produced on {', '.join(others)}", NONE
        elif not scen:
            note, tone, strong = ("NOT COVERED (possible on this architecture, no scenario "
                                  "yet)"), GAP, True
        shown = ", ".join(scen[:6]) + (f" … (+{len(scen) - 6})" if len(scen) > 6 else "")
        rows.append((Cell(name), Cell(cls.CATEGORY.value), Cell(shown or "—", tone=tone),
                     Cell(note, strong=strong)))
    return Section(f"{recipe} (axvisor {ran[0].image.get('axvisor')}, schema {gen.name})", "",
                   Table(("variant", "category", "produced by", "note"), tuple(rows)), level=3)


def applies(k: KnownDivergence, cases: Sequence[CaseResult]) -> bool:
    """Whether an entry concerns an image of this run (its architecture and axvisor version)."""
    return any(c.arch == k.arch and str(c.image.get("axvisor", "")) in k.axvisor
               for c in cases)


def known_section(cases: Sequence[CaseResult], known: Sequence[KnownDivergence]) -> Section:
    """The entries of known-divergences.toml that concern this run's images, with the cases
    each matched; entries for other architectures or versions are left out, not `not run`."""
    matched: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        for kid in case.known:
            matched[kid].append(case.case_id)
    ran = {f"{c.arch}/{c.scenario}" for c in cases if _ran(c)}
    notes = [(n.entry, n.status) for c in cases for n in c.known_notes]
    not_applicable = {e for e, st in notes if st == "not-applicable"} - {
        e for e, st in notes if st != "not-applicable"}
    shown = [k for k in known if applies(k, cases)]
    rows = []
    for k in shown:
        what = (f"{k.variant} (missing)" if k.kind == "missing" or not k.fields
                else f"{k.variant}.{'/'.join(k.fields)}")
        if matched.get(k.id):
            cell = Cell(", ".join(matched[k.id]), tone=Verdict.XFAIL.value)
        elif k.id in not_applicable:  # every image that ran it modifies the crate it quotes
            cell = Cell("not applicable to these images: see below", tone=NONE)
        elif any(f"{k.arch}/{s}" in ran for s in k.scenarios):
            cell = Cell("not matched: see the cases that did not pass", tone=GAP, strong=True)
        else:
            cell = Cell("its scenarios were not selected", tone=NONE)
        rows.append((Cell(k.id), Cell(k.arch), Cell(", ".join(k.axvisor)), Cell(code=what),
                     Cell(k.model), Cell(k.observed), Cell(k.source), cell))
    left = len(known) - len(shown)
    return Section(
        "Known divergences",
        "From tests/conformance/known-divergences.toml; each shows as xfail, never as pass."
        + (f" {left} entries for images not in this run are not shown." if left else ""),
        Table(("id", "arch", "axvisor", "variant.fields", "model", "axvisor does", "source",
               "matched in"), tuple(rows)), anchor="known")


# The sections as Markdown lines, for callers that want one section alone.
def arch_summary(cases: Sequence[CaseResult], entries: Sequence[Unreachable] = ()
                 ) -> list[str]:
    return md_section(arch_section(cases, entries))


def coverage_section(cases: Sequence[CaseResult], entries: Sequence[Unreachable] = ()
                     ) -> list[str]:
    return [line for s in image_sections(cases, entries) for line in md_section(s)]


def matrix_section(cases: Sequence[CaseResult], scenarios: dict[str, Scenario]) -> list[str]:
    return md_section(matrix.arch_matrix(cases, scenarios))
