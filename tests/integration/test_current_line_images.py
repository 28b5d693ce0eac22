"""The images of the current axvisor line (0.8.x) on real QEMU: the first guest's exits arrive
end to end as synchronous `AXH-EXIT` records, framed by the runtime's marker hypercalls, read
by the harness's own parser with the image's exit schema (axvm-0.8), and the run's end (the VM
stopped, axvisor still logging) is seen."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.guests.payload import build_payload, patch_image
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.model.exits import Hypercall, MmioWrite, Nothing, SystemDown
from harness.model.schemas import schema
from harness.parse import parse_log
from harness.qemu.machine import Ending, QemuMachine
from harness.qemu.profiles import get_profile
from harness.run.current_line import markers_of
from harness.scenarios.actions import MmioStore
from harness.scenarios.registry import scenarios_for

pytestmark = [pytest.mark.integration]

PSCI_SYSTEM_OFF = 0x8400_0008
VM_STOPPED = b"a VM exited, current running VM count: 0"
PANIC = re.compile(rb"panicked at [^\r\n]*")


def ended(console: bytes | bytearray, new_from: int) -> str | None:
    if PANIC.search(console):
        return "panic"
    return "end" if VM_STOPPED in console else None


def boot_first_guest(recipe: ImageRecipe, image: Image, tmp_path: Path) -> bytes:
    scenario = next(s for s in scenarios_for(recipe.arch, "first-guest"))
    payload = build_payload(image, scenario.actions, recipe.guest.source, recipe.guest.entry,
                            recipe.backend)
    kernel = tmp_path / image.kernel.name
    patch_image(image, payload, kernel)
    with QemuMachine(get_profile(recipe.qemu_profile), kernel, tmp_path) as machine:
        run = machine.run_until(ended)
    assert run.ending is Ending.WATCHER and run.detail == "end", (run.ending, run.detail)
    return bytes(run.console)


@pytest.mark.parametrize("name", [pytest.param("aarch64-0.8", marks=pytest.mark.aarch64),
                                  pytest.param("riscv64-0.8", marks=pytest.mark.riscv64)])
def test_the_first_guest_s_exits_arrive_in_order_between_the_markers(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path,
        name: str) -> None:
    recipe, image = axh_image(name)
    assert image.schema == "axvm-0.8" and image.exit_log == "sync"
    console = boot_first_guest(recipe, image, tmp_path)
    result = parse_log(console, schema(image.schema), recipe.arch)
    assert result.errors == ()
    assert {(r.vm, r.vcpu) for r in result.records} == {(1, 0)}
    assert all(r.prefix is None for r in result.records)  # the record names its vCPU
    got = [r.exit for r in result.records if r.exit != Nothing()]  # asynchronous: aside
    markers = markers_of(recipe.guest.source)
    assert markers is not None
    store = next(s for s in scenarios_for(recipe.arch, "first-guest")).actions[0]
    assert isinstance(store, MmioStore)
    # The runtime's start marker, the scenario (a 32-bit store of 0xDEADBEEF to the device
    # window, hypercall 0x4AB1 with six arguments), the end marker, then the power-off.
    assert [type(e) for e in got] == [Hypercall, MmioWrite, Hypercall, Hypercall,
                                      Hypercall if recipe.arch == "aarch64" else SystemDown]
    start, write, call, end, off = got
    assert isinstance(start, Hypercall) and start.nr == markers.start
    assert isinstance(end, Hypercall) and end.nr == markers.end
    assert isinstance(call, Hypercall) and call.nr == 0x4AB1
    assert isinstance(write, MmioWrite) and write.addr.value == store.addr
    assert write.data & 0xFFFF_FFFF == 0xDEAD_BEEF
    if isinstance(off, Hypercall):  # aarch64: PSCI SYSTEM_OFF is a Hypercall on this line
        assert off.nr == PSCI_SYSTEM_OFF
    # The end of the run is seen after the last record: axvisor's own log still works.
    assert console.rfind(VM_STOPPED) > console.rfind(b"AXH-EXIT")


@pytest.mark.parametrize("name", [pytest.param("aarch64-0.8", marks=pytest.mark.aarch64),
                                  pytest.param("riscv64-0.8", marks=pytest.mark.riscv64)])
def test_axvisor_keeps_logging_after_the_first_exit_record(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path,
        name: str) -> None:
    # With ax-runtime's emergency console (what the first trial used) every log line after the
    # first exit record was lost for good; write_record_sync gives the UART back.
    recipe, image = axh_image(name)
    console = boot_first_guest(recipe, image, tmp_path)
    first = console.find(b"AXH-EXIT")
    assert first > 0
    after = re.findall(rb"\x1b\[37m\[\s*\d+\.\d{6} [^\]]*\]", console[first:])
    assert len(after) >= 3, "no axvisor log record after the first exit record"


MANY = 150  # stores in a row: enough for ax-runtime's log queues to drop trace records


def _many_stores(tmp_path: Path) -> Path:
    acts = ",\n".join(f'  {{ type = "MmioStore", addr = {0x0800_0E00 + (i * 4) % 256}, '
                      f'width = 4, value = {i}, reg = 1 }}' for i in range(MANY))
    path = tmp_path / "many.toml"
    path.write_text(f'arch = "aarch64"\n[[scenario]]\nname = "many-stores"\n'
                    f'summary = "{MANY} stores in a row"\nactions = [\n{acts}\n]\n')
    return path


@pytest.mark.aarch64
def test_every_one_of_many_exits_arrives_through_the_synchronous_record(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    from harness.check.verdict import Verdict
    from harness.run.case import run_case
    from harness.scenarios.load import load_file

    recipe, image = axh_image("aarch64-0.8")
    (sc,) = load_file(_many_stores(tmp_path)).scenarios
    for i in range(2):
        res = run_case(image, recipe, sc, get_profile(recipe.qemu_profile), tmp_path / str(i))
        assert res.verdict is Verdict.PASS, res.detail
        assert res.detail.startswith(f"{MANY + 1} exit(s) as predicted")


@pytest.mark.aarch64
def test_the_lossy_trace_image_is_judged_lost_or_complete_never_a_divergence(
        tmp_path: Path) -> None:
    from harness.check.verdict import Verdict
    from harness.images.build import build_image
    from harness.images.cache import cache_root
    from harness.images.recipe import load_recipe
    from harness.paths import repo_root
    from harness.run.case import run_case
    from harness.scenarios.load import load_file

    root = repo_root()
    recipe = load_recipe(root / "images" / "recipes-lossy" / "aarch64-0.8-lossy.toml", root)
    image = build_image(recipe, cache_root(), progress=lambda *a, **k: None)
    (sc,) = load_file(_many_stores(tmp_path)).scenarios
    seen = set()
    for i in range(3):
        res = run_case(image, recipe, sc, get_profile(recipe.qemu_profile), tmp_path / str(i))
        assert res.verdict in (Verdict.PASS, Verdict.LOST), res.detail
        if res.verdict is Verdict.LOST:
            assert "predicted exit records arrived" in res.detail or "dropped" in res.detail
        seen.add(res.verdict)
    assert seen  # which of the two is up to the log queues
