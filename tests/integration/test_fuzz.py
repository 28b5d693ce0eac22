"""A few fixed fuzz programs per architecture on the real images: each must end as the model
predicts, or differ only as reviewed known divergences say — no new divergence, no crash, no
timeout. A failure names the command that reproduces and minimises it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.check.verdict import Verdict
from harness.fuzz.runner import FuzzOptions, FuzzSession
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.paths import repo_root
from harness.pytest_plugin import AxhOptions

SEEDS = (1, 2, 3)
SIZE = 6


@pytest.mark.integration
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("arch", [pytest.param("aarch64", marks=pytest.mark.aarch64),
                                  pytest.param("riscv64", marks=pytest.mark.riscv64)])
def test_a_seeded_program_shows_nothing_new(
        arch: str, seed: int, axh_options: AxhOptions,
        axh_image: Callable[[str], tuple[ImageRecipe, Image]]) -> None:
    opts = FuzzOptions(arch=arch, seeds=(seed,), size=SIZE, cache=axh_options.cache,
                       results_dir=axh_options.results / "fuzz",
                       timeout_scale=axh_options.timeout_scale)
    session = FuzzSession(repo_root(), opts, built=axh_image(arch))
    prog = session.program(seed)
    if prog.case.verdict is Verdict.INFRA:
        pytest.fail(f"infrastructure: {prog.case.detail}", pytrace=False)
    if prog.signature is not None:
        lines = [f"new finding in {prog.scenario.name}: {prog.signature.describe()}",
                 prog.case.detail, *(d.describe() for d in prog.new_diffs),
                 f"artifacts: {prog.case.artifacts}",
                 f"minimise: axharness fuzz --arch {arch} --seed {seed} --count 1 --size {SIZE}"]
        pytest.fail("\n".join(lines), pytrace=False)
    assert prog.case.verdict in (Verdict.PASS, Verdict.XFAIL), prog.case.detail
    # every action trapped and was checked; the runtime's own SystemDown comes last unless the
    # program ends in the vPLIC's expected panic
    assert prog.exits >= SIZE
