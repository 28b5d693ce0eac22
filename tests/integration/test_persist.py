"""Persistent mode on the real images: a boot runs program after program, each slice holds only
its own exits, a corrupted frame is refused (AXH:BADFRAME) and never guessed, a program the
policy cannot share runs on a boot of its own, and per program the verdict, the observed exits
and the diff text are those of one boot per program (the differential test)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.check.compare import ASYNC_VARIANTS
from harness.check.verdict import Verdict
from harness.fuzz.generate import generate
from harness.fuzz.runner import FuzzOptions, FuzzSession
from harness.guests.payload import build_payload
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.model import schemas
from harness.paths import repo_root
from harness.persist.differential import differences, program_view
from harness.persist.frame import Frame, encode
from harness.persist.judge import judge_slice
from harness.persist.session import Boot
from harness.pytest_plugin import AxhOptions
from harness.qemu.profiles import get_profile
from harness.scenarios.actions import Hypercall, MmioStore, SystemOff
from harness.scenarios.catalogue import Scenario

ARCHES = [pytest.param("aarch64", marks=pytest.mark.aarch64),
          pytest.param("riscv64", marks=pytest.mark.riscv64)]
# The 0.8 line's images too: a loader without text, found by its exit records.
IMAGES = [*ARCHES, pytest.param("aarch64-0.8", marks=pytest.mark.aarch64),
          pytest.param("riscv64-0.8", marks=pytest.mark.riscv64)]
DIFF_PROGRAMS = 48  # per architecture in CI; bench/results/persist-differential.json: more
DIFF_PROGRAMS_08 = 24  # a 0.8 boot per program takes ≈ 0.7 s
DIFF_SIZE = 8
Built = Callable[[str], tuple[ImageRecipe, Image]]


def _boot(recipe: ImageRecipe, image: Image, rundir: Path, opts: AxhOptions) -> Boot:
    return Boot(image, recipe.guest.source, get_profile(recipe.qemu_profile), rundir,
                timeout_scale=opts.timeout_scale)


def _hypercall(nr: int) -> Hypercall:
    return Hypercall(nr, (nr + 1, nr + 2, nr + 3, nr + 4, nr + 5, nr + 6))


@pytest.mark.integration
@pytest.mark.parametrize("name", IMAGES)
@pytest.mark.parametrize("queued", [False, True], ids=["one-at-a-time", "queued"])
def test_each_slice_holds_its_own_program_exits_only(
        name: str, queued: bool, axh_options: AxhOptions, axh_image: Built,
        tmp_path: Path) -> None:
    """`queued`: all three programs are in the mailbox before the first is collected (the
    guest runs them back to back, as a fuzz stream does)."""
    recipe, image = axh_image(name)
    arch = recipe.arch
    schema = schemas.of_image(image.schema, image.axvcpu_version)
    nrs = (0x1_0000_1000, 0x2_0000_2000, 0x3_0000_3000)
    scenarios = [Scenario(f"hc{n}", arch, "", (_hypercall(nr),)) for n, nr in enumerate(nrs)]
    payloads = [build_payload(image, sc.actions, recipe.guest.source, recipe.guest.entry)
                for sc in scenarios]
    with _boot(recipe, image, tmp_path / "boot", axh_options) as boot:
        boot.start()
        if queued:
            slices = [boot.submit(encode(payloads[0].code)),
                      boot.submit(encode(payloads[1].code))]
            assert slices == [0, 1] and boot.queued == 2
            runs = [boot.collect()]
            boot.submit(encode(payloads[2].code))  # program 0's slot, free once it is done
            runs += [boot.collect(), boot.collect()]
        else:
            runs = [boot.run(p.code) for p in payloads]
        assert boot.queued == 0
    for n, (sc, payload, sl) in enumerate(zip(scenarios, payloads, runs, strict=True)):
        assert sl.ended is None and sl.n == n
        j = judge_slice(image, sc, payload, schema, recipe.backend, recipe.guest.vcpu_of_cpu,
                        sl.console, sl.n, sl.crc, sl.ended, "slice")
        assert j.verdict is Verdict.PASS, j.detail
        mine = [o for o in j.observed if o["variant"] not in ASYNC_VARIANTS]
        assert [(o["variant"], o["fields"]["nr"]) for o in mine] == [("Hypercall", nrs[n])]
        assert [o["fields"]["args"][0] for o in j.boundaries] == [n, n]


@pytest.mark.integration
@pytest.mark.parametrize("name", IMAGES)
def test_a_corrupted_frame_is_refused_and_the_boot_is_not_used_again(
        name: str, axh_options: AxhOptions, axh_image: Built, tmp_path: Path) -> None:
    recipe, image = axh_image(name)
    arch = recipe.arch
    sc = Scenario("hc", arch, "", (_hypercall(0x5_0000_5000),))
    code = build_payload(image, sc.actions, recipe.guest.source, recipe.guest.entry).code
    with _boot(recipe, image, tmp_path / "boot", axh_options) as boot:
        boot.start()
        good = encode(code)
        sl = boot.run_frame(Frame(good.code, good.crc ^ 0x10))
        assert sl.badframe and sl.ended is not None
        assert b"0x5000050" not in sl.console  # the program never ran
        assert boot.dead
        with pytest.raises(Exception, match="unusable"):
            boot.run(code)


def _opts(arch: str, axh: AxhOptions, where: Path, persistent: bool, n: int) -> FuzzOptions:
    return FuzzOptions(arch=arch, seeds=range(n), size=DIFF_SIZE, cache=axh.cache,
                       results_dir=where, timeout_scale=axh.timeout_scale, minimise=False,
                       persistent=persistent)


@pytest.mark.integration
@pytest.mark.aarch64
def test_a_program_that_ends_the_vm_gets_a_boot_of_its_own(
        axh_options: AxhOptions, axh_image: Built, tmp_path: Path) -> None:
    """SystemOff between two shareable programs: the shared boot is not asked to run it."""
    session = FuzzSession(repo_root(), _opts("aarch64", axh_options, tmp_path, True, 0),
                          built=axh_image("aarch64"))
    runner = session._runner()
    try:
        first = runner.run(Scenario("a", "aarch64", "", (_hypercall(0x7_0000_7000),)),
                           tmp_path / "a")
        off = runner.run(Scenario("off", "aarch64", "", (SystemOff(),)), tmp_path / "off")
        last = runner.run(Scenario("b", "aarch64", "", (_hypercall(0x8_0000_8000),)),
                          tmp_path / "b")
    finally:
        session.close()
    assert first.verdict is Verdict.PASS and "persistent" in first.qemu
    assert "persistent" not in off.qemu and off.verdict is Verdict.PASS, off.detail
    assert last.verdict is Verdict.PASS and last.qemu["persistent"]["program"] == 1
    assert session.stats is not None and session.stats.standalone == 1


@pytest.mark.integration
@pytest.mark.parametrize("name", IMAGES)
def test_persistent_and_boot_per_program_agree_program_by_program(
        name: str, axh_options: AxhOptions, axh_image: Built, tmp_path: Path) -> None:
    built = axh_image(name)
    arch = built[0].arch
    n = DIFF_PROGRAMS_08 if "0.8" in name else DIFF_PROGRAMS
    results = {}
    for persistent in (True, False):
        session = FuzzSession(repo_root(), _opts(arch, axh_options, tmp_path / str(persistent),
                                                 persistent, n), built=built)
        try:
            # persistent: one stream (the next program queued while one is judged), as
            # `axharness fuzz` runs them
            results[persistent] = list(session.stream(iter(range(n)))) \
                if persistent else [session.program(s) for s in range(n)]
        finally:
            session.close()
        if persistent:
            assert session.stats is not None and session.stats.shared >= n * 0.8
    for p, s in zip(results[True], results[False], strict=True):
        assert p.case.verdict is not Verdict.INFRA and s.case.verdict is not Verdict.INFRA
        assert differences(p.case, s.case) == [], (f"seed {p.seed}", program_view(p.case),
                                                   program_view(s.case))
    # the generator program is the same in both: a pure function of (arch, seed, size)
    assert generate(arch, 0, DIFF_SIZE) == results[True][0].scenario


@pytest.mark.integration
@pytest.mark.riscv64
def test_a_program_not_accepted_in_a_shared_boot_is_judged_on_its_own_boot(
        axh_options: AxhOptions, axh_image: Built, tmp_path: Path) -> None:
    """Without known divergences, riscv64's whole-register MmioWrite data is a divergence:
    the shared boot's verdict is set aside, the program re-runs alone, and that boot's verdict
    (the same divergence) is the one reported; the next program, queued behind it in the
    same boot, is not judged there: it runs again as program 0 of a fresh shared boot."""
    session = FuzzSession(repo_root(), _opts("riscv64", axh_options, tmp_path, True, 0),
                          built=axh_image("riscv64"), known=())
    runner = session._runner()
    wide = Scenario("wide", "riscv64", "", (MmioStore(0x0C00_1F00, 4, 0x1122_3344_5566_7788,
                                                      reg=9),))
    try:
        first, after = runner.run_stream([
            (wide, tmp_path / "wide"),
            (Scenario("hc", "riscv64", "", (_hypercall(0x9_0000_9000),)), tmp_path / "hc")])
    finally:
        session.close()
    assert first.verdict is Verdict.DIVERGENCE and "persistent" not in first.qemu
    assert len(list((tmp_path / "boots").glob("boot-*/not-accepted/wide/persistent.json"))) == 1
    assert not (tmp_path / "wide" / "persistent.json").exists()  # the standalone run's dir
    assert session.stats is not None
    assert (session.stats.reruns, session.stats.rerun_agreed, session.stats.boots) == (1, 1, 2)
    assert after.verdict is Verdict.PASS and after.qemu["persistent"]["program"] == 0
