"""Cases that must run alone, started from a saved loader (harness.persist.snapshot) instead of
a boot: for every kind of declared end a restore may take (power-off by the case or by the
runtime after it returns, an expected panic, a VM error) the verdict, the
synchronous exits (the runtime's markers with their arguments too) and the diffs are those of
the same case on its own boot. What a restore cannot vouch for boots: a wait for an interrupt,
a declared hang or stuck VM (QEMU 10.0 does not migrate axvisor's own timer), two vCPUs (the
second CPU's log garbles the loader's ready marker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.check.compare import ASYNC_VARIANTS
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.persist.snapshot import Snapshots
from harness.pytest_plugin import AxhOptions
from harness.qemu.profiles import get_profile
from harness.run.case import CaseResult, run_case
from harness.scenarios.registry import scenarios_for_recipe

Built = Callable[[str], tuple[ImageRecipe, Image]]

CASES = [
    pytest.param("aarch64", "psci-cpu-on-absent", marks=pytest.mark.aarch64),  # panic
    pytest.param("aarch64", "system-off-smc", marks=pytest.mark.aarch64),  # the case powers off
    pytest.param("aarch64", "mixed-sequence", marks=pytest.mark.aarch64),  # returns: runtime's
    pytest.param("riscv64", "mmio-load-lb", marks=pytest.mark.riscv64),  # panic
    pytest.param("riscv64", "csr-read-hgatp", marks=pytest.mark.riscv64),  # VM error
    pytest.param("riscv64", "system-off-srst", marks=pytest.mark.riscv64),  # the case powers off
    pytest.param("aarch64-0.8", "icc-asgi1r-no-device", marks=pytest.mark.aarch64),  # VM error
    pytest.param("aarch64-0.8", "sysreg-write-cntp-ctl", marks=pytest.mark.aarch64),
    # returns: the runtime's end marker and power-off carry what the program left in x1-x6
    pytest.param("aarch64-0.8", "psci-version-hvc", marks=pytest.mark.aarch64),
    pytest.param("riscv64-0.8", "mmio-load-lbu", marks=pytest.mark.riscv64),  # VM error
    pytest.param("riscv64-0.8", "sbi-send-ipi-self", marks=pytest.mark.riscv64),
]


@pytest.fixture(scope="module")
def snapshots() -> Iterator[Snapshots]:
    snaps = Snapshots()
    yield snaps
    snaps.close()


def _sync(res: CaseResult) -> list[tuple[Any, Any, Any, Any]]:
    return [(o["variant"], o.get("fields"), o.get("vcpu", 0), o.get("runtime"))
            for o in res.observed if o["variant"] not in ASYNC_VARIANTS]


def _diffs(res: CaseResult) -> list[tuple[Any, ...]]:
    return [(d.index, d.kind, d.variant, tuple((f.field, f.expected, f.observed)
                                               for f in d.fields)) for d in res.diffs]


@pytest.mark.integration
@pytest.mark.parametrize(("name", "scenario"), CASES)
def test_a_case_started_from_a_snapshot_is_judged_as_on_its_own_boot(
        name: str, scenario: str, axh_options: AxhOptions, axh_image: Built,
        snapshots: Snapshots, tmp_path: Path) -> None:
    recipe, image = axh_image(name)
    (sc,) = scenarios_for_recipe(recipe.name, recipe.arch, recipe.own_scenarios_only, scenario)
    profile = get_profile(recipe.qemu_profile)
    restored = run_case(image, recipe, sc, profile, tmp_path / "restored",
                        timeout_scale=axh_options.timeout_scale, snapshots=snapshots)
    booted = run_case(image, recipe, sc, profile, tmp_path / "booted",
                      timeout_scale=axh_options.timeout_scale)
    assert restored.restored.get("loader_exit_lines"), restored.restored  # not a boot
    assert not booted.restored
    assert (restored.verdict, _sync(restored), _diffs(restored)) == \
        (booted.verdict, _sync(booted), _diffs(booted)), (restored.detail, booted.detail)
    # Its repro is the standalone case: cmdline.sh boots the case's own patched image.
    script = (tmp_path / "restored" / "cmdline.sh").read_text()
    assert image.kernel.name in script and "-incoming" not in script


GATED = [
    pytest.param("riscv64-0.8", "amo-swap-w-at-device", marks=pytest.mark.riscv64),  # stuck
    pytest.param("aarch64-smp", "psci-cpu-on-secondary", marks=pytest.mark.aarch64),
    pytest.param("aarch64-emu-irq", "timer-interrupt-wakes-wfi", marks=pytest.mark.aarch64),
    pytest.param("aarch64", "psci-cpu-off", marks=pytest.mark.aarch64),  # a hang
]


@pytest.mark.integration
@pytest.mark.parametrize(("name", "scenario"), GATED)
def test_a_case_boots_where_a_snapshot_would_not_be_faithful(
        name: str, scenario: str, axh_options: AxhOptions, axh_image: Built,
        snapshots: Snapshots, tmp_path: Path) -> None:
    """An image with two vCPUs; a scenario that waits for a timer's interrupt, or declares a
    hang or a stuck VM (axvisor's own timer is not restored: a silence proves nothing)."""
    recipe, image = axh_image(name)
    profile = get_profile(recipe.qemu_profile)
    (sc,) = scenarios_for_recipe(recipe.name, recipe.arch, recipe.own_scenarios_only, scenario)
    res = run_case(image, recipe, sc, profile, tmp_path / "case",
                   timeout_scale=axh_options.timeout_scale, snapshots=snapshots)
    assert not res.restored
