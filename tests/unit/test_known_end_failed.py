"""A case that missed its declared end (a hang, a stuck VM, a VM error, a panic, a required
asynchronous exit, the runtime's markers) is a divergence that no known entry explains, even when
entries explain every exit diff it carries: csr-read-hgatp without its VM error and amo-swap
with its stuck bug fixed were xfail (audit, session 7). The entries are the project's own file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness.check.compare import ExitDiff, FieldDiff
from harness.check.known import apply_known, load_known
from harness.check.verdict import Verdict
from harness.fuzz.signature import judge
from harness.paths import repo_root
from harness.run.case import CaseResult

KNOWN = load_known(repo_root() / "tests/conformance/known-divergences.toml")
TODAY = dt.date(2026, 12, 1)
HGATP = ExitDiff(0, "missing", {"variant": "SysRegRead", "fields": {"addr": 0x680, "reg": 10}},
                 None, None)
AMO = ExitDiff(0, "fields", {"variant": "NestedPageFault",
                             "fields": {"addr": 0x1000, "access_flags": 3}},
               {"variant": "NestedPageFault", "fields": {"addr": 0x1000, "access_flags": 0}},
               10, (FieldDiff("access_flags", 3, 0),))
CASES = {
    "csr-read-hgatp": (HGATP, "expected axvisor to stop the VM on the error 'Unhandled virtual "
                              "instruction', which it did not log; the run ended: watcher"),
    "amo-swap-w-at-device": (AMO, "expected axvisor to stay running after 'unhandled vmexit: "
                                  "NestedPageFault' (a known upstream bug), but the run ended: "
                                  "watcher; if the bug is fixed, drop expect_stuck"),
}


def _case(scenario: str, end_failed: bool) -> CaseResult:
    diff, detail = CASES[scenario]
    return CaseResult(case_id=f"riscv64/{scenario}", scenario=scenario, arch="riscv64",
                      verdict=Verdict.DIVERGENCE, detail=detail if end_failed else "1 differs",
                      expected=(), observed=(), diffs=(diff,), duration_s=1.0,
                      artifacts=Path("/nonexistent"),
                      image={"axvisor": "0.5.8", "recipe": "riscv64"}, qemu={},
                      end_failed=end_failed)


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_entries_explain_the_exits_of_a_case_that_met_its_end(scenario: str) -> None:
    assert apply_known(_case(scenario, False), KNOWN, TODAY).verdict is Verdict.XFAIL


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_a_missed_declared_end_stays_a_divergence_whatever_its_exits(scenario: str) -> None:
    case = apply_known(_case(scenario, True), KNOWN, TODAY)
    assert case.verdict is Verdict.DIVERGENCE, case.detail
    assert case.known  # the entries did match its exits: said, not used to xfail


def test_a_fuzz_program_that_missed_its_end_is_a_finding() -> None:
    _, _, signature = judge(_case("amo-swap-w-at-device", True), KNOWN)
    assert signature is not None and signature.kind == "end-missed"
