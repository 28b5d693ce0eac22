"""Known divergences scoped to the code they quote: an entry with `crate = "arm_vcpu 0.2.2"`
applies only where the image builds that crate unmodified from crates.io; elsewhere it is noted
as not applicable and the case is judged by the model alone. Cases are built from the real
repository entry and the real image-manifest shape (harness.images.build)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.check.compare import compare
from harness.check.known import apply_known, load_known
from harness.check.scope import (
    CRATES_IO,
    ModifiedCrate,
    case_crates,
    image_record,
    modified_in_manifest,
    not_applicable,
)
from harness.check.verdict import Verdict
from harness.images.build import modified_crates
from harness.images.recipe import CratePatch, load_recipe
from harness.model.convert import exit_to_json
from harness.model.exits import ExitReason, MmioWrite
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr
from harness.parse import parse_log
from harness.parse.axlog import format_log_line
from harness.parse.render import DebugForm, render_exit
from harness.run.case import CaseResult

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

ROOT = Path(__file__).parents[2]
KNOWN = load_known(ROOT / "tests" / "conformance" / "known-divergences.toml")
ENTRY = "a64-mmio-write-data-whole-register"
DEV = GuestPhysAddr(0x0800_0E00)
PATCH = {"crate": "arm_vcpu", "version": "0.2.2", "how": "patch", "sha256": "ab" * 32,
         "detail": "arm_vcpu-0.2.2-mmio-write-width.patch"}


def manifest(modified: list[dict[str, str]] | None = None, arm_vcpu: str = "0.2.2",
             changed: tuple[str, ...] = ()) -> dict[str, Any]:
    """An image manifest of the aarch64 shape (only the keys scope reads)."""
    m: dict[str, Any] = {
        "axvisor": {"version": "0.3.0-preview.2"},
        "resolved": {"axvcpu": "0.2.2", "crates": {
            "axvcpu": "0.2.2", "arm_vcpu": arm_vcpu, "riscv_vcpu": "0.2.2", "axvm": "0.2.3",
            "log": "0.4.27"}, "changed_from_published_lock": list(changed)},
        "patches": []}
    if modified is not None:
        m["modified_crates"] = modified
    return m


def store_case(recipe: str, mf: dict[str, Any], observed_data: int,
               scenario: str = "mmio-store-b") -> CaseResult:
    """mmio-store-b: the model expects the byte 0x88, axvisor logged `observed_data`."""
    exp: list[ExitReason] = [MmioWrite(DEV, AccessWidth.Byte, 0x88)]
    log = format_log_line(render_exit(MmioWrite(DEV, AccessWidth.Byte, observed_data), S02,
                                      "aarch64", DebugForm.PRETTY_HEX), 1000)
    diffs = compare(exp, parse_log(log, S02, "aarch64").records)
    return CaseResult(
        case_id=f"{recipe}/{scenario}", scenario=scenario, arch="aarch64",
        verdict=Verdict.DIVERGENCE if diffs else Verdict.PASS,
        detail="1 exit(s) as predicted" if not diffs else "1 exit(s) differ", diffs=diffs,
        expected=tuple(exit_to_json(e) for e in exp), observed=(), duration_s=0.0,
        artifacts=Path("."), qemu={},
        image={"recipe": recipe, "axvisor": "0.3.0-preview.2", **image_record(mf, "aarch64")})


def test_the_fixed_scenario_passes_on_the_patched_image_with_a_not_applicable_note() -> None:
    c = apply_known(store_case("aarch64-fix", manifest([PATCH]), 0x88), KNOWN)
    assert c.verdict is Verdict.PASS, c.detail
    assert [(n.entry, n.status) for n in c.known_notes] == [(ENTRY, "not-applicable")]
    text = c.known_notes[0].describe()
    assert text.startswith(f"entry {ENTRY} not applicable: arm_vcpu modified in image "
                           "aarch64-fix (patched (arm_vcpu-0.2.2-mmio-write-width.patch")
    assert text in c.detail
    assert c.to_json()["known_notes"] == [{"entry": ENTRY, "status": "not-applicable",
                                           "why": c.known_notes[0].why}]


def test_the_same_pass_on_a_stock_image_is_a_stale_entry_error() -> None:
    c = apply_known(store_case("aarch64", manifest([]), 0x88), KNOWN)
    assert c.verdict is Verdict.ERROR and ENTRY in c.detail
    assert [(n.entry, n.status) for n in c.known_notes] == [(ENTRY, "stale")]


def test_the_stock_image_keeps_its_xfail_in_the_same_run() -> None:
    c = apply_known(store_case("aarch64", manifest([]), 0x1122_3344_5566_7788), KNOWN)
    assert c.verdict is Verdict.XFAIL and c.known == (ENTRY,) and c.known_notes == ()


def test_on_a_patched_image_the_entry_no_longer_excuses_the_divergence() -> None:
    """The patch did not fix it (or broke it anew): the reviewed code is not what runs, so the
    entry cannot vouch for the diff."""
    c = apply_known(store_case("aarch64-fix", manifest([PATCH]), 0x1122_3344_5566_7788), KNOWN)
    assert c.verdict is Verdict.DIVERGENCE and c.known == ()
    assert [n.status for n in c.known_notes] == ["not-applicable"]


def test_an_entry_quoting_another_version_does_not_apply() -> None:
    c = apply_known(store_case("aarch64-new", manifest([], arm_vcpu="0.2.3"), 0x88), KNOWN)
    assert c.verdict is Verdict.PASS
    assert "resolves arm_vcpu 0.2.3, the entry quotes 0.2.2" in c.known_notes[0].why


def test_a_case_that_recorded_no_crates_is_scoped_by_axvisor_version_as_before() -> None:
    old = replace(store_case("aarch64", manifest([PATCH]), 0x88),
                  image={"recipe": "aarch64", "axvisor": "0.3.0-preview.2"})
    assert case_crates(old.image) is None
    assert apply_known(old, KNOWN).verdict is Verdict.ERROR  # stale, as before scoping


def test_a_local_directory_crate_missing_from_the_list_still_counts_as_modified() -> None:
    """The resolved lock is the ground truth: a crate it takes from a path is not the
    published source even when no recipe entry says so."""
    mf = manifest([], changed=("arm_vcpu 0.2.2 (path)", f"log 0.4.27 ({CRATES_IO})"))
    assert [(m.crate, m.how) for m in modified_in_manifest(mf)] == [("arm_vcpu", "path")]
    c = apply_known(store_case("aarch64-local", mf, 0x88), KNOWN)
    assert c.verdict is Verdict.PASS and "arm_vcpu modified in image aarch64-local" in c.detail


def test_a_manifest_without_modified_crates_falls_back_to_its_patches() -> None:
    mf = manifest(None)
    mf["patches"] = [{"crate": "arm_vcpu", "version": "0.2.2", "sha256": "cd" * 32,
                      "file": "/x/images/patches/a.patch", "why": "w"}]
    assert modified_in_manifest(mf) == (ModifiedCrate("arm_vcpu", "0.2.2", "patch", "cd" * 32,
                                                      "a.patch"),)


def test_a_case_records_the_exit_crates_its_backend_and_every_modified_crate() -> None:
    mf = manifest([PATCH | {"crate": "log", "version": "0.4.27"}])
    rec = image_record(mf, "aarch64")
    assert rec["crates"] == {"arm_vcpu": "0.2.2", "axvcpu": "0.2.2", "axvisor": "0.3.0-preview.2",
                             "axvm": "0.2.3", "log": "0.4.27"}  # not riscv_vcpu: not its arch
    assert [m["crate"] for m in rec["modified_crates"]] == ["log"]
    assert json.loads(json.dumps(rec)) == rec


def test_entries_without_a_crate_or_images_without_a_record_are_not_scoped() -> None:
    crates = case_crates({"recipe": "r", "crates": {"arm_vcpu": "0.2.2"},
                          "modified_crates": [PATCH]})
    assert not_applicable("", crates) == ""
    assert not_applicable("arm_vcpu 0.2.2", None) == ""
    assert not_applicable("riscv_vcpu 0.5.9", crates) == ""  # not recorded, not modified
    assert not_applicable("arm_vcpu 0.2.2", crates).startswith("arm_vcpu modified in image r")


def test_the_manifest_lists_each_patched_crate_once_with_a_digest_of_its_patches(
        tmp_path: Path) -> None:
    recipe = load_recipe(ROOT / "tests" / "variants" / "aarch64-mmio-write-fix.toml", ROOT)
    (one,) = modified_crates(recipe)
    assert (one["crate"], one["version"], one["how"]) == ("arm_vcpu", "0.2.2", "patch")
    assert one["detail"] == "arm_vcpu-0.2.2-mmio-write-width.patch"
    second = tmp_path / "second.patch"
    second.write_text("--- a/x\n+++ b/x\n")
    two = replace(recipe, crate_patches=(*recipe.crate_patches,
                                         CratePatch("arm_vcpu", "0.2.2", second, "w")))
    (both,) = modified_crates(two)
    assert both["sha256"] not in (one["sha256"], "") and "second.patch" in both["detail"]


@pytest.mark.parametrize("field", ["crate", "version", "how", "sha256"])
def test_a_modified_crate_round_trips_through_the_case_record(field: str) -> None:
    crates = case_crates({"recipe": "r", "crates": {}, "modified_crates": [PATCH]})
    assert crates is not None
    assert getattr(crates.modified[0], field) == PATCH[field]


def test_both_reports_list_not_applicable_and_stale_entries_as_evaluated(tmp_path: Path) -> None:
    from harness.report.html import write_html
    from harness.report.markdown import write_report

    cases = [apply_known(store_case("aarch64", manifest([]), 0x88), KNOWN),
             apply_known(store_case("aarch64-fix", manifest([PATCH]), 0x88), KNOWN),
             apply_known(store_case("aarch64-fix", manifest([PATCH]), 0x88, "mmio-store-h"),
                         KNOWN)]
    write_report(cases, {}, KNOWN, tmp_path / "report.md", "axharness run")
    md = (tmp_path / "report.md").read_text()
    assert (f"entry {ENTRY} not applicable: arm_vcpu modified in image aarch64-fix") in md
    row = next(ln for ln in md.splitlines() if ln.startswith(f"| `{ENTRY}` | not applicable"))
    assert "aarch64-fix/mmio-store-b, aarch64-fix/mmio-store-h" in row
    stale = next(ln for ln in md.splitlines() if ln.startswith(f"| `{ENTRY}` | **stale"))
    assert "aarch64/mmio-store-b" in stale and "not run" not in stale
    write_html(cases, {}, KNOWN, tmp_path / "report.html", "axharness run")
    page = (tmp_path / "report.html").read_text()
    assert 'id="known-notes"' in page and f"entry {ENTRY} stale: applies to image aarch64" in page


def test_an_entry_that_applies_to_no_image_of_the_run_is_not_reported_as_a_gap(
        tmp_path: Path) -> None:
    """A run of the patched image alone: the entry matched nowhere because it does not apply,
    not because the cases failed to show it."""
    from harness.report.markdown import write_report

    cases = [apply_known(store_case("aarch64-fix", manifest([PATCH]), 0x88), KNOWN)]
    write_report(cases, {}, KNOWN, tmp_path / "report.md", "axharness run")
    row = next(ln for ln in (tmp_path / "report.md").read_text().splitlines()
               if ln.startswith(f"| {ENTRY} |"))
    assert "not applicable to these images" in row and "not matched" not in row


@pytest.mark.parametrize(("modification", "applies"), [
    ({"how": "patch", "sha256": "cd" * 32}, True),  # the patch set the entry's reviewer read
    ({"how": "patch", "sha256": "ef" * 32}, False),  # any other patch set
    ({"how": "path", "sha256": "cd" * 32}, False),  # a local directory: `--crate NAME=PATH`
])
def test_an_entry_applies_to_a_patched_crate_only_with_a_patch_set_it_reviewed(
        modification: dict[str, str], applies: bool) -> None:
    # The 0.8 entries named no crate (every 0.8 image patches axvm), so they applied to an axvm
    # changed any way at all (audit, session 7): now they name it and the reviewed patch sets.
    entry = replace(next(k for k in KNOWN if k.id == ENTRY), reviewed_patches=("cd" * 32,))
    mf = manifest([{**PATCH, **modification}])
    c = apply_known(store_case("aarch64-x", mf, 0x1122_3344_5566_7788), (entry,))
    assert (c.verdict is Verdict.XFAIL) is applies, c.detail


def test_every_entry_of_the_current_line_names_its_crate_and_the_images_patch_sets() -> None:
    from harness.images.build import modified_crates

    patched = {m["sha256"] for f in sorted((ROOT / "images").glob("recipes*/*-0.8*.toml"))
               for m in modified_crates(load_recipe(f, ROOT)) if m["crate"] == "axvm"}
    for k in (k for k in KNOWN if "0.8.2" in k.axvisor):
        assert k.crate == "axvm 0.8.5" and set(k.reviewed_patches) == patched, k.id
