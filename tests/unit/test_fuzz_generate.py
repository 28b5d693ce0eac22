"""Fuzz program generators: deterministic per (arch, seed, size), only surviving actions, and
every program assembles and is predicted by the reference model (no QEMU needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.fuzz import generate as gen
from harness.guests import emit_aarch64, emit_riscv64
from harness.guests.payload import EMITTERS, build_payload
from harness.images.build import Image
from harness.images.recipe import load_recipe
from harness.model.schemas import of_image
from harness.paths import repo_root
from harness.run.expect import expected_exits
from harness.scenarios import aarch64 as sc_a64
from harness.scenarios import riscv64 as sc_rv
from harness.scenarios.actions import Hypercall, MmioLoad, MmioStore, SbiCall

ARCHES = ("aarch64", "riscv64", "x86_64")
SEEDS = range(300)


def asm(arch: str, seed: int, size: int) -> str:
    return EMITTERS[arch](gen.generate(arch, seed, size).actions, "svm").asm


@pytest.mark.parametrize("arch", ARCHES)
def test_the_same_seed_gives_the_same_program_byte_for_byte(arch: str) -> None:
    for seed in (0, 1, 12345, 2**40):
        assert asm(arch, seed, 12) == asm(arch, seed, 12)


@pytest.mark.parametrize("arch", ARCHES)
def test_different_seeds_give_different_programs(arch: str) -> None:
    assert len({asm(arch, seed, 8) for seed in range(20)}) == 20


def test_the_program_does_not_depend_on_the_global_random_state() -> None:
    import random
    random.seed(1)
    a = asm("aarch64", 7, 10)
    random.seed(2)
    assert asm("aarch64", 7, 10) == a


@pytest.mark.parametrize("arch", ARCHES)
def test_a_program_is_named_after_arch_seed_size_and_records_them(arch: str) -> None:
    sc = gen.generate(arch, 42, 5)
    assert sc.name == f"fuzz-{arch}-42-5" and sc.arch == arch and len(sc.actions) == 5
    assert "seed 42" in sc.summary and "size 5" in sc.summary


@pytest.mark.parametrize("arch", ARCHES)
def test_every_generated_program_is_accepted_by_the_emitter(arch: str) -> None:
    for seed in SEEDS:
        EMITTERS[arch](gen.generate(arch, seed, 10).actions, "svm")  # UsageError if not


def _all_actions(arch: str) -> list[object]:
    return [a for seed in SEEDS for a in gen.generate(arch, seed, 10).actions]


def test_aarch64_programs_stay_in_the_vgic_window_and_avoid_reserved_registers() -> None:
    for a in _all_actions("aarch64"):
        if isinstance(a, MmioStore | MmioLoad):
            assert sc_a64.DEV <= a.addr < sc_a64.DEV + gen.WINDOW
            assert a.addr % a.width == 0
            assert a.reg not in emit_aarch64.RESERVED
            if isinstance(a, MmioStore) and a.reg == 31:
                assert a.value == 0
        else:
            assert isinstance(a, Hypercall)
            assert not any(lo <= a.nr <= hi for lo, hi in gen.PSCI_RANGES)
            assert (a.nr & 0xFFFF_FFFF) >= gen.HYPERCALL_CODES


def test_aarch64_programs_cover_every_width_signedness_register_class_and_form() -> None:
    acts = _all_actions("aarch64")
    loads = [a for a in acts if isinstance(a, MmioLoad)]
    stores = [a for a in acts if isinstance(a, MmioStore)]
    assert {(a.width, a.signed) for a in loads} == {
        (1, False), (2, False), (4, False), (8, False), (1, True), (2, True), (4, True)}
    assert {a.reg64 for a in loads if a.signed and a.width < 4} == {True, False}
    assert {a.form for a in loads} == {a.form for a in stores} == {"imm", "pre", "post"}
    assert {a.width for a in stores if a.reg == 31} == {1, 2, 4, 8}


def test_riscv64_programs_use_32_bit_accesses_except_a_last_one_that_expects_the_panic() -> None:
    panicking = 0
    for seed in SEEDS:
        sc = gen.generate("riscv64", seed, 10)
        for i, a in enumerate(sc.actions):
            if isinstance(a, MmioStore | MmioLoad):
                assert sc_rv.DEV <= a.addr < sc_rv.DEV + gen.WINDOW and a.addr % a.width == 0
                assert a.reg not in emit_riscv64.RESERVED
                if a.width != 4:
                    assert i == len(sc.actions) - 1
                    assert sc.expect_panic == sc_rv.WIDTH_PANIC
                    panicking += 1
        if sc.expect_panic:
            assert isinstance(sc.actions[-1], MmioStore | MmioLoad)
    assert panicking > 0


def test_riscv64_programs_use_compressed_forms_x0_stores_and_sbi_console_calls() -> None:
    acts = _all_actions("riscv64")
    assert any(isinstance(a, MmioStore) and a.form == "compressed" for a in acts)
    assert any(isinstance(a, MmioLoad) and a.form == "compressed" for a in acts)
    assert any(isinstance(a, MmioStore) and a.reg == 0 for a in acts)
    assert any(isinstance(a, SbiCall) for a in acts)
    # the emitter puts the base in x8 for RVC forms: x8 as a store source would store the address
    assert not any(isinstance(a, MmioStore) and a.form == "compressed" and a.reg == 8
                   for a in acts)


@pytest.mark.parametrize(("arch", "seed", "size"), [
    ("sparc", 1, 4), ("aarch64", 1, 0), ("riscv64", 1, gen.MAX_SIZE + 1), ("aarch64", -1, 4)])
def test_bad_arguments_are_usage_errors(arch: str, seed: int, size: int) -> None:
    with pytest.raises(UsageError):
        gen.generate(arch, seed, size)


def test_a_subsequence_expects_the_panic_only_if_it_keeps_the_last_access() -> None:
    panics = next(s for s in (gen.generate("riscv64", n, 6) for n in SEEDS) if s.expect_panic)
    head = gen.make_scenario("riscv64", "x", "", panics.actions[:-1])
    assert head.expect_panic == ""
    tail = gen.make_scenario("riscv64", "x", "", panics.actions[-1:])
    assert tail.expect_panic == sc_rv.WIDTH_PANIC


def _fake_image(arch: str, tmp: Path) -> tuple[Image, Path, int]:
    name = {"x86_64": "x86_64-svm"}.get(arch, arch)
    recipe = load_recipe(repo_root() / "images" / "recipes" / f"{name}.toml", repo_root())
    image = Image(recipe=recipe.name, arch=arch, key="unit", dir=tmp, kernel=tmp / "k",
                  elf=tmp / "e", axvisor_version=recipe.axvisor_version,
                  axvcpu_version=recipe.axvcpu_version, qemu_profile=recipe.qemu_profile,
                  payload_offset=0, payload_capacity=0x10000,
                  payload_base=recipe.guest.entry + 0x1000)
    return image, recipe.guest.source, recipe.guest.entry


@pytest.mark.parametrize("arch", ARCHES)
def test_the_model_predicts_one_exit_per_action_of_every_program(arch: str, tmp_path: Path
                                                                   ) -> None:
    image, runtime, entry = _fake_image(arch, tmp_path)
    generation = of_image(image.schema, image.axvcpu_version)
    for seed in range(15):
        sc = gen.generate(arch, seed, 8)
        backend = "svm" if arch == "x86_64" else ""
        payload = build_payload(image, sc.actions, runtime, entry, backend)
        exits = expected_exits(image, payload, generation, backend,
                               last_action=len(sc.actions) - 1 if sc.expect_panic else None)[0]
        # every action traps once; the runtime's own SystemDown follows unless the run panics
        assert len(exits) == len(sc.actions) + (0 if sc.expect_panic else 1)
        for a, e in zip(sc.actions, exits, strict=False):
            want = {MmioStore: "MmioWrite", MmioLoad: "MmioRead", Hypercall: "Hypercall"}
            if type(a) in want:
                assert want[type(a)] == e.VARIANT


def test_x86_programs_use_32_bit_values_and_end_in_a_port_access_only_with_its_panic() -> None:
    from harness.scenarios import x86_64 as sc_x86
    from harness.scenarios.actions import PortIn, PortOut

    for seed in SEEDS:
        sc = gen.generate("x86_64", seed, 6)
        for a in sc.actions[:-1]:
            assert isinstance(a, Hypercall) and a.nr < 1 << 32 and a.args[4:] == (0, 0)
            assert all(v < 1 << 32 for v in a.args)
        last = sc.actions[-1]
        if isinstance(last, PortIn | PortOut):
            assert sc.expect_panic == sc_x86.NO_DEVICE and last.port in (0x604, 0x605)
            assert not (isinstance(last, PortOut) and last.port == 0x604 and last.width == 2
                        and last.value == 0x2000)
        else:
            assert sc.expect_panic == ""


def test_no_hypercall_is_a_psci_id_or_a_runtime_marker_in_its_low_half() -> None:
    # axvm 0.8 decodes `nr as u32`: either would power the VM off or be set aside
    for arch in ("aarch64", "riscv64"):
        for a in _all_actions(arch):
            if isinstance(a, Hypercall):
                low = a.nr & 0xFFFF_FFFF
                assert not any(lo <= low <= hi for lo, hi in gen.PSCI_RANGES)
                assert low not in gen.RUNTIME_MARKERS


def test_on_the_current_line_a_refused_vplic_width_ends_in_the_vm_error() -> None:
    panics = next(s for s in (gen.generate("riscv64", n, 6) for n in SEEDS) if s.expect_panic)
    assert gen.for_line(panics, False) is panics
    new = gen.for_line(panics, True)
    assert (new.expect_panic, new.expect_vm_error) == ("", sc_rv.WIDTH_VM_ERROR)
    assert new.actions == panics.actions
