"""Judging fuzz programs without QEMU: which diffs count as new, what a failure's signature is
(what minimisation preserves), and the exit code of a run."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from harness.check.access import AccessClass
from harness.check.compare import ExitDiff, FieldDiff
from harness.check.known import KnownDivergence, load_known
from harness.check.verdict import Verdict
from harness.fuzz.attribution import exit_actions
from harness.fuzz.coverage import Combo
from harness.fuzz.generate import generate
from harness.fuzz.runner import FuzzReport, ProgramResult
from harness.fuzz.signature import Signature, judge, uncovered
from harness.run.case import CaseResult
from harness.scenarios.actions import (
    Hypercall,
    MmioLoad,
    MmioStore,
    SbiCall,
    StartSecondary,
    SystemOff,
)


def known(kid: str, variant: str, fields: tuple[str, ...], access: AccessClass,
          arch: str = "aarch64", scenarios: tuple[str, ...] = ("mmio-store-b",)
          ) -> KnownDivergence:
    return KnownDivergence(id=kid, arch=arch, axvisor=("0.3.0-preview.2",), variant=variant,
                           fields=fields, scenarios=scenarios, model="m", observed="o",
                           source="s", reviewed=dt.date(2026, 1, 1),
                           expires=dt.date(2099, 1, 1), line=1, access=access)


DEV = 0x0800_0E00
DATA = known("data-whole-register", "MmioWrite", ("data",),
             AccessClass("MmioStore", (("width", (1, 2, 4)), ("form", ("imm",)))))
SSE = known("sse-false", "MmioRead", ("signed_ext",),
            AccessClass("MmioLoad", (("signed", (True,)),)))
ISV0 = known("isv0-load", "MmioRead", ("reg", "reg_width", "width"),
             AccessClass("MmioLoad", (("form", ("pre", "post")),)))
KNOWN = (DATA, SSE, ISV0)
STRB = MmioStore(DEV, 1, 0x1122, reg=5)
LDRSB_POST = MmioLoad(DEV, 1, reg=4, signed=True, form="post")
LDR = MmioLoad(DEV, 8, reg=4)


def at(*actions: object) -> dict[int, tuple[object, ...]]:
    """vCPU 0's expected exits come from these actions, in order."""
    return {0: actions}


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
    res, new, sig = judge(case(Verdict.DIVERGENCE, diff("MmioWrite", "data")), KNOWN, at(STRB))
    assert res.verdict is Verdict.XFAIL and new == () and sig is None
    assert res.known == ("data-whole-register",)


def test_a_diff_in_a_field_no_entry_lists_is_new_and_named_by_kind_variant_fields() -> None:
    c = case(Verdict.DIVERGENCE, diff("MmioWrite", "data"), diff("MmioWrite", "addr", index=1))
    res, new, sig = judge(c, KNOWN, at(STRB, STRB))
    assert res.verdict is Verdict.DIVERGENCE
    assert [d.index for d in new] == [1]
    assert sig == Signature("divergence", "fields", "MmioWrite", ("addr",))


def test_two_entries_of_the_same_variant_together_explain_one_diff() -> None:
    c = case(Verdict.DIVERGENCE, diff("MmioRead", "reg", "signed_ext", "width"))
    res, new, sig = judge(c, KNOWN, at(LDRSB_POST))
    assert res.verdict is Verdict.XFAIL and sig is None and new == ()
    assert set(res.known) == {"sse-false", "isv0-load"} and "explained jointly by" in res.detail
    # an unsigned writeback load: the SSE entry's class does not hold, signed_ext stays new
    assert judge(c, KNOWN, at(replace(LDRSB_POST, signed=False)))[1] == c.diffs


def test_an_entry_explains_a_program_diff_only_for_an_action_of_its_access_class() -> None:
    c = case(Verdict.DIVERGENCE, diff("MmioWrite", "data"))
    assert uncovered(c, KNOWN, at(STRB)) == ()
    for other in (replace(STRB, form="pre"), replace(STRB, width=8), LDR, None):
        assert uncovered(c, KNOWN, at(other)) == c.diffs, other


def test_without_the_actions_behind_its_exits_no_entry_explains_a_program_diff() -> None:
    res, new, sig = judge(case(Verdict.DIVERGENCE, diff("MmioWrite", "data")), KNOWN)
    assert res.verdict is Verdict.DIVERGENCE and new == res.diffs
    assert sig == Signature("divergence", "fields", "MmioWrite", ("data",))


