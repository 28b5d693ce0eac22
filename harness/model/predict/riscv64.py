"""RISC-V rules: guest page faults on loads/stores, SBI ecalls, CSR accesses, WFI.

Guest-page-fault exits (scause 21 load, 23 store/AMO; Privileged spec §9.6.3 / §18.6.3
depending on edition) report the GPA through htval (GPA >> 2) and stval; the model takes
the GPA directly.  SBI calls follow the SBI spec v2.0: EID in a7, FID in a6, arguments in
a0..a5 (§3 "Binary Encoding").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.model.exits import (
    CpuDown,
    CpuUp,
    ExitReason,
    Halt,
    Hypercall,
    MmioRead,
    MmioWrite,
    NestedPageFault,
    Nothing,
    SysRegRead,
    SysRegWrite,
    SystemDown,
)
from harness.model.isa import riscv64 as isa
from harness.model.predict.address import data_address
from harness.model.predict.faults import fetch_fault, nested_fault
from harness.model.values import (
    AccessWidth,
    GuestPhysAddr,
    MappingFlags,
    ModelError,
    SysRegAddr,
)

if TYPE_CHECKING:
    from harness.model.predict import GuestTrap

A0, A1, A2, A3, A4, A5, A6, A7 = range(10, 18)

EID_LEGACY_SHUTDOWN = 0x08
EID_TIME, EID_IPI, EID_RFENCE = 0x5449_4D45, 0x0073_5049, 0x5246_4E43
EID_HSM = 0x0048_534D
EID_SRST = 0x5352_5354
EID_DBCN = 0x4442_434E
EID_AXVISOR_HVC = 0x0048_5643  # "HVC": axvisor's hypercall extension (FACTS §6)

HSM_HART_START, HSM_HART_STOP, HSM_HART_GET_STATUS, HSM_HART_SUSPEND = 0, 1, 2, 3
SRST_SHUTDOWN = 0


def _load(trap: GuestTrap, ld: isa.RvLoad) -> MmioRead:
    """reg_width is always Qword: every RV64 load writes the whole XLEN=64 register.

    signed_ext is True for LB/LH/LW/LD and their compressed forms and False for
    LBU/LHU/LWU.  For LD (width = reg_width) extension is moot, but the ISA classes LD with
    the sign-extending loads (its zero-extending twin LDU exists only in RV128), so the model
    says True and lists the field in `free_fields`.
    """
    return MmioRead(
        addr=GuestPhysAddr(_address(trap, ld)),
        width=ld.width,
        reg=ld.rd,
        reg_width=AccessWidth.Qword,
        signed_ext=not ld.unsigned,
    )


def _store(trap: GuestTrap, st: isa.RvStore) -> MmioWrite:
    """Data is the low `width` bytes of x[rs2] (x0 reads as 0)."""
    value = trap.reg(st.rs2, f"x{st.rs2}") & st.width.mask()
    return MmioWrite(GuestPhysAddr(_address(trap, st)), st.width, value)


def _address(trap: GuestTrap, access: isa.RvLoad | isa.RvStore) -> int:
    computed = isa.effective_address(access, trap.gprs.get)
    return data_address(trap, computed, f"{access.mnemonic} {access.offset}(x{access.rs1})")


def _sbi(trap: GuestTrap) -> ExitReason:
    eid = trap.reg(A7, "a7 (SBI EID)")
    if eid == EID_LEGACY_SHUTDOWN:
        return SystemDown()  # legacy sbi_shutdown (SBI §5.7), no FID
    if eid <= 0x0F:
        return Nothing()  # other legacy calls (console, timer, IPI masks): vCPU-handled
    fid = trap.reg(A6, "a6 (SBI FID)")
    if eid == EID_SRST and fid == 0:
        # sbi_system_reset(uint32 reset_type, uint32 reset_reason) (§10.1); uint32 arguments
        # occupy the low 32 bits of a0.
        reset_type = trap.reg(A0, "a0") & 0xFFFF_FFFF
        if reset_type == SRST_SHUTDOWN:
            return SystemDown()
        raise ModelError(
            f"SBI SRST reset_type {reset_type:#x} (reboot): AxVCpuExitReason has no reset variant"
        )
    if eid == EID_HSM:
        if fid == HSM_HART_START:
            # sbi_hart_start(hartid, start_addr, opaque) (§9.1): start_addr is a guest
            # physical address because VS-mode satp translation is off at hart entry.
            return CpuUp(
                target_cpu=trap.reg(A0, "a0"),
                entry_point=GuestPhysAddr(trap.reg(A1, "a1")),
                arg=trap.reg(A2, "a2"),
            )
        if fid == HSM_HART_STOP:
            return CpuDown(state=0)  # sbi_hart_stop() takes no arguments (§9.2)
        if fid == HSM_HART_SUSPEND:
            # sbi_hart_suspend (§9.4): the hart idles until an interrupt (retentive) or a
            # resume; the contract's closest variant is Halt.
            return Halt()
        return Nothing()
    if eid == EID_AXVISOR_HVC:
        a = [trap.reg(n, f"a{n - A0}") for n in range(A0, A6)]
        return Hypercall(nr=fid, args=(a[0], a[1], a[2], a[3], a[4], a[5]))
    if eid == EID_IPI:
        raise ModelError(
            "SBI sPI send_ipi(hart_mask, hart_mask_base): the contract does not define how a "
            "hart mask maps onto SendIPI, so the model makes no prediction"
        )
    return Nothing()  # DBCN, TIME, RFENCE, BASE, …: served by the vCPU itself


def _csr(trap: GuestTrap, c: isa.RvCsr) -> ExitReason:
    """A trapped CSR instruction (virtual-instruction exception, scause 22).

    CSRRS/CSRRC with a zero source only read; CSRRW/CSRRWI with rd=x0 only write (Zicsr,
    Unprivileged spec ch. 9).  Read-modify-write forms are both at once and have no single
    exit in the contract.
    """
    addr = SysRegAddr(c.csr)
    if c.op in ("rs", "rc") and c.src == 0:
        return SysRegRead(addr=addr, reg=c.rd)
    if c.op == "rw" and c.rd == 0:
        value = c.src if c.immediate else trap.reg(c.src, f"x{c.src}")
        return SysRegWrite(addr=addr, value=value)
    raise ModelError(f"CSR {c.csr:#x}: read-modify-write csrr{c.op} has no single exit variant")


def _jalr_target(trap: GuestTrap, j: isa.RvJalr) -> int | None:
    computed = isa.effective_address(j, trap.gprs.get)
    return None if computed is None else computed & ~1


def _amo(trap: GuestTrap, amo: isa.RvAmo) -> NestedPageFault:
    """An AMO that faults in stage 2. It reads and writes memory in one indivisible step, so
    it cannot be reported as one MmioRead or one MmioWrite: the vCPU must hand the fault over
    as it is (exit.rs: NestedPageFault for an access to an unmapped region), with the access
    it was: read and write."""
    return nested_fault(trap, MappingFlags.READ | MappingFlags.WRITE,
                        "an AMO trap needs the data GPA",
                        isa.effective_address(amo, trap.gprs.get),
                        f"{amo.mnemonic} (x{amo.rs1})")


def predict(trap: GuestTrap) -> ExitReason:
    """Exit for one trapped RV64 instruction (see harness.model.predict)."""
    insn = isa.decode(trap.insn)
    if isinstance(insn, isa.RvAmo):
        return _amo(trap, insn)
    if isinstance(insn, isa.RvJalr):
        return fetch_fault(trap, _jalr_target(trap, insn), f"jalr {insn.offset}(x{insn.rs1})")
    if isinstance(insn, isa.RvLoad):
        return _load(trap, insn)
    if isinstance(insn, isa.RvStore):
        return _store(trap, insn)
    if isinstance(insn, isa.RvEcall):
        return _sbi(trap)
    if isinstance(insn, isa.RvCsr):
        return _csr(trap, insn)
    return Halt()  # WFI with hstatus.VTW=1
