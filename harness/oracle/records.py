"""Typed trap records: one exception as QEMU's trap log reports it, per architecture.

Only what QEMU 10.0 prints is here (docs/oracle.md has sample lines): AArch64 gives ESR, FAR
and ELR but not HPFAR_EL2; RISC-V gives scause, sepc/mepc and the trap value but neither
htval nor htinst nor the mode the trap came from or went to; x86 SVM gives EXITCODE,
EXITINFO1, EXITINFO2 and RIP (printed under `-d in_asm`, see harness.oracle.capture).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model.arch import Arch

# QEMU's AArch64 exception numbers (target/arm/cpu.h EXCP_*) that are interrupts, not traps
# caused by the instruction at ELR: IRQ, FIQ, VIRQ, VFIQ, VSERR, NMI, VINMI, VFNMI.
A64_ASYNC_EXCEPTIONS = frozenset({5, 6, 14, 15, 24, 26, 27, 28})


@dataclass(frozen=True, slots=True)
class A64Trap:
    """`Taking exception N [NAME] on CPU C` and its `...` lines (one AArch64 exception).

    `esr` is the whole ESR as printed after the slash (`ESR 0x24/0x93810046`); QEMU prints a
    stale value for interrupts, which set no syndrome. `far` is printed only for exceptions
    that set FAR (aborts, alignment, watchpoints)."""

    line: int
    cpu: int
    index: int
    name: str
    from_el: int
    to_el: int
    esr: int | None
    far: int | None
    elr: int | None

    @property
    def is_async(self) -> bool:
        return self.index in A64_ASYNC_EXCEPTIONS

    @property
    def from_guest(self) -> bool:
        """Taken from EL1 or EL0 to EL2: the guest trapped to the hypervisor."""
        return self.to_el == 2 and self.from_el < 2


@dataclass(frozen=True, slots=True)
class RvTrap:
    """`riscv_cpu_do_interrupt: hart:H, async:A, cause:C, epc:E, tval:T, desc=D`.

    `cause` is the exception or interrupt code without the interrupt bit; QEMU has already
    turned an ECALL into the cause of the mode it came from (8 U, 9 HS, 10 VS, 11 M)."""

    line: int
    cpu: int
    is_async: bool
    cause: int
    epc: int
    tval: int
    desc: str

    @property
    def from_guest(self) -> bool:
        """Only V=1 can raise these (Privileged spec 20211203 §8.6.1, trap cause codes: VS ecall 10,
        guest-page faults 20/21/23, virtual instruction 22), and hedeleg cannot delegate them
        to VS (§8.2.2: bits 10, 20–23 are read-only zero), so they always reach HS (or M)."""
        return not self.is_async and self.cause in (10, 20, 21, 22, 23)


@dataclass(frozen=True, slots=True)
class SvmExit:
    """`vmexit(EXITCODE, EXITINFO1, EXITINFO2, RIP)!` (QEMU target/i386 svm_helper.c)."""

    line: int
    cpu: int
    exitcode: int
    exitinfo1: int
    exitinfo2: int
    rip: int

    @property
    def is_async(self) -> bool:
        """INTR, NMI, SMI, INIT, VINTR (APM vol. 2 Appendix C: 0x60..0x64)."""
        return 0x60 <= self.exitcode <= 0x64

    @property
    def from_guest(self) -> bool:
        return True


Trap = A64Trap | RvTrap | SvmExit


def syndrome(trap: Trap) -> tuple[int | None, ...]:
    """What the hardware reported, without where in the log: equal for an instruction that
    traps again after the hypervisor re-entered the guest without completing it."""
    if isinstance(trap, A64Trap):
        return (trap.index, trap.esr, trap.far, trap.elr)
    if isinstance(trap, RvTrap):
        return (int(trap.is_async), trap.cause, trap.epc, trap.tval)
    return (trap.exitcode, trap.exitinfo1, trap.exitinfo2, trap.rip)

ARCH_OF: dict[type, Arch] = {A64Trap: Arch.AARCH64, RvTrap: Arch.RISCV64, SvmExit: Arch.X86_64}
