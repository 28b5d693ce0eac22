"""RISC-V: scause and stval (plus htval/htinst when known) of a trap from V=1 to HS-mode, to the
exits the contract allows.

References: RISC-V Privileged Architecture 20211203, chapter 8 "Hypervisor Extension": §8.2.1
hstatus (VTSR, VTW, VTVM), §8.2.2 hedeleg, §8.2 htval and htinst, §8.6.1 trap cause codes
and the list of virtual-instruction conditions, §8.6.3 transformed instructions in htinst;
§4.1 stval (the faulting instruction's bits for illegal/virtual instruction exceptions,
which QEMU writes).
"""

from __future__ import annotations

from harness.model.arch import Arch
from harness.model.values import AccessWidth, MappingFlags
from harness.oracle.context import TrapContext, via_model
from harness.oracle.expect import PAGE, Candidate, Expectation
from harness.oracle.records import RvTrap

VS_ECALL, INSN_GPF, LOAD_GPF, VIRTUAL_INSN, STORE_GPF = 10, 20, 21, 22, 23
S_SOFT, S_TIMER, S_EXT, SGEI = 1, 5, 9, 12
VS_INTERRUPTS = frozenset({2, 6, 10})  # VSSIP, VSTIP, VSEIP: the guest's own (hideleg)
# MSIP, MTIP, MEIP: taken to M-mode, never delegated (Privileged §3.1.8, mideleg)
M_INTERRUPTS = frozenset({3, 7, 11})

WFI, SRET = 0x1050_0073, 0x1020_0073
SATP = 0x180
_ECALL = (0x0000_0073).to_bytes(4, "little")

_LOAD_WIDTH = {0: ("Byte", True), 1: ("Word", True), 2: ("Dword", True), 3: ("Qword", True),
               4: ("Byte", False), 5: ("Word", False), 6: ("Dword", False)}



def _signed_ext(ctx: TrapContext) -> bool:
    return "signed_ext" in ctx.schema.attrs("riscv64", "MmioRead")

def _gpa(trap: RvTrap, ctx: TrapContext) -> tuple[dict[str, object], dict[str, str],
                                                  int | None]:
    """({'addr': GPA} or {}, open fields, page offset). htval holds GPA >> 2 (§8.2, htval) and stval
    the faulting guest-virtual address, whose low two bits complete it; with VS-stage
    translation off the guest-virtual address is the GPA. QEMU logs stval only."""
    if ctx.htval is not None:
        return {"addr": ctx.htval << 2 | trap.tval & 3}, {}, None
    if ctx.stage1_off:
        return {"addr": trap.tval}, {}, None
    return {}, {"addr": "htval (GPA >> 2) is not logged; stval is guest-virtual"}, \
        trap.tval % PAGE


def _no_htinst(ctx: TrapContext, what: str) -> str:
    """Why the access is unknown: QEMU's log lacks htinst, or the hart wrote there no
    transformed load/store (0 or a pseudoinstruction, which §8.6.3 allows)."""
    if ctx.htinst is None:
        return f"htinst ({what}) is not logged"
    return f"htinst {ctx.htinst:#x} is no transformed load/store ({what})"


def _transformed(htinst: int) -> tuple[str, int, int] | None:
    """(opcode kind, funct3, rd or rs2) of a transformed load/store/AMO in htinst (§8.6.3), or
    None for zero / a pseudoinstruction (bit 0 clear: an implicit access of a VS-stage walk).
    Bit 1 tells the trapping instruction's size (0: a compressed one, given in its 32-bit
    form), so the opcode is read with bit 1 set."""
    if htinst == 0 or htinst & 1 == 0:
        return None
    opcode, funct3 = htinst & 0x7F | 0x2, htinst >> 12 & 7
    if opcode == 0x03:
        return "load", funct3, htinst >> 7 & 0x1F
    if opcode == 0x23:
        return "store", funct3, htinst >> 20 & 0x1F
    if opcode == 0x2F:
        return "amo", funct3, 0
    return None


