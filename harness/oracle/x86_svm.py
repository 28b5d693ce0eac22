"""x86-64 SVM: #VMEXIT EXITCODE / EXITINFO1 / EXITINFO2 to the exits the contract allows.

References: AMD64 APM vol. 2 (24593), §15.10.2 "IN and OUT Behavior" (the IOIO EXITINFO1
layout), §15.11 MSR intercepts, §15.25.6 "Nested versus Guest Page Faults, Fault Ordering"
(NPF EXITINFO1 = a #PF error code plus bits 32/33, EXITINFO2 = the faulting GPA), Appendix C
"SVM Intercept Exit Codes".
"""

from __future__ import annotations

from harness.model.arch import Arch
from harness.model.values import AccessWidth, MappingFlags
from harness.oracle.context import TrapContext, via_model
from harness.oracle.expect import Candidate, Expectation
from harness.oracle.records import SvmExit

RAX, RCX, RDX = 0, 1, 2
EXIT_INTR, EXIT_NMI = 0x60, 0x61
EXIT_CPUID, EXIT_HLT, EXIT_IOIO, EXIT_MSR = 0x72, 0x78, 0x7B, 0x7C
EXIT_VMMCALL, EXIT_NPF = 0x81, 0x400
EXIT_INVALID = (0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF)  # -1; QEMU 10.0 logs it as 32 bits

# OUT DX, AL/AX/EAX by width: the instruction an OUT's IOIO syndrome describes.
_OUT_INSN = {1: b"\xee", 2: b"\x66\xef", 4: b"\xef"}


def _ioio(trap: SvmExit, ctx: TrapContext) -> Expectation:
    """EXITINFO1: TYPE [0] (1 = IN), STR [2], REP [3], SZ8/SZ16/SZ32 [6:4], PORT [31:16].
    The data of an OUT is in rAX, which the exit does not carry: the register rule is the
    model's (incl. the ACPI power-off pattern), fed the port from EXITINFO1."""
    rule = "APM vol. 2 §15.10.2, IOIO intercept (0x7B)"
    info = trap.exitinfo1
    is_in, port = bool(info & 1), info >> 16 & 0xFFFF
    size = {1: 1, 2: 2, 4: 4}.get(info >> 4 & 7)
    if size is None:
        return Expectation(rule, outside=f"EXITINFO1 {info:#x}: no single size bit set")
    if info >> 2 & 1:
        return Expectation(rule, outside="INS/OUTS move memory; IoRead/IoWrite carry rAX only")
    width = AccessWidth.from_size(size).name
    if is_in:
        return Expectation(rule, (Candidate("IoRead", {"port": port, "width": width}),))
    return via_model(Arch.X86_64, _OUT_INSN[size], ctx, rule, backend="svm",
                     gprs={**ctx.gprs, RDX: port},
                     unknown=(Candidate("IoWrite", {"port": port, "width": width},
                                        {"data": "needs rAX"}), Candidate("SystemDown")))


def _npf(trap: SvmExit) -> Expectation:
    """EXITINFO1 bits: P [0], RW [1], US [2], RSV [3], ID [4] (instruction fetch); [32] the
    fault was on the final GPA, [33] on a guest page-table walk. EXITINFO2 is the GPA. The
    exit carries no decoded access, so the vCPU hands the fault over as it is."""
    info = trap.exitinfo1
    if info >> 4 & 1:
        flags = MappingFlags.EXECUTE
    elif info >> 33 & 1:
        flags = MappingFlags.READ | (MappingFlags.WRITE if info >> 1 & 1 else 0)
    else:
        flags = MappingFlags.WRITE if info >> 1 & 1 else MappingFlags.READ
    return Expectation("APM vol. 2 §15.25.6, nested page fault (0x400)", (Candidate(
        "NestedPageFault", {"addr": trap.exitinfo2, "access_flags": flags}),))


def expect(trap: SvmExit, ctx: TrapContext) -> Expectation:
    """The exits the contract allows for one #VMEXIT."""
    code = trap.exitcode
    if trap.is_async:
        return Expectation("APM vol. 2 App. C, physical interrupt intercepts (0x60-0x64)", (
            Candidate("ExternalInterrupt", {}, {"vector": "read from the APIC, not logged"}),
            Candidate("Nothing")), asynchronous=True)
    if code == EXIT_IOIO:
        return _ioio(trap, ctx)
    if code == EXIT_NPF:
        return _npf(trap)
    if code == EXIT_HLT:
        return Expectation("APM vol. 2 App. C, HLT intercept (0x78)", (Candidate("Halt"),))
    if code == EXIT_VMMCALL:
        return via_model(Arch.X86_64, b"\x0f\x01\xd9", ctx,
                         "APM vol. 2 App. C, VMMCALL intercept (0x81)", backend="svm",
                         unknown=(Candidate("Hypercall"),))
    if code == EXIT_MSR:
        # EXITINFO1 = 0 for RDMSR, 1 for WRMSR (§15.11); the MSR index is ECX.
        insn = b"\x0f\x30" if trap.exitinfo1 & 1 else b"\x0f\x32"
        return via_model(Arch.X86_64, insn, ctx, "APM vol. 2 §15.11, MSR intercept (0x7C)",
                         backend="svm", unknown=(Candidate("SysRegRead"),
                                                 Candidate("SysRegWrite"), Candidate("Nothing"),
                                                 Candidate("SendIPI"), Candidate("CpuUp")))
    if code == EXIT_CPUID:
        return Expectation("APM vol. 2 App. C, CPUID intercept (0x72)", (Candidate("Nothing"),))
    if code in EXIT_INVALID:
        return Expectation("APM vol. 2 §15.5.1, VMRUN consistency checks (VMEXIT_INVALID)", (
            Candidate("FailEntry", {}, {"hardware_entry_failure_reason": "not fixed by SVM"}),))
    return Expectation(f"APM vol. 2 App. C, exit code {code:#x}",
                       outside=f"exit code {code:#x} is not covered by this oracle")
