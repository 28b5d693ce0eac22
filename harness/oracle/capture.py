"""Run one scenario with QEMU's exception log on (`-d int -D FILE`), for the syndrome oracle.

The suite's runner has no hook for extra QEMU arguments, so this module drives the same
pieces (payload build, image patch, QemuMachine, the console watchers) itself. It does not
judge: it returns the console, the trap log and the payload's trap sites, and the oracle's
modules pair and judge them. The trap log is off for ordinary runs because it costs time
(docs/oracle.md has the measurement).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InfraError
from harness.guests.payload import BuiltPayload, build_payload, patch_image
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.model.arch import Arch
from harness.oracle.gdbtrace import TraceResult
from harness.oracle.rvtrace import RvTrapRegisters, RvTrapTracer, guest_exit
from harness.qemu.machine import Ending, QemuMachine
from harness.qemu.profiles import get_profile
from harness.run.watchers import console_watcher, typing_watcher
from harness.scenarios.catalogue import Scenario

TRAP_LOG_DIR = "trap-log"


# A range no code runs at: `-dfilter` then keeps `-d in_asm` from disassembling every
# translated block, while QEMU's SVM `vmexit(...)` line (logged under in_asm, not filtered by
# address) stays.
_NO_CODE = "0xfffffffffffff000+0x10"


def trap_log_args(directory: Path, arch: Arch) -> tuple[str, ...]:
    """QEMU arguments that log every exception taken to `directory`, one file per thread.

    AArch64 and RISC-V: `-d int` is the only -d item that prints syndromes (`guest_errors`
    adds nothing about traps). x86: `-d int` shows no #VMEXIT; QEMU prints
    `vmexit(EXITCODE, EXITINFO1, EXITINFO2, RIP)` under `in_asm` (docs/oracle.md). QEMU prints
    one AArch64 exception as several separate lines, and with MTTCG each vCPU thread writes on
    its own, so two CPUs' records could interleave in one file: `tid` gives every thread its
    own file (`%d` = the thread id) and each file holds one CPU's exceptions in order.
    """
    pattern = str(directory / "trap-%d.log")
    if arch is Arch.X86_64:
        return ("-d", "in_asm,tid", "-dfilter", _NO_CODE, "-D", pattern)
    return ("-d", "int,tid", "-D", pattern)


@dataclass(frozen=True, slots=True)
class Capture:
    """One run: what the console showed, where the trap log is (None when off), the payload's
    trap sites, how the run ended and how long QEMU ran."""

    console: bytes
    trap_log: Path | None
    payload: BuiltPayload
    ending: Ending
    detail: str
    run_s: float
    trace: TraceResult[RvTrapRegisters] | None = None  # riscv64 with gdb=True


def capture(image: Image, recipe: ImageRecipe, scenario: Scenario, casedir: Path, *,
            trap_log: bool = True, timeout_scale: float = 1.0, gdb: bool = False) -> Capture:
    """Boot `scenario` on a patched copy of `image` in `casedir`, the trap log on or off;
    `gdb` (riscv64 only) adds the tracer's registers at every trap to HS (rvtrace)."""
    if gdb and Arch(image.arch) is not Arch.RISCV64:
        raise InfraError(f"capture(gdb=True) traces riscv64 only, not {image.arch}")
    shutil.rmtree(casedir, ignore_errors=True)
    try:
        casedir.mkdir(parents=True)
    except OSError as exc:
        raise InfraError(f"cannot create the capture directory {casedir}: {exc}") from exc
    payload = build_payload(image, scenario.actions, recipe.guest.source, recipe.guest.entry,
                            recipe.backend)
    (casedir / "payload.S").write_text(payload.asm)
    kernel = casedir / image.kernel.name
    patch_image(image, payload, kernel)
    log = casedir / TRAP_LOG_DIR if trap_log else None
    if log is not None:
        log.mkdir()
    extra = trap_log_args(log, Arch(image.arch)) if log is not None else ()
    if scenario.expect_hang or scenario.may_stick:
        timeout_scale = min(timeout_scale, 0.2)
    machine = QemuMachine(get_profile(recipe.qemu_profile), kernel, casedir,
                          timeout_scale=timeout_scale, extra_args=extra, gdb=gdb, paused=gdb)
    tracer = RvTrapTracer(machine.gdb_socket, guest_exit(image.elf)) if gdb else None
    started = time.monotonic()
    with machine:
        if tracer is not None:
            tracer.start()  # its first continue starts the paused machine
        run = machine.run_until(typing_watcher(console_watcher(scenario), scenario,
                                               machine.send_console))
    trace = tracer.finish() if tracer is not None else None
    if machine.leaked():
        raise InfraError(f"QEMU process group {machine.pid} survived teardown")
    return Capture(run.console, log, payload, run.ending, run.detail,
                   time.monotonic() - started, trace)
