"""The riscv64 tracer on the suite's MMIO scenarios: htval and htinst, read through the gdbstub at
riscv_vcpu's `_guest_exit`, decide every field of the access, and that decision equals the
instruction-level model's, which decodes the assembled instruction instead. Two independent
decodings of each access — QEMU's transformed instruction (§8.6.3; the compressed forms with
bits 1:0 = 01) and the payload's bytes — so a wrong decoder on either side fails here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.model.schemas import of_image
from harness.oracle.capture import capture
from harness.oracle.context import TrapContext
from harness.oracle.expect import Outcome, judge
from harness.oracle.predict import expect
from harness.oracle.records import RvTrap
from harness.run.expect import expected_exits
from harness.scenarios.registry import scenarios_for_recipe

pytestmark = [pytest.mark.integration, pytest.mark.riscv64]

SCENARIOS = ["mmio-load-lw", "mmio-load-lhu", "mmio-load-lb", "mmio-load-ld", "mmio-load-c-lw",
             "mmio-load-base-offset", "mmio-store-sb", "mmio-store-sh", "mmio-store-sd",
             "mmio-store-c-sw", "mmio-store-c-sw-base-offset"]


@pytest.mark.parametrize("scenario_name", SCENARIOS)
def test_htinst_at_the_trap_decides_the_access_as_the_assembled_instruction_does(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path,
        scenario_name: str) -> None:
    recipe, image = axh_image("riscv64")
    (scenario,) = scenarios_for_recipe(recipe.name, recipe.arch, recipe.own_scenarios_only,
                                       scenario_name)
    schema = of_image(image.schema, image.axvcpu_version)
    cap = capture(image, recipe, scenario, tmp_path / "case", trap_log=False, gdb=True)
    assert cap.trace is not None and cap.trace.error == "", cap.trace
    faults = [r for r in cap.trace.records if not r.is_async and r.cause in (21, 23)]
    predicted = [e for e in expected_exits(image, cap.payload, schema, recipe.backend)[0]
                 if e.VARIANT in ("MmioRead", "MmioWrite")]
    assert predicted and len(faults) >= len(predicted)
    for rec, exit in zip(faults, predicted, strict=False):
        assert rec.htinst & 1, f"htinst {rec.htinst:#x} is no transformed instruction"
        trap = RvTrap(0, 0, False, rec.cause, rec.sepc, rec.stval, "")
        exp = expect(trap, TrapContext(schema, rec.gprs, stage1_off=True, htval=rec.htval,
                                       htinst=rec.htinst))
        verdict = judge(exp, exit)
        assert verdict.outcome is Outcome.AGREE, (exit, verdict.problems, verdict.undecided)