def test_the_repository_entries_do_not_absorb_a_narrow_store_without_its_own_entry() -> None:
    """The masking case of the suite, in a program: with the whole-register entry gone, the
    ISV = 0 store entry (fields data and width) must not explain an `strb`'s data."""
    entries = load_known(Path(__file__).parents[1] / "conformance" / "known-divergences.toml")
    program = (MmioStore(DEV, 1, 0x1122_3344_5566_7788, reg=5),
               MmioStore(DEV, 4, 0xCAFE_F00D, reg=6, form="pre"))
    c = case(Verdict.DIVERGENCE, diff("MmioWrite", "data"),
             diff("MmioWrite", "data", "width", index=1))
    actions = exit_actions("aarch64", "", program)
    res, new, _ = judge(c, entries, actions)
    assert res.verdict is Verdict.XFAIL and set(res.known) == {
        "a64-mmio-write-data-whole-register", "a64-isv0-store-decoded-from-invalid-syndrome"}
    without = tuple(k for k in entries if k.id != "a64-mmio-write-data-whole-register")
    res, new, sig = judge(c, without, actions)
    assert res.verdict is Verdict.DIVERGENCE and [d.index for d in new] == [0]
    assert sig == Signature("divergence", "fields", "MmioWrite", ("data",))


def test_each_expected_exit_is_attributed_to_the_action_that_traps() -> None:
    store, hc = MmioStore(DEV, 4, 7, reg=5), Hypercall(0x4AB1, (1, 2, 3, 4, 5, 6))
    prog = (store, hc, SystemOff("hvc"))
    # three payload traps, then the runtime's own power-off (its exit never comes here)
    assert exit_actions("aarch64", "", prog) == {0: (store, hc, SystemOff("hvc"), None)}
    started = StartSecondary(1, 0x42, 0x0C00_1F00, width=4, actions=(store,))
    sbi = SbiCall(1, 0, (65,))
    got = exit_actions("riscv64", "", (sbi, started))
    assert got[0][:2] == (sbi, started) and got[0][-1] is None
    assert got[1] and set(got[1]) == {started}  # the started hart's traps: its StartSecondary


def test_entries_of_another_variant_or_arch_explain_nothing() -> None:
    rv = known("rv-data", "MmioWrite", ("data",), DATA.access or AccessClass(""), arch="riscv64")
    c = case(Verdict.DIVERGENCE, diff("MmioRead", "data"))
    assert uncovered(c, (DATA, rv), at(STRB)) == c.diffs
    c = case(Verdict.DIVERGENCE, diff("MmioWrite", "data"))
    assert uncovered(c, (rv,), at(STRB)) == c.diffs


def test_variant_missing_and_unexpected_diffs_are_never_covered() -> None:
    for kind in ("variant", "missing", "unexpected"):
        c = case(Verdict.DIVERGENCE, diff("MmioWrite", kind=kind))
        _, new, sig = judge(c, KNOWN, at(STRB))
        assert new == c.diffs and sig is not None and sig.kind == kind


def test_entries_listing_other_scenarios_are_not_stale_for_a_fuzz_program() -> None:
    res, _, sig = judge(case(Verdict.PASS, detail="7 exit(s) as predicted"), KNOWN)
    assert res.verdict is Verdict.PASS and sig is None


def test_an_error_signature_ignores_which_run_and_which_console_line_it_came_from() -> None:
    # A candidate of minimisation runs in its own directory, its record on another line: with
    # those in the signature no candidate ever matched and nothing shrank (audit, session 7).
    said = ("1 console record(s) did not parse; first: {}/console.log:{}: error: MmioRead: "
            "record interrupted by the next log line")
    a = judge(case(Verdict.ERROR, detail=said.format("/r/programs/fuzz-aarch64-7", "12:5")),
              KNOWN)[2]
    b = judge(case(Verdict.ERROR, detail=said.format("/r/minimise/fuzz-aarch64-7/3f2a9c1b",
                                                     "9:5")), KNOWN)[2]
    assert a is not None and a == b
    other = judge(case(Verdict.ERROR, detail=said.format("/r", "9:5").replace("MmioRead",
                                                                              "MmioWrite")),
                  KNOWN)[2]
    assert other != a


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


def test_an_entry_quoting_a_crate_the_image_modified_explains_no_program_diff() -> None:
    # The suite's rule (harness.check.scope) in fuzzing too: with arm_vcpu patched, an entry
    # about arm_vcpu 0.2.2 no longer says why a program's exit differs.
    scoped = replace(DATA, crate="arm_vcpu 0.2.2")
    c = case(Verdict.DIVERGENCE, diff("MmioWrite", "data"))
    stock = replace(c, image={"axvisor": "0.3.0-preview.2", "recipe": "aarch64",
                              "crates": {"arm_vcpu": "0.2.2"}})
    patched = replace(stock, image={**stock.image, "modified_crates": [
        {"crate": "arm_vcpu", "version": "0.2.2", "how": "patch", "sha256": "0" * 64}]})
    assert uncovered(stock, (scoped,), at(STRB)) == ()
    assert uncovered(patched, (scoped,), at(STRB)) == c.diffs
    assert judge(patched, (scoped,), at(STRB))[0].verdict is Verdict.DIVERGENCE
