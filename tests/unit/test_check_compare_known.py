"""Comparison of exit streams and the known-divergence rules, on logs rendered the way axvm
prints them and parsed by the real parser."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from harness.check.compare import compare, fold_repeats, fold_repeats_per_vcpu, split_async
from harness.check.known import apply_known, load_known
from harness.check.verdict import Verdict
from harness.errors import UsageError
from harness.model.convert import exit_to_json
from harness.model.exits import (
    ExitReason,
    Hypercall,
    MmioWrite,
    Nothing,
    SystemDown,
)
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr
from harness.parse import parse_log
from harness.parse.axlog import ExitRecord, format_log_line
from harness.parse.render import DebugForm, render_exit
from harness.run.case import CaseResult

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

GEN = S02


def observed(*exits: ExitReason) -> tuple[ExitRecord, ...]:
    log = "".join(format_log_line(render_exit(e, GEN, "aarch64", DebugForm.PRETTY_HEX), 1000 + i)
                  for i, e in enumerate(exits))
    res = parse_log(log, GEN, "aarch64")
    assert res.ok
    return res.records


def store(data: int) -> MmioWrite:
    return MmioWrite(GuestPhysAddr(0x0800_0E00), AccessWidth.Dword, data)


HC = Hypercall(7, (1, 2, 3, 4, 5, 6))


def test_equal_streams_have_no_difference() -> None:
    assert compare([store(1), HC, SystemDown()], observed(store(1), HC, SystemDown())) == ()


def test_a_field_difference_names_field_expected_and_observed() -> None:
    (d,) = compare([store(0x88)], observed(store(0x1122_3344_5566_7788)))
    assert d.kind == "fields" and d.variant == "MmioWrite"
    assert [(f.field, f.expected, f.observed) for f in d.fields] == [
        ("data", 0x88, 0x1122_3344_5566_7788)]
    assert "data: expected 0x88, observed 0x1122334455667788" in d.describe()


def test_missing_and_unexpected_exits_are_reported_by_position() -> None:
    diffs = compare([store(1), HC], observed(store(1)))
    assert [(d.index, d.kind) for d in diffs] == [(1, "missing")]
    diffs = compare([store(1)], observed(store(1), HC))
    assert [(d.index, d.kind) for d in diffs] == [(1, "unexpected")]


def test_an_unpredicted_nothing_is_set_aside_but_a_predicted_one_must_appear() -> None:
    obs = observed(Nothing(), store(1), Nothing(), SystemDown())
    assert compare([store(1), SystemDown()], obs) == ()
    kept, asynchronous = split_async([store(1), SystemDown()], obs)
    assert len(kept) == 2 and len(asynchronous) == 2
    diffs = compare([Nothing(), SystemDown()], observed(SystemDown()))
    assert diffs and diffs[0].kind in ("variant", "missing")


def test_a_variant_mismatch_is_not_hidden_by_async_rules() -> None:
    (d, *_) = compare([HC], observed(SystemDown()))
    assert d.kind == "variant"


KNOWN = """
[[divergence]]
id = "store-data"
arch = "aarch64"
axvisor = ["0.3.0-preview.2"]
variant = "MmioWrite"
fields = ["data"]
scenarios = ["s1"]
model = "m"
observed = "o"
source = "x.rs:1"
reviewed = 2026-11-01
expires = 2099-01-01
"""


def case(scenario: str, diffs_from: tuple[list[ExitReason], tuple[ExitRecord, ...]],
         version: str = "0.3.0-preview.2") -> CaseResult:
    exp, obs = diffs_from
    diffs = compare(exp, obs)
    return CaseResult(case_id=f"aarch64/{scenario}", scenario=scenario, arch="aarch64",
                      verdict=Verdict.DIVERGENCE if diffs else Verdict.PASS, detail="d",
                      expected=tuple(exit_to_json(e) for e in exp), observed=(), diffs=diffs,
                      duration_s=0.0, artifacts=Path("."), image={"axvisor": version}, qemu={})


@pytest.fixture
def known(tmp_path: Path) -> Path:
    p = tmp_path / "known.toml"
    p.write_text(KNOWN)
    return p


def test_a_covered_divergence_becomes_xfail_with_the_entry_id(known: Path) -> None:
    c = apply_known(case("s1", ([store(0x88)], observed(store(0x1188)))), load_known(known))
    assert c.verdict is Verdict.XFAIL and c.known == ("store-data",)


def test_a_divergence_in_another_field_is_not_covered(known: Path) -> None:
    wrong_width = MmioWrite(GuestPhysAddr(0x0800_0E00), AccessWidth.Byte, 0x88)
    c = apply_known(case("s2", ([store(0x88)], observed(wrong_width))), load_known(known))
    assert c.verdict is Verdict.DIVERGENCE


def test_an_entry_that_no_longer_matches_its_scenario_is_an_error(known: Path) -> None:
    c = apply_known(case("s1", ([store(1)], observed(store(1)))), load_known(known))
    assert c.verdict is Verdict.ERROR and "store-data" in c.detail


def test_an_expired_entry_is_an_error(known: Path) -> None:
    entries = tuple(replace(k, expires=dt.date(2020, 1, 1)) for k in load_known(known))
    c = apply_known(case("s1", ([store(0x88)], observed(store(0x1188)))), entries)
    assert c.verdict is Verdict.ERROR and "expired" in c.detail


def test_entries_apply_only_to_their_axvisor_versions(known: Path) -> None:
    c = apply_known(case("s1", ([store(0x88)], observed(store(0x1188))), version="0.5.8"),
                    load_known(known))
    assert c.verdict is Verdict.DIVERGENCE


def test_a_case_without_diffs_never_becomes_xfail(known: Path) -> None:
    c = replace(case("s3", ([store(1)], observed(store(1)))), verdict=Verdict.DIVERGENCE)
    assert apply_known(c, load_known(known)).verdict is Verdict.DIVERGENCE


def test_a_malformed_entry_is_reported_with_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "k.toml"
    p.write_text("# c\n\n" + KNOWN.replace('source = "x.rs:1"\n', ""))
    with pytest.raises(UsageError, match=r"k\.toml:4: .*missing \['source'\]"):
        load_known(p)


def test_the_repository_known_divergences_file_loads() -> None:
    entries = load_known(Path(__file__).parents[1] / "conformance" / "known-divergences.toml")
    assert entries and all(k.expires > k.reviewed for k in entries)


def test_two_entries_of_one_variant_explain_a_diff_jointly(tmp_path: Path) -> None:
    p = tmp_path / "k.toml"
    p.write_text(KNOWN + KNOWN.replace('id = "store-data"', 'id = "store-width"')
                 .replace('fields = ["data"]', 'fields = ["width"]')
                 .replace('scenarios = ["s1"]', 'scenarios = ["s1", "s2"]'))
    narrow = MmioWrite(GuestPhysAddr(0x0800_0E00), AccessWidth.Byte, 0x1188)
    c = apply_known(case("s1", ([store(0x88)], observed(narrow))), load_known(p))
    assert c.verdict is Verdict.XFAIL
    assert set(c.known) == {"store-data", "store-width"} and "jointly" in c.detail
    only_one = apply_known(case("s1", ([store(0x88)], observed(narrow))),
                           load_known(p)[1:])  # store-width alone: lists s1, explains nothing
    assert only_one.verdict is Verdict.ERROR and "store-width" in only_one.detail
    # store-data does not list s2: it takes no part there, and store-width alone is stale
    elsewhere = apply_known(case("s2", ([store(0x88)], observed(narrow))), load_known(p))
    assert elsewhere.verdict is Verdict.ERROR and "store-width" in elsewhere.detail


REPO_KNOWN = Path(__file__).parents[1] / "conformance" / "known-divergences.toml"
WHOLE_REGISTER = "a64-mmio-write-data-whole-register"


@pytest.mark.parametrize(("scenario", "width", "expected"), [
    ("mmio-store-b", AccessWidth.Byte, 0x88), ("mmio-store-h", AccessWidth.Word, 0x7788),
    ("mmio-store-w", AccessWidth.Dword, 0x5566_7788)])
def test_an_entry_explains_a_diff_only_in_the_scenarios_it_lists(
        scenario: str, width: AccessWidth, expected: int) -> None:
    """Without the whole-register entry, the ISV = 0 store entry (which also lists `data`, for
    mmio-store-pre-index) must not absorb the narrow stores' data regression as XFAIL."""
    entries = load_known(REPO_KNOWN)
    dev = GuestPhysAddr(0x0800_0E00)
    exits: tuple[list[ExitReason], tuple[ExitRecord, ...]] = (
        [MmioWrite(dev, width, expected)], observed(MmioWrite(dev, width, 0x1122_3344_5566_7788)))
    full = apply_known(case(scenario, exits), entries)
    assert full.verdict is Verdict.XFAIL and full.known == (WHOLE_REGISTER,)
    without = apply_known(case(scenario, exits),
                          tuple(k for k in entries if k.id != WHOLE_REGISTER))
    assert without.verdict is Verdict.DIVERGENCE and without.known == ()


