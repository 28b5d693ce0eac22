"""The aarch64 image end to end: real axvisor under QEMU TCG runs the first guest (an MMIO
store, a hypercall with six arguments, PSCI SYSTEM_OFF) and every exit it logs is the one the
reference model predicts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.check.verdict import Verdict
from harness.run.case import CaseResult
from harness.scenarios.aarch64 import HC_ARGS
from harness.scenarios.catalogue import Scenario
from harness.scenarios.registry import scenarios_for

pytestmark = [pytest.mark.integration, pytest.mark.aarch64]


def test_first_guest_exits_match_the_model(axh_case: Callable[[Scenario], CaseResult]) -> None:
    (scenario,) = scenarios_for("aarch64", "first-guest")
    res = axh_case(scenario)
    assert res.verdict is Verdict.PASS, res.detail
    variants = [o["variant"] for o in res.observed]
    assert variants == ["MmioWrite", "Hypercall", "SystemDown"]
    assert res.observed[1]["fields"]["args"] == list(HC_ARGS)
    assert res.observed[0]["fields"]["width"] == "Dword"
    assert (res.artifacts / "console.log").stat().st_size > 0
    assert (res.artifacts / "qmp.jsonl").read_text().count('"execute": "cont"') == 1


def test_the_default_payload_only_shuts_down(axh_case: Callable[[Scenario], CaseResult]) -> None:
    res = axh_case(Scenario("empty", "aarch64", "no actions: the runtime's SYSTEM_OFF only", ()))
    assert res.verdict is Verdict.PASS, res.detail
    assert [o["variant"] for o in res.observed] == ["SystemDown"]
