"""Boot the real Linux guest (images/recipes-linux/) with the trap log on, optionally the
gdbstub tracer too, and judge every exit of the boot with the syndrome oracle.

No payload and no model prediction here: the oracle is the only judge. Each exit axvisor logs
is paired with the trap QEMU logged (harness.oracle.pairing) and held to what the trap's
syndrome — plus, with the tracer, HPFAR_EL2, SCTLR_EL1 and the guest's registers at that trap
(riscv64: htval, htinst, vsatp and x0-x31, harness.oracle.rvtrace) — says a correct vCPU
reports.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.check.compare import by_vcpu
from harness.errors import InfraError
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.model.arch import Arch
from harness.model.schemas import of_image
from harness.oracle.capture import TRAP_LOG_DIR, trap_log_args
from harness.oracle.context import TrapContext
from harness.oracle.expect import Outcome
from harness.oracle.gdbstub import TrapRegisters
from harness.oracle.gdbtrace import TraceResult, TrapTracer, by_thread, match, vcpu_vector
from harness.oracle.linux.prepare import MARKER_OFF, MARKER_START
from harness.oracle.pairing import Kind, PairingReport, Rules, pair
from harness.oracle.records import Trap
from harness.oracle.rvtrace import RvTrapRegisters, RvTrapTracer, classify, guest_exit
from harness.oracle.traplog import parse_trap_dir
from harness.parse import parse_log
from harness.parse.axlog import ParseResult
from harness.qemu.machine import Ending, QemuMachine
from harness.qemu.profiles import get_profile
from harness.run import axvisor_console
from harness.schema import Schema

# Every gdbstub stop costs QEMU 10 a flush of its whole translation cache (`info jit`), so a
# traced riscv64 guest runs far slower; with the wall clock as its time base, Linux's timer
# ticks (an SBI set_timer exit and a timer interrupt each) then outran the tracer: 41,479
# exits in 480 s and the boot not half done. With -icount the guest's clock follows the
# instructions it executes, so the boot makes the same progress per exit however slow
# the tracer is (7,867 exits, 114 s). It changes timing only, never what a trap reports.
RISCV_TRACED_CLOCK = ("-icount", "shift=3")


@dataclass(frozen=True, slots=True)
class LinuxBoot:
    """One boot: the console, the trap log directory, the tracer's records (None without
    it), how the run ended and how long QEMU ran to that end."""

    console: bytes
    trap_log: Path
    trace: TraceResult[TrapRegisters] | TraceResult[RvTrapRegisters] | None
    ending: Ending
    detail: str
    seconds: float


def boot(image: Image, recipe: ImageRecipe, casedir: Path, *, gdb: bool = False,
         timeout_scale: float = 4.0, extra_args: tuple[str, ...] = ()) -> LinuxBoot:
    """Boot the image's Linux guest in `casedir` (emptied first) until axvisor's end."""
    shutil.rmtree(casedir, ignore_errors=True)
    (casedir / TRAP_LOG_DIR).mkdir(parents=True)
    arch = Arch.parse(recipe.arch)
    if gdb and arch is Arch.RISCV64:
        extra_args += RISCV_TRACED_CLOCK
    machine = QemuMachine(get_profile(recipe.qemu_profile), image.kernel, casedir,
                          timeout_scale=timeout_scale, gdb=gdb, paused=gdb,
                          extra_args=trap_log_args(casedir / TRAP_LOG_DIR, arch) + extra_args)
    tracer: TrapTracer | RvTrapTracer | None = None
    if gdb and arch is Arch.RISCV64:
        tracer = RvTrapTracer(machine.gdb_socket, guest_exit(image.elf))
    elif gdb:
        tracer = TrapTracer(machine.gdb_socket, vcpu_vector(image.elf))
    started = time.monotonic()
    with machine:
        if tracer is not None:
            tracer.start()  # its first continue starts the paused machine
        run = machine.run_until(axvisor_console.watch)
    seconds = time.monotonic() - started
    trace = tracer.finish() if tracer is not None else None
    if machine.leaked():
        raise InfraError(f"QEMU process group {machine.pid} survived teardown")
    return LinuxBoot(run.console, casedir / TRAP_LOG_DIR, trace, run.ending, run.detail,
                     seconds)


@dataclass(frozen=True, slots=True)
class LinuxVerdict:
    report: PairingReport
    exits: int  # exit records axvisor logged
    variants: dict[str, int]
    trace_problems: tuple[str, ...]  # where the tracer's stops and the trap log part
    with_registers: int  # traps judged with the tracer's registers
    panic: str | None
    markers: tuple[bool, bool]  # the guest's init ran / asked to power off
    parse_errors: tuple[str, ...]


def judge_boot(run: LinuxBoot, recipe: ImageRecipe, schema: Schema) -> LinuxVerdict:
    """Pair every logged exit with its trap and judge it (registers from the tracer when it
    ran and agrees with the log; otherwise from the syndrome alone)."""
    if Arch.parse(recipe.arch) is Arch.RISCV64:
        return _judge_riscv64(run, recipe, schema)
    traps = parse_trap_dir(run.trap_log, Arch.AARCH64)
    parsed = parse_log(run.console, schema, recipe.arch)
    pinned = recipe.guest.vcpu_of_cpu
    regs: dict[int, dict[int, TrapRegisters]] = {}
    problems: list[str] = []
    if run.trace is not None:
        per_cpu = by_thread([r for r in run.trace.records if isinstance(r, TrapRegisters)])
        for cpu in set(traps) | set(per_cpu):
            regs[cpu], why = match(traps.get(cpu, []), per_cpu.get(cpu, []))
            problems += [f"CPU {cpu}: {w}" for w in why]
        if run.trace.error:
            problems.append(f"tracer: {run.trace.error}")

    def context(vcpu: int, index: int | None, trap: Trap) -> TrapContext:
        rec = regs.get(trap.cpu, {}).get(index) if index is not None else None
        if rec is None:
            return TrapContext(schema)
        return TrapContext(schema, rec.gprs, stage1_off=not rec.stage1_on, hpfar=rec.hpfar)

    report = pair(traps, by_vcpu(parsed.records, pinned), pinned, Rules(), context)
    return _verdict(run, report, parsed, problems, sum(len(v) for v in regs.values()))


# Without the tracer, which RISC-V interrupts were taken while the guest ran is guessed from
# epc (docs/oracle.md): Sv39 user space and the guest's physical RAM (Linux before its MMU is
# on), and Linux's Sv39 kernel half from PAGE_OFFSET 0xffff_ffd6_0000_0000 up; axvisor runs at
# 0xffff_ffc0_8020_0000.., and OpenSBI (M-mode) takes no S-level interrupt.
LINUX_GUEST_PC = ((0, 1 << 38), (0xFFFF_FFD6_0000_0000, 1 << 64))


def _judge_riscv64(run: LinuxBoot, recipe: ImageRecipe, schema: Schema) -> LinuxVerdict:
    """RISC-V: with the tracer, the guest's traps are exactly those that stopped at
    `_guest_exit` (rvtrace.classify), each judged with htval, htinst, vsatp and x0-x31."""
    traps = parse_trap_dir(run.trap_log, Arch.RISCV64)
    parsed = parse_log(run.console, schema, recipe.arch)
    pinned = recipe.guest.vcpu_of_cpu
    problems: list[str] = []
    regs: dict[tuple[int, int], RvTrapRegisters] = {}  # (CPU, trap log line) -> stop
    rules = Rules(guest_pc=LINUX_GUEST_PC)
    if run.trace is not None:
        per_cpu = by_thread([r for r in run.trace.records if isinstance(r, RvTrapRegisters)])
        guest: dict[int, list[Trap]] = {}
        for cpu in set(traps) | set(per_cpu):
            pairs, why = classify(traps.get(cpu, []), per_cpu.get(cpu, []))
            problems += [f"CPU {cpu}: {w}" for w in why]
            guest[cpu] = [t for t, _ in pairs]
            regs |= {(cpu, t.line): r for t, r in pairs}
        if run.trace.error:
            problems.append(f"tracer: {run.trace.error}")
        if not problems:  # the stops name the guest's traps: no window is needed
            traps = guest
            rules = Rules(guest_pc=((0, 1 << 64),))

    def context(vcpu: int, index: int | None, trap: Trap) -> TrapContext:
        rec = regs.get((trap.cpu, trap.line))
        if rec is None:
            return TrapContext(schema)
        return TrapContext(schema, rec.gprs, stage1_off=not rec.vs_translation,
                           htval=rec.htval, htinst=rec.htinst)

    report = pair(traps, by_vcpu(parsed.records, pinned), pinned, rules, context)
    return _verdict(run, report, parsed, problems, len(regs))


def _verdict(run: LinuxBoot, report: PairingReport, parsed: ParseResult, problems: list[str],
             with_registers: int) -> LinuxVerdict:
    text = axvisor_console.guest_text(run.console)
    return LinuxVerdict(
        report=report, exits=len(parsed.records),
        variants=dict(Counter(r.exit.VARIANT for r in parsed.records)),
        trace_problems=tuple(problems),
        with_registers=with_registers,
        panic=axvisor_console.panic_text(run.console),
        markers=(MARKER_START in text, MARKER_OFF in text),
        parse_errors=tuple(str(e) for e in parsed.errors))


def summary(run: LinuxBoot, verdict: LinuxVerdict) -> dict[str, Any]:
    """What the report and the README quote: exits, how they were judged, every difference."""
    r = verdict.report
    judged = [p for p in r.pairs if p.judgement is not None]
    return {
        "ending": run.ending.value, "detail": run.detail, "seconds": round(run.seconds, 2),
        "markers": {"init": verdict.markers[0], "poweroff": verdict.markers[1]},
        "panic": verdict.panic, "exits": verdict.exits, "variants": verdict.variants,
        "paired": len(judged), "full": r.count(Outcome.AGREE),
        "partial": r.count(Outcome.PARTIAL), "differ": r.count(Outcome.DIFFER),
        "no_rule": r.count(Outcome.NO_RULE),
        "traps_without_exit": sum(p.kind is Kind.TRAP_WITHOUT_EXIT for p in r.pairs),
        "exits_without_trap": sum(p.kind is Kind.EXIT_WITHOUT_TRAP for p in r.pairs),
        "with_registers": verdict.with_registers,
        "tracer": None if run.trace is None else {
            "stops": run.trace.stops, "stop_seconds": round(run.trace.stop_seconds, 3),
            "stuck_steps": run.trace.stuck_steps, "error": run.trace.error,
            "guest_page_faults": _htinst_seen(run.trace)},
        "trace_problems": list(verdict.trace_problems),
        "differences": [p.describe() for p in r.differences],
        "unpaired": [p.describe() for p in r.unpaired],
        "rules": dict(Counter(p.expectation.rule for p in judged if p.expectation is not None)),
        "open_fields": dict(Counter(u.split(":")[0] + ": " + u.split(":", 1)[1].strip()
                                    for p in judged if p.judgement is not None
                                    for u in p.judgement.undecided)),
        "parse_errors": list(verdict.parse_errors),
    }


def _htinst_seen(trace: TraceResult[TrapRegisters] | TraceResult[RvTrapRegisters]
                 ) -> dict[str, int]:
    """RISC-V guest-page faults (scause 20, 21, 23) by what the hart wrote to htinst: 0, a
    transformed instruction (bit 0 set), or a pseudoinstruction (§8.6.3)."""
    out = {"zero": 0, "transformed": 0, "pseudo": 0}
    for rec in trace.records:
        if isinstance(rec, RvTrapRegisters) and not rec.is_async and rec.cause in (20, 21, 23):
            out["zero" if rec.htinst == 0 else "transformed" if rec.htinst & 1 else "pseudo"] += 1
    return out


def write_summary(casedir: Path, data: dict[str, Any]) -> Path:
    out = casedir / "linux.json"
    out.write_text(json.dumps(data, indent=2))
    return out


def boot_and_judge(image: Image, recipe: ImageRecipe, casedir: Path, *, gdb: bool
                   ) -> dict[str, Any]:
    """One Linux guest boot judged exit by exit under the image's exit schema: the summary,
    also written to `casedir`/linux.json."""
    run = boot(image, recipe, casedir, gdb=gdb)
    data = summary(run, judge_boot(run, recipe, of_image(image.schema, image.axvcpu_version)))
    write_summary(casedir, data)
    return data