def test_repeats_of_the_last_exit_fold_into_one_and_are_counted() -> None:
    w = MmioWrite(GuestPhysAddr(0x100), AccessWidth.Dword, 1)
    h = Hypercall(1, (0, 0, 0, 0, 0, 0))
    recs, folded = fold_repeats(observed(w, h, h, Nothing(), h, h))
    assert [r.exit for r in recs] == [w, h] and folded == 4
    # an earlier identical exit separated by another one is not a repeat of the last
    recs, folded = fold_repeats(observed(h, w, h))
    assert [r.exit for r in recs] == [h, w, h] and folded == 0
    assert fold_repeats(observed(Nothing(), Nothing())) == (list(observed(Nothing(), Nothing())), 0)


def test_a_parked_vcpus_repeats_fold_on_its_own_stream_among_the_others_exits() -> None:
    """riscv64-0.8-smp: hart 1's HART_STOP (CpuDown) comes again while hart 0 still runs."""
    w = MmioWrite(GuestPhysAddr(0x100), AccessWidth.Dword, 1)
    h = Hypercall(1, (0, 0, 0, 0, 0, 0))
    vcpus = (0, 1, 1, 0, 1, 0, 0)
    recs = [replace(r, vcpu=v) for r, v in zip(observed(w, h, SystemDown(), w, SystemDown(), h,
                                                        SystemDown()), vcpus, strict=True)]
    kept, folded = fold_repeats_per_vcpu(recs, {})
    assert [(r.vcpu, r.exit) for r in kept] == [(0, w), (1, h), (1, SystemDown()), (0, w),
                                                (0, h), (0, SystemDown())] and folded == 1
    # the whole stream's fold would keep vCPU 1's repeat: it is not at the end
    assert fold_repeats(recs)[1] == 0
    # one vCPU: the same as fold_repeats
    one = list(observed(w, h, h))
    assert fold_repeats_per_vcpu(one, {}) == fold_repeats(one)


