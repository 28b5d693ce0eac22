"""AArch64: ESR_EL2 (with FAR_EL2 and, when known, HPFAR_EL2) to the exits the contract allows.

References are to the Arm ARM (DDI 0487), chapter "AArch64 System Register Descriptions" (D17
in older editions, D24 in K.a): register ESR_EL2 and the subsections of its ISS named in each
rule ("ISS encoding for an exception from a Data Abort", ...); the fault status codes are the
DFSC/IFSC tables of the same register; HPFAR_EL2: FIPA = IPA[51:12] in bits [43:4].
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model.arch import Arch
from harness.model.predict.aarch64 import ICC_SGI1R_EL1, sgi1r_to_ipi
from harness.model.values import AccessWidth, MappingFlags
from harness.oracle.context import TrapContext, via_model, whole
from harness.oracle.expect import PAGE, Candidate, Expectation
from harness.oracle.records import A64Trap

EC_UNKNOWN, EC_WFX, EC_HVC64, EC_SMC64, EC_SYS64 = 0x00, 0x01, 0x16, 0x17, 0x18
EC_IABT_LOWER, EC_DABT_LOWER = 0x20, 0x24
SYSREG_MASK = 0x3FFC1E  # ISS with Rt [9:5] and Direction [0] masked (harness.model.arch)


@dataclass(frozen=True, slots=True)
class AbortIss:
    """ISS of a Data Abort (EC 0x24) or, for the fields it has, an Instruction Abort (0x20):
    'ISS encoding for an exception from a Data Abort' / '... from an Instruction Abort'."""

    isv: bool  # [24] the fields SAS..AR are valid
    sas: int  # [23:22] access size 1 << SAS bytes
    sse: bool  # [21] the load sign-extends
    srt: int  # [20:16] the register transferred
    sf: bool  # [15] the register is 64-bit (X)
    ar: bool  # [14] acquire/release semantics
    fnv: bool  # [10] FAR is not valid
    ea: bool  # [9] external abort type
    cm: bool  # [8] a cache maintenance or address translation instruction faulted
    s1ptw: bool  # [7] stage 2 fault during a stage 1 translation table walk
    wnr: bool  # [6] the access was a write
    fsc: int  # [5:0] DFSC / IFSC

    @classmethod
    def decode(cls, iss: int) -> AbortIss:
        return cls(isv=bool(iss >> 24 & 1), sas=iss >> 22 & 3, sse=bool(iss >> 21 & 1),
                   srt=iss >> 16 & 0x1F, sf=bool(iss >> 15 & 1), ar=bool(iss >> 14 & 1),
                   fnv=bool(iss >> 10 & 1), ea=bool(iss >> 9 & 1), cm=bool(iss >> 8 & 1),
                   s1ptw=bool(iss >> 7 & 1), wnr=bool(iss >> 6 & 1), fsc=iss & 0x3F)


def fault_kind(fsc: int) -> str:
    """The DFSC/IFSC class: 'translation' (incl. address size, the IPA is outside what stage 2
    can map), 'access-flag', 'permission', 'alignment', or 'other' (external aborts, parity,
    TLB conflict, unsupported atomic update, IMPLEMENTATION DEFINED)."""
    if fsc <= 0x07 or fsc in (0x29, 0x2B):  # 0b0000LL address size, 0b0001LL translation
        return "translation"
    if fsc <= 0x0B:  # 0b0010LL
        return "access-flag"
    if fsc <= 0x0F:  # 0b0011LL
        return "permission"
    if fsc == 0x21:  # 0b100001
        return "alignment"
    return "other"


def _addr(trap: A64Trap, iss: AbortIss, ctx: TrapContext, *, walk: bool = False
          ) -> tuple[dict[str, object], dict[str, str], int | None, int | None]:
    """(decided {'addr': IPA}, open {'addr': why}, page, page offset) of the faulting IPA.

    HPFAR_EL2.FIPA gives the IPA's page and FAR_EL2[11:0] its offset; with the guest's stage 1
    off, FAR_EL2 is the IPA. For a fault on a stage 1 walk (S1PTW) the IPA is the descriptor's,
    which FAR (the address being translated) does not give at all.
    """
    far = None if iss.fnv or trap.far is None else trap.far
    page = None if ctx.hpfar is None else ((ctx.hpfar >> 4) & ((1 << 40) - 1)) << 12
    if walk:
        why = "HPFAR_EL2 (the descriptor's page) is not logged" if page is None else \
            "the descriptor's offset in its page is in no register"
        return {}, {"addr": why}, page, None
    if far is not None and ctx.stage1_off:
        return {"addr": far}, {}, None, None
    if far is not None and page is not None:
        return {"addr": page | far % PAGE}, {}, None, None
    if far is None:
        return {}, {"addr": "ISS.FnV: FAR_EL2 is not valid"}, page, None
    return {}, {"addr": "the IPA's page is in HPFAR_EL2, which QEMU does not log"}, None, \
        far % PAGE


def _flags(iss: AbortIss, fetch: bool = False) -> int:
    if fetch:
        return MappingFlags.EXECUTE
    return MappingFlags.WRITE if iss.wnr else MappingFlags.READ


def _nested(trap: A64Trap, iss: AbortIss, ctx: TrapContext, flags: int, *,
            walk: bool = False) -> Candidate:
    addr, why, page, off = _addr(trap, iss, ctx, walk=walk)
    return Candidate("NestedPageFault", {**addr, "access_flags": flags}, why, off, page)


def _mmio(trap: A64Trap, iss: AbortIss, ctx: TrapContext) -> Candidate:
    """ISV = 1: SAS, SSE, SRT, SF and WnR are the access ('ISS encoding for an exception from a
    Data Abort'). Store data is the low 8 << SAS bits of Xt (SRT = 31 is XZR, 0)."""
    addr, why, page, off = _addr(trap, iss, ctx)
    width = AccessWidth.from_size(1 << iss.sas)
    if not iss.isv:
        why = {**why, **{f: "ISV = 0: the syndrome does not give the access; the vCPU must "
                            "decode the instruction at ELR_EL2"
                         for f in (("data",) if iss.wnr else
                                   ("reg", "reg_width", "signed_ext"))}, "width": "ISV = 0"}
        return Candidate("MmioWrite" if iss.wnr else "MmioRead", addr, why, off, page)
    if iss.wnr:
        fields: dict[str, object] = {**addr, "width": width.name}
        if iss.srt == 31:
            fields["data"] = 0
        elif iss.srt in ctx.gprs:
            fields["data"] = ctx.gprs[iss.srt] & width.mask()
        else:
            why = {**why, "data": f"needs x{iss.srt} (ISS.SRT), not in the register file"}
        return Candidate("MmioWrite", fields, why, off, page)
    fields = {**addr, "width": width.name, "reg": iss.srt,
              "reg_width": "Qword" if iss.sf else "Dword"}
    if "signed_ext" in ctx.schema.attrs("aarch64", "MmioRead"):
        fields["signed_ext"] = iss.sse
    return Candidate("MmioRead", fields, why, off, page)


def _data_abort(trap: A64Trap, iss: AbortIss, ctx: TrapContext) -> Expectation:
    rule = "ESR_EL2 ISS, Data Abort"
    kind = fault_kind(iss.fsc)
    if iss.s1ptw and kind in ("translation", "access-flag", "permission"):
        # [7] S1PTW: stage 2 refused the guest's own page-table walk. The guest's tables are
        # not device memory, so this is no MMIO access: the fault goes to the hypervisor as
        # it is. The walk reads descriptors; WnR = 1 only for a hardware update of one.
        flags = MappingFlags.READ | (MappingFlags.WRITE if iss.wnr else 0)
        return Expectation(f"{rule}, S1PTW", (_nested(trap, iss, ctx, flags, walk=True),))
    if iss.cm and kind != "other":
        # [8] CM: a cache maintenance (or AT) instruction, reported with WnR = 1 but no data
        # moved: nothing for the hypervisor to emulate as a device access.
        return Expectation(f"{rule}, CM", (Candidate("Nothing"),))
    if kind == "alignment":
        # An Alignment fault taken to EL2 comes from an unaligned access to memory that stage
        # 2 makes Device: no access of one defined width took place, so the vCPU reflects the
        # abort to the guest and reports nothing.
        return Expectation(f"{rule}, DFSC 0b100001 Alignment fault", (Candidate("Nothing"),))
    if kind == "permission":
        # Stage 2 maps the page but forbids this access: a nested page fault. A hypervisor
        # that write-protects a device page to emulate it may report the decoded access.
        cands = (_nested(trap, iss, ctx, _flags(iss)),)
        return Expectation(f"{rule}, DFSC 0b0011LL Permission fault",
                           cands + ((_mmio(trap, iss, ctx),) if iss.isv else ()))
    if kind in ("translation", "access-flag"):
        return Expectation(f"{rule}, DFSC {iss.fsc:#04x} {kind} fault",
                           (_mmio(trap, iss, ctx),))
    return Expectation(rule, outside=f"DFSC {iss.fsc:#04x} (external abort, parity, TLB "
                                     "conflict or IMPLEMENTATION DEFINED) has no exit class")


def _insn_abort(trap: A64Trap, iss: AbortIss, ctx: TrapContext) -> Expectation:
    rule = "ESR_EL2 ISS, Instruction Abort"
    kind = fault_kind(iss.fsc)
    if kind not in ("translation", "access-flag", "permission"):
        return Expectation(rule, outside=f"IFSC {iss.fsc:#04x} has no exit class")
    if iss.s1ptw:
        return Expectation(f"{rule}, S1PTW",
                           (_nested(trap, iss, ctx, MappingFlags.READ, walk=True),))
    # A fetch is no device access, so never MmioRead: the fault is handed over as it is.
    return Expectation(f"{rule}, IFSC {iss.fsc:#04x} {kind} fault",
                       (_nested(trap, iss, ctx, MappingFlags.EXECUTE),))


def _sysreg(iss: int, ctx: TrapContext) -> Expectation:
    """EC 0x18 'ISS encoding for an exception from MSR, MRS, or System instruction
    execution in AArch64 state': Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10],
    Rt [9:5], CRm [4:1], Direction [0] (1 = read)."""
    rule = "ESR_EL2 ISS, MSR/MRS (EC 0x18)"
    addr, rt = iss & SYSREG_MASK, iss >> 5 & 0x1F
    nothing = Candidate("Nothing")  # the vCPU may emulate the register itself
    if iss & 1:
        return Expectation(rule, (Candidate("SysRegRead", {"addr": addr, "reg": rt}), nothing))
    value = 0 if rt == 31 else ctx.gprs.get(rt)
    if addr == ICC_SGI1R_EL1.addr and ctx.schema.has("aarch64", "SendIPI"):
        if value is None:
            return Expectation(rule, (Candidate("SendIPI", {}, {"*": f"needs x{rt}"}),
                                      nothing))
        return Expectation(rule, (whole(sgi1r_to_ipi(value), Arch.AARCH64), nothing))
    fields: dict[str, object] = {"addr": addr}
    why = {} if value is not None else {"value": f"needs x{rt} (ISS.Rt)"}
    if value is not None:
        fields["value"] = value
    return Expectation(rule, (Candidate("SysRegWrite", fields, why), nothing))


_POWER = (Candidate("Hypercall"), Candidate("CpuUp"), Candidate("CpuDown"),
          Candidate("SystemDown"))


def expect(trap: A64Trap, ctx: TrapContext) -> Expectation:
    """The exits the contract allows for one exception taken from EL1/EL0 to EL2."""
    if trap.is_async:
        # An interrupt while the guest runs: the vCPU reports it, or handles it (exit.rs).
        return Expectation("interrupt to EL2", (Candidate("ExternalInterrupt", {}, {
            "vector": "the INTID is read from the GIC, not logged"}), Candidate("Nothing")),
            asynchronous=True)
    if trap.esr is None:
        return Expectation("ESR_EL2", outside=f"{trap.name}: QEMU logged no ESR")
    ec, iss = trap.esr >> 26 & 0x3F, trap.esr & 0x1FF_FFFF
    if ec == EC_DABT_LOWER:
        return _data_abort(trap, AbortIss.decode(iss), ctx)
    if ec == EC_IABT_LOWER:
        return _insn_abort(trap, AbortIss.decode(iss), ctx)
    if ec == EC_SYS64:
        return _sysreg(iss, ctx)
    if ec == EC_WFX:
        # 'ISS encoding for an exception from a WF* instruction': TI [1:0] = WFI, WFE, WFIT,
        # WFET. Trapped by HCR_EL2.TWI/TWE: "executed a halt instruction" (exit.rs Halt).
        return Expectation("ESR_EL2 ISS, WF* (EC 0x01)", (Candidate("Halt"),))
    if ec == EC_HVC64:
        # 'ISS encoding for an exception from HVC or SVC': imm16 [15:0]. What the call means
        # is in x0..x6 (SMCCC): the model's PSCI / hypercall rule.
        insn = (0xD400_0002 | (iss & 0xFFFF) << 5).to_bytes(4, "little")
        return via_model(Arch.AARCH64, insn, ctx, "ESR_EL2 ISS, HVC (EC 0x16); SMCCC, PSCI",
                         unknown=_POWER)
    if ec == EC_SMC64:
        # Trapped by HCR_EL2.TSC ('ISS encoding for an exception from SMC'); the preferred
        # return address is the SMC itself.
        insn = (0xD400_0003 | (iss & 0xFFFF) << 5).to_bytes(4, "little")
        return via_model(Arch.AARCH64, insn, ctx, "ESR_EL2 ISS, SMC (EC 0x17); SMCCC, PSCI",
                         unknown=(*_POWER[1:], Candidate("Nothing")))
    return Expectation(f"ESR_EL2 EC {ec:#04x}",
                       outside=f"EC {ec:#04x} ({trap.name}) is not covered by this oracle")
