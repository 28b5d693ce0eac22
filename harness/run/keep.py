"""What a case directory keeps so that it runs on another machine without the image cache:
the axvisor ELF (symbols for gdb; the patched kernel is there already, and is the ELF itself
where the image boots an ELF) and the scenario's declared end with the watchdogs this run had
(end.json, harness.run.kit). Called by harness.run.case once the machine is set up, and by
harness.persist.runner for a shared-boot case."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from harness.images.build import Image
from harness.qemu.machine import QemuMachine
from harness.run.kit import DeclaredEnd
from harness.scenarios.catalogue import Scenario

ELF_NAME = "axvisor.elf"


def declared_end(scenario: Scenario, timeout_s: float, watchdog_s: float, *,
                 current_line: bool = False, markers: tuple[int, ...] = (),
                 end_marker_due: bool = False) -> DeclaredEnd:
    from harness.run.watchers import STUCK_SETTLE_S  # the case runner's own constant

    return DeclaredEnd(
        timeout_s=timeout_s, watchdog_s=watchdog_s, expect_panic=scenario.expect_panic,
        expect_hang=scenario.expect_hang, expect_stuck=scenario.expect_stuck,
        may_stick=scenario.may_stick, last_exit_repeats=scenario.last_exit_repeats,
        may_repeat_last_exit=scenario.may_repeat_last_exit,
        expect_vm_error=scenario.expect_vm_error, expect_async=scenario.expect_async,
        console_input=scenario.console_input, stuck_settle_s=STUCK_SETTLE_S,
        current_line=current_line, markers=markers, end_marker_due=end_marker_due)


def keep_symbols(image: Image, casedir: Path) -> Path:
    """casedir/axvisor.elf: a hard link to the cached ELF where possible (no copy of 2 MB per
    case), a copy otherwise; nothing when the kernel the case patched is that ELF."""
    dest = casedir / ELF_NAME
    if image.kernel.name == ELF_NAME:
        return dest
    dest.unlink(missing_ok=True)
    try:
        os.link(image.elf, dest)
    except OSError:
        shutil.copyfile(image.elf, dest)
    return dest


def keep_for_repro(image: Image, scenario: Scenario, casedir: Path,
                   machine: QemuMachine, *, current_line: bool = False,
                   markers: tuple[int, ...] = (), end_marker_due: bool = False) -> None:
    """The ELF and end.json with the machine's watchdogs; a failure here costs the case
    nothing (repro then needs the image cache, and says so)."""
    keep_kit(image, scenario, casedir, machine.timeout_s, machine.watchdog_s,
             current_line=current_line, markers=markers, end_marker_due=end_marker_due)


def keep_kit(image: Image, scenario: Scenario, casedir: Path, timeout_s: float,
             watchdog_s: float, *, current_line: bool = False,
             markers: tuple[int, ...] = (), end_marker_due: bool = False) -> None:
    """keep_for_repro for a case whose own machine is not at hand (a shared-boot case)."""
    with contextlib.suppress(OSError):
        keep_symbols(image, casedir)
        end = declared_end(scenario, timeout_s, watchdog_s, current_line=current_line,
                           markers=markers, end_marker_due=end_marker_due)
        (casedir / "end.json").write_text(json.dumps(end.to_json(), indent=2) + "\n")
