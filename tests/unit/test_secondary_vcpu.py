"""A second vCPU started by the guest: its code block, the entry address the model sees, the
per-vCPU prediction and comparison, the VM config's pinning, and the `expect_stuck` end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.check.compare import compare_vcpus
from harness.errors import UsageError
from harness.guests.payload import build_payload
from harness.images.build import Image
from harness.images.recipe import load_recipe
from harness.model.exits import (
    CpuDown,
    CpuUp,
    ExitReason,
    Hypercall,
    MmioWrite,
    SystemDown,
)
from harness.model.schemas import of_image, schema
from harness.model.values import AccessWidth, GuestPhysAddr
from harness.parse import parse_log
from harness.parse.axlog import format_log_line
from harness.parse.render import DebugForm, render_exit
from harness.paths import repo_root
from harness.run.expect import expected_exits
from harness.run.watchers import console_watcher
from harness.scenarios.actions import Hypercall as HypercallAction
from harness.scenarios.actions import Spin, StartSecondary
from harness.scenarios.catalogue import Scenario

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

DEV = {"aarch64": 0x0800_0E00, "riscv64": 0x0C00_1F00}
ARG = 0x42


def _image(recipe_name: str, tmp: Path) -> tuple[Image, Path, int]:
    recipe = load_recipe(repo_root() / "images" / "recipes" / f"{recipe_name}.toml", repo_root())
    image = Image(recipe=recipe.name, arch=recipe.arch, key="unit", dir=tmp, kernel=tmp / "k",
                  elf=tmp / "e", axvisor_version=recipe.axvisor_version,
                  axvcpu_version=recipe.axvcpu_version, qemu_profile=recipe.qemu_profile,
                  payload_offset=0, payload_capacity=0x10000,
                  payload_base=recipe.guest.entry + 0x1000)
    return image, recipe.guest.source, recipe.guest.entry


def _start(arch: str) -> StartSecondary:
    width = 8 if arch == "aarch64" else 4
    return StartSecondary(1, ARG, DEV[arch], width, (HypercallAction(0x5EC, (1, 2, 3, 4, 5, 6)),))


@pytest.mark.parametrize("arch", ["aarch64", "riscv64"])
def test_the_started_vcpu_gets_its_own_stream_entered_at_the_assembled_label(
        arch: str, tmp_path: Path) -> None:
    image, runtime, entry = _image(f"{arch}-smp", tmp_path)
    payload = build_payload(image, (_start(arch),), runtime, entry)
    gen = of_image(image.schema, image.axvcpu_version)
    exits = expected_exits(image, payload, gen)
    up, off = exits[0]
    assert isinstance(up, CpuUp) and isinstance(off, SystemDown)
    assert (up.target_cpu, up.arg) == (1, ARG)
    # The entry point is where the secondary block was assembled: inside the payload, after
    # the primary's code, and the first trap of vCPU 1 is the store that follows it.
    entry_label = "axh_trap_0_cpu1" if arch == "aarch64" else "axh_trap_0_hart1"
    assert f"{entry_label}:" in payload.asm
    assert image.payload_base < up.entry_point.value < image.payload_base + len(payload.code)
    report, call, down = exits[1]
    assert isinstance(report, MmioWrite) and report.addr.value == DEV[arch] and report.data == ARG
    assert isinstance(call, Hypercall) and call.nr == 0x5EC
    assert isinstance(down, CpuDown)
    assert [t.site.vcpu for t in payload.traps] == [0, 1, 1, 1, 0]
    # every trap of the started vCPU belongs to the action that started it
    assert {t.site.action_index for t in payload.traps if t.site.vcpu == 1} == {0}


def test_a_started_vcpu_cannot_start_another_or_spin(tmp_path: Path) -> None:
    image, runtime, entry = _image("aarch64-smp", tmp_path)
    for inner in (_start("aarch64"), Spin()):
        nested = StartSecondary(1, 0, DEV["aarch64"], 8, (inner,))
        with pytest.raises(UsageError, match="cannot start another or spin"):
            build_payload(image, (nested,), runtime, entry)


def test_x86_has_no_form_for_starting_a_vcpu(tmp_path: Path) -> None:
    image, runtime, entry = _image("x86_64-svm", tmp_path)
    with pytest.raises(UsageError, match="no x86"):
        build_payload(image, (_start("riscv64"),), runtime, entry, "svm")


def test_recipes_read_the_pinning_from_the_vm_config() -> None:
    smp = load_recipe(repo_root() / "images" / "recipes" / "riscv64-smp.toml", repo_root())
    one = load_recipe(repo_root() / "images" / "recipes" / "riscv64.toml", repo_root())
    assert smp.guest.phys_cpu_ids == (0, 1) and smp.guest.vcpu_of_cpu == {0: 0, 1: 1}
    assert one.guest.phys_cpu_ids == (0,)


def test_a_vm_config_whose_pinning_does_not_match_cpu_num_is_named(tmp_path: Path) -> None:
    root = repo_root()
    text = (root / "images" / "recipes" / "riscv64-smp.toml").read_text()
    cfg = (root / "images" / "vm-configs" / "riscv64-smp.toml").read_text()
    bad_cfg = tmp_path / "bad-vm.toml"
    bad_cfg.write_text(cfg.replace("phys_cpu_ids = [0, 1]", "phys_cpu_ids = [0, 0]"))
    recipe = tmp_path / "r.toml"
    recipe.write_text(text.replace('vm_config = "vm-configs/riscv64-smp.toml"',
                                   f'vm_config = "{bad_cfg}"'))
    with pytest.raises(UsageError, match=r"bad-vm.toml: base.phys_cpu_ids"):
        load_recipe(recipe, root)


GEN = S02


def _log(*records: tuple[int, ExitReason]) -> str:
    return "".join(format_log_line(render_exit(e, GEN, "aarch64", DebugForm.PRETTY_HEX),
                                   1000 + i, cpu=cpu)
                   for i, (cpu, e) in enumerate(records))


def test_each_vcpu_is_compared_in_its_own_order_whatever_the_interleaving() -> None:
    up = CpuUp(target_cpu=1, entry_point=GuestPhysAddr(0x8020_1000), arg=ARG)
    store = MmioWrite(addr=GuestPhysAddr(0x100), width=AccessWidth.Dword, data=ARG)
    expected: dict[int, tuple[ExitReason, ...]] = {0: (up, SystemDown()),
                                                   1: (store, CpuDown(state=0))}
    # vCPU 1's exits land between vCPU 0's: interleaving is not part of the contract.
    records = parse_log(_log((0, up), (1, store), (1, CpuDown(state=0)), (0, SystemDown())),
                        GEN, "aarch64").records
    diffs, _ = compare_vcpus(expected, records, vcpu_of_cpu={0: 0, 1: 1})
    assert diffs == ()
    # The same exits attributed to one vCPU (no pinning information): vCPU 1's stream is
    # missing and vCPU 0's has exits it should not.
    diffs, _ = compare_vcpus(expected, records, vcpu_of_cpu={0: 0, 1: 0})
    assert {d.vcpu for d in diffs} == {0, 1}
    assert any(d.describe().startswith("vCPU 1 exit #0: expected MmioWrite") for d in diffs)


def test_stuck_end_needs_the_marker_and_then_silence_from_the_normal_end() -> None:
    sc = Scenario("s", "aarch64", "x", (), expect_stuck="run VCpu[0] SystemDown")
    watch = console_watcher(sc, settle_s=0.05)
    console = bytearray(b"booting\n")
    assert watch(console, 0) is None
    time.sleep(0.06)
    assert watch(console, 0) is None  # no marker yet: the settle clock has not started
    at = len(console)
    console += b"VM[1] run VCpu[0] SystemDown\n"
    assert watch(console, at) is None
    time.sleep(0.06)
    ended = watch(console, len(console))
    assert ended is not None and ended.startswith("stuck: ")
    # A normal end before the settle time wins: the bug would be gone.
    watch = console_watcher(sc, settle_s=10)
    console = bytearray(b"VM[1] run VCpu[0] SystemDown\nWelcome to AxVisor Shell!\n")
    assert watch(console, 0) == "end"


def test_a_started_hart_can_wait_for_console_input_with_its_own_labels(tmp_path: Path) -> None:
    from harness.scenarios.actions import AwaitConsoleInput

    image, runtime, entry = _image("riscv64-smp", tmp_path)
    both = (StartSecondary(1, ARG, DEV["riscv64"], 4, (AwaitConsoleInput(),)),
            AwaitConsoleInput())
    payload = build_payload(image, both, runtime, entry)  # assembles: labels do not clash
    assert payload.asm.count('.asciz "AXH:WAIT-INPUT\\n"') == 2
    assert [t.site.vcpu for t in payload.traps] == [0, 1, 1, 0]  # CpuUp, store, CpuDown, off


def test_on_the_0_8_line_cpu_on_is_a_hypercall_whose_every_argument_is_compared(
        tmp_path: Path) -> None:
    # axvisor 0.8 reports CPU_ON as Hypercall { nr: x0, args: x1..x6 }: with x4..x6 left as
    # they happened to be, the model left all six undecided, so a wrong target, entry or
    # context passed (audit, session 7). The emitter zeroes them, as PsciCall does.
    image, runtime, entry = _image("aarch64-0.8-smp", tmp_path)
    payload = build_payload(image, (_start("aarch64"),), runtime, entry)
    undecided: dict[tuple[int, int], frozenset[str]] = {}
    exits = expected_exits(image, payload, schema("axvm-0.8"), undecided=undecided)
    call = exits[0][0]
    assert isinstance(call, Hypercall) and call.nr == 0xC400_0003
    assert call.args[0] == 1 and call.args[2] == ARG and call.args[3:] == (0, 0, 0)
    assert image.payload_base < call.args[1] < image.payload_base + len(payload.code)
    assert (0, 0) not in undecided, undecided
