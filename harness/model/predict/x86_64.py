"""x86-64 rules: port I/O, RDMSR/WRMSR (incl. the x2APIC ICR), VMCALL/VMMCALL, HLT, and
memory accesses that fault in the nested page tables.

VMX: basic exit reasons 10..  (SDM vol. 3C App. C) with the I/O exit qualification
(table "Exit Qualification for I/O Instructions"); SVM: IOIO EXITINFO1, MSR and VMMCALL
intercepts (APM vol. 2 §15.10, §15.11).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.model.exits import (
    CpuUp,
    ExitReason,
    Halt,
    Hypercall,
    IoRead,
    IoWrite,
    NestedPageFault,
    Nothing,
    SendIPI,
    SysRegRead,
    SysRegWrite,
    SystemDown,
)
from harness.model.isa import x86_64 as isa
from harness.model.predict.faults import fetch_fault, nested_fault
from harness.model.values import (
    AccessWidth,
    GuestPhysAddr,
    MappingFlags,
    ModelError,
    Port,
    SysRegAddr,
)

if TYPE_CHECKING:
    from harness.model.predict import GuestTrap

RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9 = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9

QEMU_ACPI_PM1A_CNT = 0x604
"""QEMU's ACPI PM1a control port; SLP_EN (bit 13) with SLP_TYP 0 powers off (ACPI §4.8.3.2.1)."""
SLP_EN_S5 = 0x2000
X2APIC_ICR = 0x830


def _port_io(trap: GuestTrap, io: isa.PortIo) -> ExitReason:
    """IN/OUT: port from imm8 or DX (16 bits), data from AL/AX/EAX.

    OUT of AX = 0x2000 to port 0x604 is the guest powering the machine off through QEMU's
    ACPI PM1a_CNT (FACTS §6), so the contract's SystemDown applies.  The port sees only the
    16 bits of AX, so the rule compares AX, not the whole of RAX.
    """
    if io.string:
        raise ModelError(
            "INS/OUTS move memory, but IoRead/IoWrite carry AL/AX/EAX only (exit.rs): no exit "
            "variant describes string port I/O"
        )
    port = io.port if io.port is not None else trap.reg(RDX, "RDX") & 0xFFFF
    if io.is_in:
        return IoRead(port=Port(port), width=io.width)
    data = trap.reg(RAX, "RAX") & io.width.mask()
    if port == QEMU_ACPI_PM1A_CNT and io.width is AccessWidth.Word and data == SLP_EN_S5:
        return SystemDown()
    return IoWrite(port=Port(port), width=io.width, data=data)


def icr_write(value: int) -> ExitReason:
    """A write to the x2APIC ICR (SDM vol. 3A "Interrupt Command Register"): vector [7:0],
    delivery mode [10:8], destination shorthand [19:18], x2APIC destination [63:32].

    Fixed IPIs map to SendIPI (shorthand self / all-including-self / all-excluding-self set
    send_to_self / send_to_all as exit.rs defines them); a Start-up IPI is CpuUp with the
    entry at vector << 12 (SDM "MP Initialization"), which exit.rs names as x86's CpuUp; INIT
    only resets the target into wait-for-SIPI and is handled by the vCPU (Nothing).
    """
    vector, mode, shorthand = value & 0xFF, (value >> 8) & 7, (value >> 18) & 3
    dest = value >> 32
    if mode == 0:
        to_self = shorthand in (1, 2)
        to_all = shorthand in (2, 3)
        return SendIPI(target_cpu=0 if (to_self or to_all) else dest, target_cpu_aux=0,
                       send_to_all=to_all, send_to_self=to_self, vector=vector)  # fmt: skip
    if mode == 6 and shorthand == 0:
        return CpuUp(target_cpu=dest, entry_point=GuestPhysAddr(vector << 12), arg=0)
    if mode == 5:
        return Nothing()
    raise ModelError(f"x2APIC ICR {value:#x}: delivery mode {mode}/shorthand {shorthand} "
                     "has no exit variant in the contract")  # fmt: skip


def _memory(trap: GuestTrap, mov: isa.MemMove) -> NestedPageFault:
    """A MOV that faults in the nested page tables (SVM #NPF, VMX EPT violation). Unlike an
    AArch64 data abort with ISV = 1, neither gives the hypervisor the decoded access: EXITINFO1
    / the exit qualification hold only its kind (read, write, fetch; APM vol. 2 §15.25.6, SDM
    vol. 3C table "Exit Qualification for EPT Violations") and the GPA. So the vCPU reports
    the fault as it is (exit.rs: NestedPageFault, "guest accesses unmapped memory regions")
    and leaves instruction emulation to the hypervisor: READ for a load, WRITE for a store."""
    flags = MappingFlags.WRITE if mov.is_write else MappingFlags.READ
    return nested_fault(trap, flags, "a memory access trap needs the data GPA")


def predict(trap: GuestTrap) -> ExitReason:
    """Exit for one trapped x86-64 instruction (see harness.model.predict)."""
    insn = isa.decode(trap.insn, trap.x86_code_bits)
    if isinstance(insn, isa.PortIo):
        return _port_io(trap, insn)
    if isinstance(insn, isa.MemMove):
        return _memory(trap, insn)
    if isinstance(insn, isa.FarJump):  # real mode: the target is selector × 16 + offset
        target = (insn.selector << 4) + insn.offset if trap.x86_code_bits == 16 else None
        return fetch_fault(trap, target, f"jmp {insn.selector:#x}:{insn.offset:#x}")
    op = insn.op
    if op is isa.Simple.RDMSR:
        # The MSR index is ECX; RCX[63:32] is ignored (SDM vol. 2B RDMSR).  The result goes
        # to EDX:EAX, so `reg` is unused on x86 (exit.rs) and set to 0.
        return SysRegRead(addr=SysRegAddr(trap.reg(RCX, "RCX") & 0xFFFF_FFFF), reg=0)
    if op is isa.Simple.WRMSR:
        msr = trap.reg(RCX, "RCX") & 0xFFFF_FFFF
        value = (trap.reg(RDX, "RDX") & 0xFFFF_FFFF) << 32 | trap.reg(RAX, "RAX") & 0xFFFF_FFFF
        if msr == X2APIC_ICR:
            return icr_write(value)
        return SysRegWrite(addr=SysRegAddr(msr), value=value)
    if op in (isa.Simple.VMCALL, isa.Simple.VMMCALL):
        # VMCALL is Intel's, VMMCALL AMD's; each raises #UD on the other vendor's hardware.
        wrong = {"vmx": isa.Simple.VMMCALL, "svm": isa.Simple.VMCALL}.get(trap.backend)
        if op is wrong:
            raise ModelError(f"{op.value} raises #UD under {trap.backend.upper()}: no hypercall")
        # nr = RAX; args in the System V AMD64 integer-argument order RDI, RSI, RDX, RCX,
        # R8, R9 (psABI §3.2.3) -- axvisor's hypercall ABI (FACTS §6); exit.rs fixes only
        # that there are six.
        r = [trap.reg(n, name) for n, name in ((RDI, "RDI"), (RSI, "RSI"), (RDX, "RDX"),
                                                (RCX, "RCX"), (R8, "R8"), (R9, "R9"))]  # fmt: skip
        return Hypercall(nr=trap.reg(RAX, "RAX"), args=(r[0], r[1], r[2], r[3], r[4], r[5]))
    return Halt()  # HLT with HLT exiting / the HLT intercept
