"""The images of the current axvisor line (0.8.x) on real QEMU: the first guest's exits arrive
end to end as synchronous `AXH-EXIT` records, framed by the runtime's marker hypercalls, and the
run's end (the VM stopped, axvisor still logging) is seen.

The exit records of this line are other enums than the old schema's; until the schema's parser
lands these tests read them with a small local pattern (variant name, vm and vcpu ids, a few
fields), not with harness.parse."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.guests.payload import build_payload, patch_image
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.qemu.machine import Ending, QemuMachine
from harness.qemu.profiles import get_profile
from harness.scenarios.actions import MmioStore
from harness.scenarios.registry import scenarios_for

pytestmark = [pytest.mark.integration]

MARKER_START, MARKER_END = 0x4158_4801, 0x4158_4802
PSCI_SYSTEM_OFF = 0x8400_0008
# One synchronous exit record: the tag line and the `{:#x?}` text up to its closing brace at
# the start of a line (or a unit variant alone on the tag line); the serial pty may end lines
# with "\r\r\n".
RECORD = re.compile(rb"AXH-EXIT vm=(\d+) vcpu=(\d+) (\w+)(?: \{\r*\n(.*?)\r*\n\})?\r*\n",
                    re.DOTALL)
VM_STOPPED = b"a VM exited, current running VM count: 0"
PANIC = re.compile(rb"panicked at [^\r\n]*")


def records(console: bytes) -> list[tuple[int, int, str, str]]:
    """(vm, vcpu, variant, body) of every AXH-EXIT record, in console order."""
    return [(int(m.group(1)), int(m.group(2)), m.group(3).decode(),
             (m.group(4) or b"").decode()) for m in RECORD.finditer(console)]


def field(body: str, name: str) -> int:
    """An integer field of a record body (`name: 0x…,`, or inside a newtype such as
    `GPA(0x…)` or a pretty-printed `RiscvGuestPhysAddr(\n    0x…,\n)`)."""
    m = re.search(rf"^\s*{name}: (?:\w+\(\s*)?(0x[0-9a-f]+|\d+)", body, re.MULTILINE)
    assert m, f"no field {name} in {body!r}"
    return int(m.group(1), 0)


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


@pytest.mark.parametrize(("name", "system_off"), [
    pytest.param("aarch64-0.8", ("Hypercall", PSCI_SYSTEM_OFF), marks=pytest.mark.aarch64),
    pytest.param("riscv64-0.8", ("SystemDown", None), marks=pytest.mark.riscv64),
])
def test_the_first_guest_s_exits_arrive_in_order_between_the_markers(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path, name: str,
        system_off: tuple[str, int | None]) -> None:
    recipe, image = axh_image(name)
    assert image.schema == "axvm-0.8" and image.exit_log == "sync"
    console = boot_first_guest(recipe, image, tmp_path)
    got = records(console)
    assert {(vm, vcpu) for vm, vcpu, _, _ in got} == {(1, 0)}
    got = [r for r in got if r[2] != "Nothing"]  # asynchronous (host timer): set aside
    variants = [v for _, _, v, _ in got]
    # The runtime's start marker, the scenario (a 32-bit store of 0xDEADBEEF to the device
    # window, hypercall 0x4AB1 with six arguments), the end marker, then the power-off.
    assert variants == ["Hypercall", "MmioWrite", "Hypercall", "Hypercall", system_off[0]]
    bodies = [b for _, _, _, b in got]
    assert field(bodies[0], "nr") == MARKER_START and field(bodies[3], "nr") == MARKER_END
    assert field(bodies[2], "nr") == 0x4AB1
    store = next(s for s in scenarios_for(recipe.arch, "first-guest")).actions[0]
    assert isinstance(store, MmioStore)
    assert field(bodies[1], "addr") == store.addr
    assert field(bodies[1], "data") & 0xFFFF_FFFF == 0xDEAD_BEEF
    if system_off[1] is not None:
        assert field(bodies[4], "nr") == system_off[1]
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
