"""AArch64 rules: stage-2 data aborts, HVC/SMC (SMCCC + PSCI), trapped MSR/MRS, WFI/WFE."""

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
    Nothing,
    SendIPI,
    SysRegRead,
    SysRegWrite,
    SystemDown,
)
from harness.model.isa import aarch64 as isa
from harness.model.predict.address import data_address
from harness.model.predict.faults import fetch_fault
from harness.model.sysreg import A64
from harness.model.values import AccessWidth, GuestPhysAddr, ModelError, SysRegAddr

if TYPE_CHECKING:
    from harness.model.predict import GuestTrap

ZR = 31
"""Rt=31 in a load/store or MSR/MRS is XZR/WZR: reads as 0, writes are discarded."""

# PSCI function IDs (DEN0022, table "PSCI function IDs"); CPU_OFF and SYSTEM_OFF exist only
# in the SMC32 convention, CPU_ON in both.
PSCI_CPU_OFF = 0x8400_0002
PSCI_CPU_ON_32 = 0x8400_0003
PSCI_CPU_ON_64 = 0xC400_0003
PSCI_SYSTEM_OFF = 0x8400_0008

ICC_SGI1R_EL1 = A64["ICC_SGI1R_EL1"]


def _xreg(trap: GuestTrap, rt: int) -> int:
    return 0 if rt == ZR else trap.reg(rt, f"x{rt}")


def _memory(trap: GuestTrap, access: isa.LoadStore) -> ExitReason:
    """Data abort (EC 0x24): the fields mirror ESR_EL2.ISS SAS/SSE/SRT/SF/WnR (D13.2.39).

    SSE is 1 exactly for the sign-extending loads (LDRS*); SF says whether Rt is an X
    register.  Store data is what reaches memory: Xt/Wt truncated to the access size.  For
    pre/post-index forms ISV is 0 and the hypervisor must decode the instruction, but the
    access it performs is the same, so the prediction is too.
    """
    computed = isa.effective_address(access, trap.gprs.get)
    addr = GuestPhysAddr(data_address(trap, computed, f"{access.mnemonic} [x{access.rn}, …]"))
    if access.is_load:
        return MmioRead(
            addr=addr,
            width=access.width,
            reg=access.rt,
            reg_width=AccessWidth.Qword if access.dest64 else AccessWidth.Dword,
            signed_ext=access.signed,
        )
    return MmioWrite(addr, access.width, _xreg(trap, access.rt) & access.width.mask())


def _psci(trap: GuestTrap) -> ExitReason | None:
    """CPU_ON/CPU_OFF/SYSTEM_OFF, else None.

    SMCCC (DEN0028) passes the function ID in W0 and, for SMC32/HVC32 calls (bit 30 clear),
    the arguments in W1..W7: the upper halves of X0..X7 are not part of the call.
    """
    fid = trap.reg(0, "x0") & 0xFFFF_FFFF
    wide = bool(fid & 0x4000_0000)

    def arg(n: int) -> int:
        value = trap.reg(n, f"x{n}")
        return value if wide else value & 0xFFFF_FFFF

    if fid == PSCI_CPU_OFF:
        # CPU_OFF takes no parameters (DEN0022 §5.3); `_state` is "currently unused".
        return CpuDown(state=0)
    if fid in (PSCI_CPU_ON_32, PSCI_CPU_ON_64):
        # CPU_ON(target_cpu = MPIDR affinity, entry_point_address, context_id) (§5.4).
        return CpuUp(target_cpu=arg(1), entry_point=GuestPhysAddr(arg(2)), arg=arg(3))
    if fid == PSCI_SYSTEM_OFF:
        return SystemDown()
    return None


def sgi1r_to_ipi(value: int) -> SendIPI:
    """ICC_SGI1R_EL1 (GICv3, IHI 0069 §12.2: TargetList[15:0], Aff1[23:16], INTID[27:24],
    Aff2[39:32], IRM[40], RS[47:44], Aff3[55:48]) as exit.rs's SendIPI.

    exit.rs: target_cpu holds `Aff3.Aff2.Aff1.0` (one byte each) and target_cpu_aux "a bitmask
    for Aff0 values".  With range selector RS the TargetList bit n names Aff0 = 16*RS + n
    (IHI 0069), so the mask is TargetList << 16*RS; RS >= 4 names Aff0 >= 64, which a u64
    mask cannot hold.  IRM=1 targets every PE but the sender (send_to_all).
    """
    intid = (value >> 24) & 0xF
    if (value >> 40) & 1:
        return SendIPI(target_cpu=0, target_cpu_aux=0, send_to_all=True,
                       send_to_self=False, vector=intid)  # fmt: skip
    rs = (value >> 44) & 0xF
    if rs >= 4:
        raise ModelError(
            f"ICC_SGI1R_EL1 {value:#x}: RS={rs} targets Aff0 {16 * rs}..{16 * rs + 15}, "
            "beyond the 64 bits of SendIPI.target_cpu_aux"
        )
    aff1, aff2, aff3 = (value >> 16) & 0xFF, (value >> 32) & 0xFF, (value >> 48) & 0xFF
    return SendIPI(
        target_cpu=aff3 << 24 | aff2 << 16 | aff1 << 8,
        target_cpu_aux=(value & 0xFFFF) << (16 * rs),
        send_to_all=False,
        send_to_self=False,
        vector=intid,
    )


def _sysreg(trap: GuestTrap, acc: isa.SysRegAccess) -> ExitReason:
    """EC 0x18: addr is the ISS with Rt and direction masked (exit.rs, SysRegAddr doc)."""
    addr = SysRegAddr(acc.reg.addr)
    if acc.is_read:
        return SysRegRead(addr=addr, reg=acc.rt)
    value = _xreg(trap, acc.rt)
    if acc.reg == ICC_SGI1R_EL1:
        return sgi1r_to_ipi(value)
    return SysRegWrite(addr=addr, value=value)


def predict(trap: GuestTrap) -> ExitReason:
    """Exit for one trapped A64 instruction (see harness.model.predict)."""
    insn = isa.decode(trap.insn)
    if isinstance(insn, isa.LoadStore):
        return _memory(trap, insn)
    if isinstance(insn, isa.BranchRegister):
        return fetch_fault(trap, trap.gprs.get(insn.rn), f"br x{insn.rn}")
    if isinstance(insn, isa.Hvc):
        # Not PSCI: a hypercall; nr = x0, args = x1..x6 (exit.rs Hypercall, 6 arguments).
        psci = _psci(trap)
        if psci is not None:
            return psci
        x = [trap.reg(n, f"x{n}") for n in range(7)]
        return Hypercall(nr=x[0], args=(x[1], x[2], x[3], x[4], x[5], x[6]))
    if isinstance(insn, isa.Smc):
        # SMC targets the secure monitor, not the hypervisor: with HCR_EL2.TSC the vCPU
        # emulates or forwards it, so only the PSCI power calls surface as exits.
        psci = _psci(trap)
        return psci if psci is not None else Nothing()
    if isinstance(insn, isa.SysRegAccess):
        return _sysreg(trap, insn)
    # WFI/WFE trapped by HCR_EL2.TWI/TWE (EC 0x01): "executed a halt instruction".
    return Halt()