MISSING = KNOWN.replace('id = "store-data"', 'id = "store-never-comes"').replace(
    'fields = ["data"]', 'kind = "missing"\nfields = []')


def test_a_missing_kind_entry_covers_only_an_exit_that_never_came(tmp_path: Path) -> None:
    p = tmp_path / "k.toml"
    p.write_text(MISSING)
    gone = apply_known(case("s1", ([store(0x88)], observed())), load_known(p))
    assert gone.verdict is Verdict.XFAIL and gone.known == ("store-never-comes",)
    # the exit came, with a wrong field: not what the entry describes (and it is then stale)
    wrong = apply_known(case("s1", ([store(0x88)], observed(store(0x1188)))), load_known(p))
    assert wrong.verdict is Verdict.ERROR and "store-never-comes" in wrong.detail


@pytest.mark.parametrize(("kind", "fields"), [("missing", '["data"]'), ("fields", "[]"),
                                              ("absent", '["data"]')])
def test_kind_and_fields_must_agree(tmp_path: Path, kind: str, fields: str) -> None:
    p = tmp_path / "k.toml"
    p.write_text(KNOWN.replace('fields = ["data"]', f'kind = "{kind}"\nfields = {fields}'))
    with pytest.raises(UsageError, match=r"k\.toml:2: .*(kind|fields)"):
        load_known(p)
