"""Every scenario of every architecture, checked exit by exit against the reference model.
Known divergences (tests/conformance/known-divergences.toml) show as xfail, never as pass."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.pytest_plugin import assert_conformant
from harness.run.case import CaseResult
from harness.scenarios.catalogue import Scenario
from harness.scenarios.registry import all_arches, scenarios_for

ALL = [s for arch in all_arches() for s in scenarios_for(arch)]


@pytest.mark.conformance
@pytest.mark.parametrize("scenario", ALL, ids=[s.case_id for s in ALL])
def test_scenario_conforms(scenario: Scenario,
                           axh_case: Callable[[Scenario], CaseResult]) -> None:
    assert_conformant(axh_case(scenario))
