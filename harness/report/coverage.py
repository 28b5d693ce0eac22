"""Variant coverage of a run, per architecture and exit schema and per image, and the known
divergences that apply to it, as report sections.

Generated from the cases, the exit schemas (schemas/*.toml: which kinds each line's enum has on
each architecture, and which are new in it) and the model's contracts, never written by hand:
a kind an architecture can produce but no scenario produced shows as NOT COVERED.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from harness.check.known import KnownDivergence
from harness.check.verdict import Verdict
from harness.errors import HarnessError
from harness.model import schemas
from harness.model.arch import Arch, contract
from harness.model.exits import VARIANT_BY_NAME
from harness.report import matrix
from harness.report.reachability import Unreachable, unreachable_for
from harness.report.tables import COUNT, GAP, IMPL, NA, NONE, Cell, Section, Table, md_section
from harness.run.case import CaseResult
from harness.scenarios.catalogue import Scenario
from harness.schema import Schema


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
                if not o.get("runtime"):  # the guest runtime's own marker hypercalls
                    out[(c.arch, str(o["variant"]))].add(who(c))
    return out


def _schema_of(case: CaseResult) -> Schema | None:
    """The exit schema a case was judged with (None: not recorded, or unknown here)."""
    try:
        return schemas.of_record(case.image)
    except HarnessError:
        return None


def arch_section(cases: Sequence[CaseResult], entries: Sequence[Unreachable] = ()
                 ) -> Section:
    """Per architecture and exit schema (all images of that line together): how many scenarios
    produced each kind, `n/a` where the architecture cannot produce it, `impl` where no
    image's vCPU returns it, `0` where one can but nothing did, `not in schema` where the
    line's enum has no such kind."""
    columns: dict[tuple[str, str], Schema] = {}
    recorded = set()
    for c in cases:
        if c.image.get("schema") or c.image.get("generation"):
            recorded.add(c.arch)
            if (schema := _schema_of(c)) is not None:
                columns[(c.arch, schema.id)] = schema
    not_run = sorted({c.arch for c in cases} - recorded)
    produced = _producers(cases, lambda c: f"{c.case_id}")
    ran: dict[tuple[str, str], list[CaseResult]] = defaultdict(list)
    for c in filter(_ran, cases):
        if (schema := _schema_of(c)) is not None:
            ran[(c.arch, schema.id)].append(c)
    keys = sorted(columns)
    kinds = [k for k in VARIANT_BY_NAME if any(columns[x].has(x[0], k) for x in keys)]
    rows = []
    for name in kinds:
        row = [Cell(name)]
        for a, sid in keys:
            schema = columns[(a, sid)]
            n = len({case for case in produced.get((a, name), ())
                     if case in {c.case_id for c in ran[(a, sid)]}})
            if not schema.has(a, name):
                row.append(Cell("not in schema", tone=NONE))
            elif name in contract(Arch(a), schema).impossible:
                row.append(Cell("n/a", tone=NA))
            elif not n and ran[(a, sid)] and all(name in _unreachable(c, entries)
                                                 for c in ran[(a, sid)]):
                row.append(Cell("impl", tone=IMPL))
            else:
                new = name in schema.new_only_kinds(a)
                row.append(Cell(str(n) + (" (new)" if new else ""), tone=COUNT if n else GAP))
        rows.append(tuple(row))
    return Section(
        "Variants by architecture and exit schema",
        "Scenarios (over all images of the architecture with that exit schema) whose run "
        "produced each exit kind; `n/a`: the architecture cannot produce it; `impl`: the vCPU "
        "implementation of every image that ran never returns it (reasons below); `0`: it "
        "can, nothing did yet; `not in schema`: that line's exit enum has no such kind; "
        "`(new)`: a kind the line has and its baseline had not."
        + (f" Not run on this host: {', '.join(not_run)}." if not_run else ""),
        Table(("kind", *(f"{a} ({sid})" for a, sid in keys)), tuple(rows)), anchor="coverage")


def image_sections(cases: Sequence[CaseResult], entries: Sequence[Unreachable] = ()
                   ) -> list[Section]:
    """One section per image: which scenarios produced each variant, or why none did."""
    out = [Section(
        "Variant coverage per image",
        "Which scenarios produced each variant of the image's exit enum (observed in the "
        "console, in cases that ran to a verdict), by canonical kind (the Rust name when it "
        "differs). Variants the architecture cannot produce carry the model's reason; variants "
        "the image's vCPU implementation never returns carry the reason read from its source "
        "(tests/conformance/vcpu-reachability.toml).", None, anchor="coverage-images")]
    by_recipe: dict[str, list[CaseResult]] = defaultdict(list)
    for c in cases:
        by_recipe[_recipe(c)].append(c)
    elsewhere = _producers(cases, _recipe)  # (arch, variant) → images
    for recipe, items in sorted(by_recipe.items()):
        ran = [c for c in items if _ran(c)]
        schema = next((s for c in items if (s := _schema_of(c)) is not None), None)
        if not ran or schema is None:
            why = items[0].detail.strip() or items[0].verdict.value
            out.append(Section(recipe, f"Not run on this host: {why}", None, level=3))
            continue
        out.append(_image_section(recipe, ran, schema, entries, elsewhere))
    return out


def _image_section(recipe: str, ran: Sequence[CaseResult], schema: Schema,
                   entries: Sequence[Unreachable],
                   elsewhere: dict[tuple[str, str], set[str]]) -> Section:
    arch = Arch(ran[0].arch)
    con = contract(arch, schema)
    never = _unreachable(ran[0], entries)
    produced = _producers(ran, lambda c: c.scenario)
    new_kinds = schema.new_only_kinds(arch.value)
    rows = []
    for v in schema.variants(arch.value):
        name = v.kind
        scen = sorted(produced.get((arch.value, name), ()))
        note, tone, strong = "", COUNT, False
        if name in con.impossible:
            note, tone = "cannot occur: " + con.impossible[name], NA
        elif not v.logged:
            note, tone = f"never logged (the schema: {v.note})", NA
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
        if name in new_kinds:
            note = f"new in {schema.id}" + (f"; {note}" if note else "")
        shown = ", ".join(scen[:6]) + (f" … (+{len(scen) - 6})" if len(scen) > 6 else "")
        label = name if v.rust == name else f"{name} (Rust: {v.rust})"
        rows.append((Cell(label), Cell(v.category), Cell(shown or "—", tone=tone),
                     Cell(note, strong=strong)))
    return Section(f"{recipe} (axvisor {ran[0].image.get('axvisor')}, schema {schema.id})", "",
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