def _load(trap: RvTrap, ctx: TrapContext) -> Expectation:
    rule = "Privileged §8.6.1, load guest-page fault (scause 21)"
    addr, why, off = _gpa(trap, ctx)
    # Every RV64 load writes all 64 bits of rd, whatever it loads.
    fields: dict[str, object] = {**addr, "reg_width": "Qword"}
    t = _transformed(ctx.htinst) if ctx.htinst is not None else None
    if t is not None and t[0] == "load" and t[1] in _LOAD_WIDTH:
        width, signed = _LOAD_WIDTH[t[1]]
        fields |= {"width": width, "reg": t[2]}
        if _signed_ext(ctx):
            fields["signed_ext"] = signed
    else:
        opened = ("width", "reg") + (("signed_ext",) if _signed_ext(ctx) else ())
        why |= {f: _no_htinst(ctx, "the transformed load") for f in opened}
    return Expectation(rule, (Candidate("MmioRead", fields, why, off),))


def _store(trap: RvTrap, ctx: TrapContext) -> Expectation:
    """A store/AMO guest-page fault: a store is one MmioWrite; an AMO (or SC) reads and writes in
    one step, so the vCPU hands it over as NestedPageFault READ|WRITE. Only htinst tells which."""
    rule = "Privileged §8.6.1, store/AMO guest-page fault (scause 23)"
    addr, why, off = _gpa(trap, ctx)
    amo = Candidate("NestedPageFault",
                    {**addr, "access_flags": MappingFlags.READ | MappingFlags.WRITE}, why, off)
    t = _transformed(ctx.htinst) if ctx.htinst is not None else None
    if t is not None and t[0] == "amo":
        return Expectation(rule, (amo,))
    if t is not None and t[0] == "store" and t[1] <= 3:
        width = AccessWidth.from_size(1 << t[1])
        fields: dict[str, object] = {**addr, "width": width.name}
        if t[2] == 0 or t[2] in ctx.gprs:
            fields["data"] = (ctx.gprs[t[2]] if t[2] else 0) & width.mask()
        else:
            why = {**why, "data": f"needs x{t[2]} (rs2 of the transformed store)"}
        return Expectation(rule, (Candidate("MmioWrite", fields, why, off),))
    open_store = {**why, "width": _no_htinst(ctx, "the transformed store"),
                  "data": _no_htinst(ctx, "the transformed store")}
    return Expectation(rule, (Candidate("MmioWrite", addr, open_store, off), amo))


def _csr(insn: int, ctx: TrapContext) -> Expectation:
    """A CSR instruction in stval (Zicsr: csr [31:20], rs1/uimm [19:15], funct3 [14:12], rd
    [11:7]). VS-mode reaches HS this way for satp under hstatus.VTVM, for hypervisor and VS
    CSRs, and for counters hcounteren hides (§8.6.1). Only a pure read or a pure write has one
    exit; the vCPU may also emulate the register itself (Nothing)."""
    rule = "Privileged §8.6.1 virtual instruction: CSR access" + \
        (" (satp under hstatus.VTVM, §8.2.1)" if insn >> 20 == SATP else "")
    csr, src, funct3, rd = insn >> 20, insn >> 15 & 0x1F, insn >> 12 & 7, insn >> 7 & 0x1F
    nothing = Candidate("Nothing")
    if funct3 in (2, 3, 6, 7) and src == 0:  # csrrs/csrrc(i) with x0 / uimm 0: read only
        return Expectation(rule, (Candidate("SysRegRead", {"addr": csr, "reg": rd}), nothing))
    if funct3 in (1, 5) and rd == 0:  # csrrw(i) with rd = x0: write only
        value = src if funct3 == 5 else (0 if src == 0 else ctx.gprs.get(src))
        if value is None:
            return Expectation(rule, (Candidate("SysRegWrite", {"addr": csr},
                                                {"value": f"needs x{src}"}), nothing))
        return Expectation(rule, (Candidate("SysRegWrite", {"addr": csr, "value": value}),
                                  nothing))
    if funct3 in (1, 2, 3, 5, 6, 7):
        return Expectation(rule, outside=f"CSR {csr:#x}: a read-modify-write has no single "
                                         "exit variant")
    return Expectation(rule, outside=f"stval {insn:#x} is no CSR instruction")


