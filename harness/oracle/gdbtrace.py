"""Record the CPU at every guest trap through QEMU's gdbstub, while the run goes on.

A `TrapTracer` runs beside `QemuMachine.run_until` (a thread of its own): it stops QEMU at
axvisor's lower-EL synchronous vector, reads the registers the oracle needs (harness.oracle.
gdbstub), steps past the breakpoint and continues. `StubTracer` is that loop for any
architecture: a subclass names the breakpoint and what to read at it (riscv64:
harness.oracle.rvtrace). Its records are in the order the traps
happened, per thread (= vCPU's CPU), which is the trap log's order: the k-th record of a CPU
belongs to its k-th synchronous guest trap, and `match` checks that ESR and ELR agree with the
log before a record is used. Opt-in: every trap costs two round trips of QEMU's stop/resume.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from harness.errors import InfraError
from harness.guests.binutils import binutils_for
from harness.oracle.gdbstub import SYNC_LOWER_EL, GdbError, GdbRemote, TrapRegisters
from harness.oracle.records import A64Trap, Trap

VCPU_VECTOR_SYMBOL = "exception_vector_base_vcpu"  # arm_vcpu's VBAR_EL2 while a guest runs
# The registers read at each stop, by the names QEMU's target description gives them (its
# system-register feature names SCTLR_EL1 plain "SCTLR", after the cpreg).
SYSREGS = {"ESR_EL2": "ESR_EL2", "FAR_EL2": "FAR_EL2", "HPFAR_EL2": "HPFAR_EL2",
           "ELR_EL2": "ELR_EL2", "SCTLR_EL1": "SCTLR"}
SWITCH_INTERVAL_S = 0.0002
_THREAD = re.compile(r"thread:(?:p[0-9a-f]+\.)?([0-9a-f]+);")


def symbol(elf: Path, arch: str, name: str) -> int:
    """The address of `name` in axvisor's ELF (linked where it runs)."""
    nm = binutils_for(arch).nm
    out = subprocess.run([nm, str(elf)], capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise InfraError(f"{elf}: no symbol {name} (nm: {out.stderr.strip()[:200]})")


def vcpu_vector(elf: Path) -> int:
    """The address of arm_vcpu's vector table in axvisor's ELF."""
    return symbol(elf, "aarch64", VCPU_VECTOR_SYMBOL)


class Threaded(Protocol):
    @property
    def thread(self) -> int: ...


Rec = TypeVar("Rec", bound=Threaded)


@dataclass(frozen=True, slots=True)
class TraceResult(Generic[Rec]):
    records: tuple[Rec, ...]
    stops: int
    stop_seconds: float  # wall time QEMU spent stopped for the tracer
    error: str  # "" unless the tracer failed (then the records are a prefix)
    stuck_steps: int = 0  # single steps that stayed on the breakpoint and were repeated


class StubTracer(Generic[Rec]):
    """Start with `start()` once QEMU is up (paused: the tracer's first continue starts it);
    `finish()` after the run returns what was recorded. Subclasses give `registers` (names
    the target description must have) and `_read` (one stop's record)."""

    registers: tuple[str, ...] = ()

    def __init__(self, socket_path: Path, bp: int) -> None:
        self.socket_path = socket_path
        self.bp = bp
        self.records: list[Rec] = []
        self.stuck_steps = 0
        self._switch = sys.getswitchinterval()
        self.stops = 0
        self.stop_seconds = 0.0
        self.error = ""
        self._gdb: GdbRemote | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # QEMU waits, stopped, until this thread has read the stop and resumed it; with
        # CPython's default 5 ms switch interval the thread waits for the GIL held by the
        # console reader first (riscv64 Linux boot, 48 s: 3,563 stops with the default,
        # 4,908 with 0.2 ms).
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        gdb = GdbRemote(self.socket_path)
        self._gdb = gdb
        gdb.start()
        for name in self.registers:
            gdb.regnum(name)  # GdbError now if the target description lacks one
        gdb.breakpoint(self.bp)
        gdb.resume()
        self._thread = threading.Thread(target=self._loop, name="axh-gdbtrace", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        gdb = self._gdb
        assert gdb is not None
        try:
            while True:
                reply = gdb.receive(timeout=None)
                if reply is None or reply[:1] in ("W", "X"):
                    return  # QEMU quit
                if reply[:1] not in ("T", "S"):
                    continue
                began = time.monotonic()
                self.stops += 1
                self.records.append(self._read(gdb, reply))
                if not self._pass_breakpoint(gdb):
                    return
                gdb.resume()
                self.stop_seconds += time.monotonic() - began
        except (BrokenPipeError, ConnectionResetError):
            return  # QEMU quit between a stop and its resume: the records so far stand
        except (GdbError, OSError) as exc:
            if isinstance(exc.__cause__ or exc.__context__, (BrokenPipeError,
                                                             ConnectionResetError)):
                return
            self.error = str(exc)

    def _read(self, gdb: GdbRemote, reply: str) -> Rec:
        raise NotImplementedError

    def _pass_breakpoint(self, gdb: GdbRemote) -> bool:
        """Leave the breakpoint QEMU stopped at (continuing would stop there again); False if
        QEMU quit meanwhile: a single step, repeated if it stays on the breakpoint. A subclass
        may do better (rvtrace: QEMU 10 flushes its whole translation cache whenever
        single-stepping or a breakpoint is switched on or off)."""
        for _ in range(3):
            gdb.resume(step=True)
            if gdb.receive(timeout=10.0) is None:
                return False
            if gdb.read("pc") != self.bp:
                return True
            self.stuck_steps += 1  # the step did not leave the breakpoint
        return True

    def finish(self, wait_s: float = 5.0) -> TraceResult[Rec]:
        sys.setswitchinterval(self._switch)
        if self._thread is not None:
            self._thread.join(wait_s)
            if self._thread.is_alive():
                self.error = self.error or "the tracer did not stop with QEMU"
        if self._gdb is not None:
            self._gdb.close()
        return TraceResult(tuple(self.records), self.stops, self.stop_seconds, self.error,
                           self.stuck_steps)


def stop_thread(reply: str) -> int:
    """The gdb thread a stop reply names (1 when it names none)."""
    m = _THREAD.search(reply)
    return int(m.group(1), 16) if m else 1


class TrapTracer(StubTracer[TrapRegisters]):
    """AArch64: stops at arm_vcpu's lower-EL synchronous vector (`vector` + 0x400)."""

    registers = tuple(SYSREGS.values())

    def __init__(self, socket_path: Path, vector: int) -> None:
        super().__init__(socket_path, vector + SYNC_LOWER_EL)

    def _read(self, gdb: GdbRemote, reply: str) -> TrapRegisters:
        core = gdb.read_core()
        sysregs = {name: gdb.read(qemu) for name, qemu in SYSREGS.items()}
        return TrapRegisters(thread=stop_thread(reply),
                             gprs={i: core[i] for i in range(31)},
                             esr=sysregs["ESR_EL2"], far=sysregs["FAR_EL2"],
                             hpfar=sysregs["HPFAR_EL2"], elr=sysregs["ELR_EL2"],
                             sctlr_el1=sysregs["SCTLR_EL1"], extra={"pc": core[32]})


def match(traps: Sequence[Trap], records: Sequence[TrapRegisters]
          ) -> tuple[dict[int, TrapRegisters], list[str]]:
    """One CPU's synchronous guest traps (log order) against its tracer records (stop order):
    {index among those traps: record}, and one line per mismatch (ESR or ELR differ, or a count
    differs). Only records whose ESR and ELR equal the log's are used."""
    sync = [t for t in traps if isinstance(t, A64Trap) and t.from_guest and not t.is_async]
    out: dict[int, TrapRegisters] = {}
    problems: list[str] = []
    for i, (trap, rec) in enumerate(zip(sync, records, strict=False)):
        if (trap.esr, trap.elr) != (rec.esr, rec.elr):
            problems.append(f"trap log line {trap.line}: ESR {trap.esr:#x} ELR {trap.elr:#x}, "
                            f"gdbstub stop {i}: ESR {rec.esr:#x} ELR {rec.elr:#x}")
            break  # the two orders have parted: nothing after this can be trusted
        out[i] = rec
    if len(sync) != len(records) and not problems:
        problems.append(f"{len(sync)} synchronous guest traps in the log, {len(records)} "
                        "gdbstub stops")
    return out, problems


def by_thread(records: Sequence[Rec]) -> Mapping[int, list[Rec]]:
    """Records per gdb thread (thread n is CPU n - 1 in QEMU)."""
    out: dict[int, list[Rec]] = {}
    for r in records:
        out.setdefault(r.thread - 1, []).append(r)
    return out
