"""Judging fuzz programs without QEMU: which diffs count as new, what a failure's signature is
(what minimisation preserves), and the exit code of a run."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from harness.check.compare import ExitDiff, FieldDiff
from harness.check.known import KnownDivergence
from harness.check.verdict import Verdict
from harness.fuzz.coverage import Combo
from harness.fuzz.generate import generate
from harness.fuzz.runner import FuzzReport, ProgramResult, Signature, judge, uncovered
from harness.run.case import CaseResult


def known(kid: str, variant: str, fields: tuple[str, ...], arch: str = "aarch64",
          scenarios: tuple[str, ...] = ("mmio-store-b",)) -> KnownDivergence:
    return KnownDivergence(id=kid, arch=arch, axvisor=("0.3.0-preview.2",), variant=variant,
                           fields=fields, scenarios=scenarios, model="m", observed="o",
                           source="s", reviewed=dt.date(2026, 1, 1),
                           expires=dt.date(2099, 1, 1), line=1)


DATA = known("data-whole-register", "MmioWrite", ("data",))
SSE = known("sse-false", "MmioRead", ("signed_ext",))
ISV0 = known("isv0-load", "MmioRead", ("reg", "reg_width", "width"))
KNOWN = (DATA, SSE, ISV0)


def diff(variant: str, *fields: str, kind: str = "fields", index: int = 0) -> ExitDiff:
    return ExitDiff(index, kind, {"variant": variant, "fields": {}}, {"variant": variant,
                    "fields": {}}, 100 + index, tuple(FieldDiff(f, 1, 2) for f in fields))


def case(verdict: Verdict, *diffs: ExitDiff, detail: str = "d",
         scenario: str = "fuzz-aarch64-1-6") -> CaseResult:
    return CaseResult(case_id=f"aarch64/{scenario}", scenario=scenario, arch="aarch64",
                      verdict=verdict, detail=detail, expected=(), observed=(), diffs=diffs,
                      duration_s=1.0, artifacts=Path("/nonexistent"),
                      image={"axvisor": "0.3.0-preview.2"}, qemu={})


def test_a_diff_one_entry_covers_is_expected() -> None:
    res, new, sig = judge(case(Verdict.DIVERGENCE, diff("MmioWrite", "data")), KNOWN)
    assert res.verdict is Verdict.XFAIL and new == () and sig is None
    assert res.known == ("data-whole-register",)


def test_a_diff_in_a_field_no_entry_lists_is_new_and_named_by_kind_variant_fields() -> None:
    c = case(Verdict.DIVERGENCE, diff("MmioWrite", "data"), diff("MmioWrite", "addr", index=1))
    res, new, sig = judge(c, KNOWN)
    assert res.verdict is Verdict.DIVERGENCE
    assert [d.index for d in new] == [1]
    assert sig == Signature("divergence", "fields", "MmioWrite", ("addr",))


def test_two_entries_of_the_same_variant_together_explain_one_diff() -> None:
    res, new, sig = judge(case(Verdict.DIVERGENCE,
                               diff("MmioRead", "reg", "signed_ext", "width")), KNOWN)
    assert res.verdict is Verdict.XFAIL and sig is None and new == ()
    assert set(res.known) == {"sse-false", "isv0-load"} and "explained jointly by" in res.detail


def test_entries_of_another_variant_or_arch_explain_nothing() -> None:
    rv = known("rv-data", "MmioWrite", ("data",), arch="riscv64")
    c = case(Verdict.DIVERGENCE, diff("MmioRead", "data"))
    assert uncovered(c, (DATA, rv)) == c.diffs
    c = case(Verdict.DIVERGENCE, diff("MmioWrite", "data"))
    assert uncovered(c, (rv,)) == c.diffs


def test_variant_missing_and_unexpected_diffs_are_never_covered() -> None:
    for kind in ("variant", "missing", "unexpected"):
        c = case(Verdict.DIVERGENCE, diff("MmioWrite", kind=kind))
        _, new, sig = judge(c, KNOWN)
        assert new == c.diffs and sig is not None and sig.kind == kind


def test_entries_listing_other_scenarios_are_not_stale_for_a_fuzz_program() -> None:
    res, _, sig = judge(case(Verdict.PASS, detail="7 exit(s) as predicted"), KNOWN)
    assert res.verdict is Verdict.PASS and sig is None


def test_the_signature_ignores_where_the_diff_is_and_its_values() -> None:
    a = judge(case(Verdict.DIVERGENCE, diff("MmioRead", "addr", index=4)), KNOWN)[2]
    b = judge(case(Verdict.DIVERGENCE, diff("MmioRead", "addr", index=0)), KNOWN)[2]
    assert a is not None and a == b


def test_a_crash_signature_blanks_addresses_but_keeps_the_message() -> None:
    a = judge(case(Verdict.CRASH, detail="hypervisor panic: bad pc 0x80201234\nmore"), KNOWN)[2]
    b = judge(case(Verdict.CRASH, detail="hypervisor panic: bad pc 0x80209999"), KNOWN)[2]
    c = judge(case(Verdict.CRASH, detail="hypervisor panic: other"), KNOWN)[2]
    assert a == b and a != c and a is not None and "0x80201234" not in a.detail


def test_a_missing_expected_panic_is_new_even_if_its_diffs_are_known() -> None:
    c = case(Verdict.DIVERGENCE, diff("MmioWrite", "data"),
             detail="expected axvisor to panic with 'x', but the run ended: shutdown")
    assert judge(c, KNOWN)[2] == Signature("divergence", "panic-missing")


def test_timeouts_are_new_and_infrastructure_is_not() -> None:
    assert judge(case(Verdict.TIMEOUT), KNOWN)[2] == Signature("timeout")
    assert judge(case(Verdict.INFRA), KNOWN)[2] is None


def program(verdict: Verdict, sig: Signature | None = None) -> ProgramResult:
    return ProgramResult(1, generate("aarch64", 1, 2), case(verdict), (), sig, frozenset())


def report(*programs: ProgramResult) -> FuzzReport:
    return FuzzReport("aarch64", "aarch64", "0.3.0-preview.2", 2, programs, (), 60.0, 61.0,
                      frozenset({Combo("Hypercall", "-", "-", "-", "Hypercall")}))


def test_exit_code_is_0_when_nothing_is_new_2_with_a_finding_3_for_infrastructure_only() -> None:
    assert report(program(Verdict.PASS), program(Verdict.XFAIL)).exit_code == 0
    assert report(program(Verdict.PASS), program(Verdict.INFRA)).exit_code == 3
    assert report(program(Verdict.INFRA),
                  program(Verdict.TIMEOUT, Signature("timeout"))).exit_code == 2


def test_rates_are_per_minute_of_running_programs() -> None:
    r = report(program(Verdict.PASS), program(Verdict.PASS))
    assert r.per_minute(len(r.programs)) == 2.0
    assert replace(r, run_seconds=0.0).per_minute(5) == 0.0