def _virtual_instruction(trap: RvTrap, ctx: TrapContext) -> Expectation:
    """scause 22. stval holds the instruction (QEMU writes it; the spec allows 0)."""
    insn = trap.tval
    if insn == 0:
        return Expectation("Privileged §8.6.1 virtual instruction (stval = 0)", tuple(
            Candidate(v, {}, {"*": "stval = 0: the instruction is unknown"})
            for v in ("Halt", "Nothing", "SysRegRead", "SysRegWrite")))
    if insn == WFI:
        # hstatus.VTW = 1: WFI in VS-mode that does not complete at once (§8.2.1): the guest
        # idles, "executed a halt instruction" (exit.rs Halt).
        return Expectation("Privileged §8.2.1 hstatus.VTW: WFI", (Candidate("Halt"),))
    if insn == SRET:
        # hstatus.VTSR = 1: the vCPU emulates the guest's SRET (vsstatus, vsepc) itself.
        return Expectation("Privileged §8.2.1 hstatus.VTSR: SRET", (Candidate("Nothing"),))
    opcode, funct3, funct7 = insn & 0x7F, insn >> 12 & 7, insn >> 25
    if opcode == 0x73 and funct3 == 0 and funct7 in (0b0001001, 0b0001011):
        # hstatus.VTVM = 1: SFENCE.VMA / SINVAL.VMA; the vCPU performs the fence (HFENCE.VVMA).
        return Expectation("Privileged §8.2.1 hstatus.VTVM: SFENCE.VMA/SINVAL.VMA",
                           (Candidate("Nothing"),))
    if opcode == 0x73 and (funct3 == 4 or (funct3 == 0 and funct7 in (0b0010001, 0b0110001))):
        # HLV/HLVX/HSV, HFENCE.VVMA/GVMA in VS-mode (§8.6.1): no nested virtualization here;
        # the vCPU reflects an illegal instruction to the guest.
        return Expectation("Privileged §8.6.1 virtual instruction: hypervisor instruction",
                           (Candidate("Nothing"),))
    if opcode == 0x73 and funct3 != 0:
        return _csr(insn, ctx)
    return Expectation("Privileged §8.6.1 virtual instruction",
                       outside=f"stval {insn:#x}: no rule for this instruction")


def expect(trap: RvTrap, ctx: TrapContext) -> Expectation:
    """The exits the contract allows for one trap from V=1 taken to HS-mode."""
    if trap.is_async:
        if trap.cause in VS_INTERRUPTS:
            return Expectation("Privileged §8.2.2 hideleg", asynchronous=True,
                               outside="a VS-level interrupt goes to the guest (hideleg)")
        return Expectation("interrupt to HS-mode", (Candidate("ExternalInterrupt", {}, {
            "vector": "the contract does not fix the encoding"}), Candidate("Nothing")),
            asynchronous=True)
    if trap.cause == VS_ECALL:
        # An SBI call: what it is, is in a7/a6/a0..a5 (SBI spec v2.0 §3): the model's rule.
        return via_model(Arch.RISCV64, _ECALL, ctx, "Privileged §8.6.1 VS ecall (10); SBI",
                         unknown=(Candidate("Hypercall"), Candidate("CpuUp"),
                                  Candidate("CpuDown"), Candidate("SystemDown"),
                                  Candidate("Halt"), Candidate("Nothing")))
    if trap.cause == INSN_GPF:
        addr, why, off = _gpa(trap, ctx)
        return Expectation("Privileged §8.6.1, instruction guest-page fault (scause 20)", (
            Candidate("NestedPageFault", {**addr, "access_flags": MappingFlags.EXECUTE},
                      why, off),))
    if trap.cause == LOAD_GPF:
        return _load(trap, ctx)
    if trap.cause == STORE_GPF:
        return _store(trap, ctx)
    if trap.cause == VIRTUAL_INSN:
        return _virtual_instruction(trap, ctx)
    return Expectation(f"scause {trap.cause}",
                       outside=f"scause {trap.cause} ({trap.desc}) is not a trap from V=1 "
                               "this oracle covers")
