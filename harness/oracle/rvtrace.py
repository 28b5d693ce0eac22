"""RISC-V: the CPU at every trap the guest takes to HS-mode, read through QEMU's gdbstub.

QEMU's `-d int` line of a RISC-V trap has cause, epc and tval, not htval (the faulting GPA >> 2)
nor htinst (the transformed instruction), nor the registers, nor the mode the trap came from or
went to (docs/oracle.md). All of them are in the CPU when the trap reaches the hypervisor:
riscv_vcpu points stvec at `_guest_exit` while a guest runs (riscv_vcpu 0.5.9 src/trap.S:48-51),
so every trap from V=1 to HS stops there, before the first instruction has touched a guest
register (`csrrw a0, sscratch, a0` is the first). One `g` (x0-x31, pc) and a `p` per CSR.

The stops then also say which of the log's traps are the guest's: `classify` walks one CPU's
trap log and its stops together; a trap is the guest's exactly when it is the next stop (same
interrupt bit, cause, epc and, for an exception, tval). No address window is guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from harness.oracle.gdbstub import GdbError, GdbRemote, le_hex
from harness.oracle.gdbtrace import StubTracer, stop_thread, symbol
from harness.oracle.records import RvTrap, Trap

GUEST_EXIT_SYMBOL = "_guest_exit"  # riscv_vcpu's stvec while a guest runs
CSRS = ("scause", "stval", "htval", "htinst", "sepc", "vsatp", "sscratch")
CSRRW_A0_SSCRATCH_A0 = 0x1405_1573  # csrrw a0, sscratch(0x140), a0
INTERRUPT = 1 << 63


def guest_exit(elf: Path) -> int:
    """The address of riscv_vcpu's `_guest_exit` in axvisor's ELF."""
    return symbol(elf, "riscv64", GUEST_EXIT_SYMBOL)


@dataclass(frozen=True, slots=True)
class RvTrapRegisters:
    """The hart at one stop at `_guest_exit`: the guest's x0-x31 and the trap CSRs of HS.
    vsatp's MODE (bits 63:60) is 0 when the guest's VS-stage translation is off."""

    thread: int
    gprs: Mapping[int, int]
    pc: int
    scause: int
    stval: int
    htval: int
    htinst: int
    sepc: int
    vsatp: int
    extra: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gprs", MappingProxyType(dict(self.gprs)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def vs_translation(self) -> bool:
        return self.vsatp >> 60 != 0

    @property
    def is_async(self) -> bool:
        return bool(self.scause & INTERRUPT)

    @property
    def cause(self) -> int:
        return self.scause & ~INTERRUPT


def parse_g(data: str) -> list[int]:
    """x0..x31 and pc (64-bit each, target byte order) of a RISC-V `g` reply."""
    if len(data) < 33 * 16:
        raise ValueError(f"a riscv64 `g` reply of {len(data)} hex digits (expected >= 528)")
    return [le_hex(data[i * 16:(i + 1) * 16]) for i in range(33)]


class RvTrapTracer(StubTracer[RvTrapRegisters]):
    """Stops at `_guest_exit` (`bp`, from guest_exit()) and records each trap's hart state."""

    registers = CSRS
    _checked = False

    def _pass_breakpoint(self, gdb: GdbRemote) -> bool:
        """Execute `_guest_exit`'s first instruction for the hart — swap a0 and sscratch, pc
        += 4 — and leave the breakpoint where it is: single-stepping, or moving the
        breakpoint, costs QEMU 10 two flushes of its whole translation cache per stop (`info
        jit`: 5,045 flushes after 2,523 stops), which slowed the Linux guest a hundredfold and
        let its timer ticks outrun the tracer. Register writes flush nothing."""
        if not self._checked:  # the hart is at bp with axvisor's page tables on: readable
            insn = int.from_bytes(gdb.read_memory(self.bp, 4), "little")
            if insn != CSRRW_A0_SSCRATCH_A0:
                raise GdbError(f"{GUEST_EXIT_SYMBOL} at {self.bp:#x} begins with {insn:#010x}, "
                               f"not csrrw a0, sscratch, a0 ({CSRRW_A0_SSCRATCH_A0:#010x})")
            self._checked = True
        rec = self.records[-1]  # read at this stop
        a0, scratch = rec.gprs[10], rec.extra["sscratch"]
        gdb.write("a0", scratch)
        gdb.write("sscratch", a0)
        gdb.write("pc", self.bp + 4)
        return True
    def _read(self, gdb: GdbRemote, reply: str) -> RvTrapRegisters:
        core = parse_g(gdb.command("g"))
        csr = {name: gdb.read(name) for name in CSRS}
        return RvTrapRegisters(thread=stop_thread(reply), gprs={i: core[i] for i in range(32)},
                               pc=core[32], scause=csr["scause"], stval=csr["stval"],
                               htval=csr["htval"], htinst=csr["htinst"], sepc=csr["sepc"],
                               vsatp=csr["vsatp"], extra={"sscratch": csr["sscratch"]})


def same_trap(trap: RvTrap, rec: RvTrapRegisters) -> bool:
    """The logged trap and the stop are one event."""
    if trap.is_async != rec.is_async or trap.cause != rec.cause or trap.epc != rec.sepc:
        return False
    return trap.is_async or trap.tval == rec.stval


def classify(traps: Sequence[Trap], records: Sequence[RvTrapRegisters]
             ) -> tuple[list[tuple[RvTrap, RvTrapRegisters]], list[str]]:
    """One CPU: the log's traps that reached `_guest_exit`, each with its stop, in order, and
    one line per problem. A trap only V=1 can raise (RvTrap.from_guest) that is not the next
    stop means the two orders have parted: nothing after it is used."""
    out: list[tuple[RvTrap, RvTrapRegisters]] = []
    problems: list[str] = []
    j = 0
    for trap in traps:
        if not isinstance(trap, RvTrap):
            continue
        if j < len(records) and same_trap(trap, records[j]):
            out.append((trap, records[j]))
            j += 1
        elif trap.from_guest:
            got = (f"stop {j}: scause {records[j].scause:#x} sepc {records[j].sepc:#x}"
                   if j < len(records) else "no stop left")
            problems.append(f"trap log line {trap.line}: cause {trap.cause} epc {trap.epc:#x} "
                            f"is the guest's, but {got}")
            return out, problems
    if j != len(records):
        problems.append(f"{len(records) - j} gdbstub stop(s) match no logged trap (first: "
                        f"scause {records[j].scause:#x} sepc {records[j].sepc:#x})")
    return out, problems
