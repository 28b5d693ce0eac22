"""A few fixed fuzz programs per architecture on the real images: each must end as the model
predicts, or differ only as reviewed known divergences say — no new divergence, no crash, no
timeout. A failure names the command that reproduces and minimises it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.check.verdict import Verdict
from harness.fuzz.generate import generate
from harness.fuzz.program import load_program
from harness.fuzz.runner import FuzzOptions, FuzzSession
from harness.fuzz.signature import Signature
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.paths import repo_root
from harness.pytest_plugin import AxhOptions
from harness.scenarios.actions import MmioStore

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


@pytest.mark.integration
@pytest.mark.riscv64
def test_an_unlisted_divergence_is_minimised_to_the_action_that_shows_it(
        axh_options: AxhOptions, axh_image: Callable[[str], tuple[ImageRecipe, Image]]) -> None:
    """With no known divergences, riscv64's whole-register MmioWrite data is new: the program
    shrinks to one 32-bit store of a value wider than 32 bits, written out as a reproducer."""
    def wide_store(a: object) -> bool:
        return isinstance(a, MmioStore) and a.value >> 32 != 0

    seed = next(s for s in range(100)
                if sum(map(wide_store, generate("riscv64", s, 4).actions)) == 1
                and not generate("riscv64", s, 4).expect_panic)
    opts = FuzzOptions(arch="riscv64", seeds=(seed,), size=4, cache=axh_options.cache,
                       results_dir=axh_options.results / "fuzz-min", jobs=2,
                       timeout_scale=axh_options.timeout_scale)
    session = FuzzSession(repo_root(), opts, built=axh_image("riscv64"), known=())
    prog = session.program(seed)
    assert prog.signature == Signature("divergence", "fields", "MmioWrite", ("data",))
    finding = session.minimise(prog)
    assert finding.reproduced
    (kept,) = finding.minimal.actions
    assert wide_store(kept)
    recipe, scenario = load_program(finding.program_file)
    assert recipe == "riscv64" and scenario.actions == (kept,)
    assert finding.command == f"axharness fuzz --replay {finding.program_file}"
