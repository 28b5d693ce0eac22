"""x86_64 payload emitter: actions → 16-bit (real-mode) code for the runtime's hole.

axvisor starts x86 guests in real mode, and the scenarios (port I/O, VMMCALL/VMCALL, the 0x604
shutdown) need no other mode. 32-bit registers are reachable with operand-size prefixes; R8 and
R9 are not (no REX prefix outside 64-bit mode), so a hypercall's fifth and sixth arguments are
whatever the vCPU's reset state left there: the model is told they are 0, which is what
x86_vcpu's zero-initialised guest registers hold (an assumption stated in images/README.md).
"""

from __future__ import annotations

from harness.errors import UsageError
from harness.guests.sites import (
    EmittedAction,
    EmittedPayload,
    PayloadLayout,
    TrapSite,
    lay_out,
)
from harness.scenarios.actions import (
    Action,
    Delay,
    Hypercall,
    JumpTo,
    MmioLoad,
    MmioStore,
    PortIn,
    PortOut,
    Spin,
    SysRegRead,
    SysRegWrite,
    SystemOff,
    WaitForInterrupt,
)

CODE_BITS = 16  # the runtime and payloads run in real mode (default operand size 16)
RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9 = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
_REG32 = {RAX: "%eax", RCX: "%ecx", RDX: "%edx", RBX: "%ebx", RSI: "%esi", RDI: "%edi"}
_ACC = {1: "%al", 2: "%ax", 4: "%eax"}
_SUFFIX = {1: "b", 2: "w", 4: "l"}


def _mov(reg: int, value: int) -> str:
    if value >> 32:
        raise UsageError(f"real-mode code cannot load a 64-bit value into {_REG32[reg]}")
    return f"movl $0x{value:x}, {_REG32[reg]}"


def _segment(addr: int) -> list[str]:
    """DS:BX = `addr` (real mode reaches the first MiB plus 64 KiB)."""
    if not 0 <= addr < 0x10_0000:
        raise UsageError(f"a real-mode guest cannot address {addr:#x} (first MiB only)")
    return [f"movw $0x{addr >> 4:x}, %cx", "movw %cx, %ds", f"movw $0x{addr & 0xF:x}, %bx"]


_REG16 = {RBX: "%bx", RBP: "%bp", RSI: "%si", RDI: "%di"}


def _memory(action: MmioStore | MmioLoad) -> tuple[list[str], dict[int, int], str]:
    """Set-up lines, registers set and the memory operand reaching `action.addr`: DS =
    addr >> 4 and a 16-bit address (SDM vol. 2A table 2-1) of base, index and displacement
    that wraps to addr & 0xF (harness.scenarios.actions.ADDRESSING)."""
    if action.form != "imm" or action.extend != "lsl" or action.scaled:
        raise UsageError("x86 real-mode accesses have one form: base, index, displacement")
    if action.base is None and action.index is None and action.offset == 0:
        return _segment(action.addr), {}, "(%bx)"
    base = RBX if action.base is None else action.base
    if base not in _REG16:
        raise UsageError(f"16-bit addressing takes BX (3), BP (5), SI (6) or DI (7) as the "
                         f"base, not register {base}")
    if action.index is not None and (base not in (RBX, RBP) or action.index not in (RSI, RDI)):
        raise UsageError("16-bit addressing pairs a base BX or BP with an index SI or DI")
    if not -0x8000 <= action.offset <= 0x7FFF:
        raise UsageError(f"a 16-bit displacement is -32768..32767, not {action.offset}")
    lines = _segment(action.addr)[:2]
    at = ((action.addr & 0xF) - action.offset) & 0xFFFF
    lines.append(f"movw $0x{at:x}, {_REG16[base]}")
    regs = {base: at}
    # BP addresses the stack segment unless told otherwise: keep DS (the 3Eh prefix)
    seg = "%ds:" if base == RBP else ""
    if action.index is None:
        return lines, regs, f"{seg}{action.offset}({_REG16[base]})"
    index = action.offset & 0xFFFF
    lines.append(f"movw $0x{index:x}, {_REG16[action.index]}")
    regs[action.index] = index
    return lines, regs, f"{seg}({_REG16[base]},{_REG16[action.index]})"


MSR_NAMES = {"efer": 0xC000_0080, "tsc": 0x10, "apic_base": 0x1B, "x2apic_icr": 0x830}


def msr_index(name: str) -> int:
    """An MSR by its name in MSR_NAMES or as a number ("0xc0000080")."""
    try:
        return MSR_NAMES[name.lower()] if name.lower() in MSR_NAMES else int(name, 0)
    except ValueError:
        raise UsageError(f"unknown MSR {name!r}: a number or one of "
                         f"{', '.join(sorted(MSR_NAMES))}") from None


def _emit(action: Action, backend: str) -> tuple[list[str], dict[int, int]]:
    if isinstance(action, SysRegWrite):
        msr = msr_index(action.name)
        lo, hi = action.value & 0xFFFF_FFFF, action.value >> 32
        return [_mov(RCX, msr), _mov(RAX, lo), _mov(RDX, hi), "wrmsr"], \
            {RCX: msr, RAX: lo, RDX: hi}
    if isinstance(action, SysRegRead):
        msr = msr_index(action.name)
        return [_mov(RCX, msr), "rdmsr"], {RCX: msr}
    if isinstance(action, MmioStore | MmioLoad):
        if action.width not in _ACC:
            raise UsageError("x86 memory accesses here are 1, 2 or 4 bytes (AL, AX, EAX)")
        lines, regs, operand = _memory(action)
        op = f"mov{_SUFFIX[action.width]}"
        if isinstance(action, MmioStore):
            return [_mov(RAX, action.value), *lines, f"{op} {_ACC[action.width]}, {operand}"], \
                {RAX: action.value, **regs}
        return [*lines, f"{op} {operand}, {_ACC[action.width]}"], regs
    if isinstance(action, JumpTo):
        if not 0 <= action.addr < 0x10_0000 or action.addr & 0xF:
            raise UsageError("a real-mode far jump reaches 16-byte aligned targets below 1 MiB")
        return [f"ljmp $0x{action.addr >> 4:x}, $0x0"], {}
    if isinstance(action, PortOut):
        if action.width not in _ACC:
            raise UsageError("x86 port I/O is 1, 2 or 4 bytes wide")
        regs = {RAX: action.value, RDX: action.port}
        return [_mov(RAX, action.value), _mov(RDX, action.port),
                f"out{_SUFFIX[action.width]} {_ACC[action.width]}, %dx"], regs
    if isinstance(action, PortIn):
        if action.width not in _ACC:
            raise UsageError("x86 port I/O is 1, 2 or 4 bytes wide")
        return [_mov(RDX, action.port), f"in{_SUFFIX[action.width]} %dx, {_ACC[action.width]}"], \
            {RDX: action.port}
    if isinstance(action, Hypercall):
        a = action.args
        if a[4] or a[5]:
            raise UsageError("real-mode guests cannot set R8/R9: arguments 5 and 6 must be 0")
        regs = {RAX: action.nr, RDI: a[0], RSI: a[1], RDX: a[2], RCX: a[3], R8: 0, R9: 0}
        lines = [_mov(r, v) for r, v in regs.items() if r in _REG32]
        return [*lines, "vmmcall" if backend == "svm" else "vmcall"], regs
    if isinstance(action, WaitForInterrupt):
        return ["hlt"], {}
    if isinstance(action, SystemOff):
        return [_mov(RAX, 0x2000), _mov(RDX, 0x604), "outw %ax, %dx"], {RAX: 0x2000, RDX: 0x604}
    raise UsageError(f"action {action!r} has no x86_64 form")


_LAYOUT = PayloadLayout(directives=(".code16",), prologue=(), epilogue=("ret",),
                        spin="jmp .")


# The action types this emitter has a form for (checked when a scenario file is loaded).
ACTIONS: frozenset[type] = frozenset({SysRegWrite, SysRegRead, MmioStore, MmioLoad, JumpTo,
                                      PortOut, PortIn, Hypercall, WaitForInterrupt, SystemOff,
                                      Delay, Spin})


def emit_payload(actions: tuple[Action, ...], backend: str = "svm") -> EmittedPayload:
    def one(action: object, label: str) -> EmittedAction:
        if isinstance(action, Delay):  # no trap site
            return EmittedAction((_mov(RCX, action.loops), f"{label}_delay:", "decl %ecx",
                                  f"jnz {label}_delay"), (), {})
        lines, regs = _emit(action, backend)  # type: ignore[arg-type]
        gpa = action.addr if isinstance(action, MmioStore | MmioLoad | JumpTo) else None
        # DS back to the runtime's (0) after a memory access
        after = ("xorw %cx, %cx", "movw %cx, %ds") if isinstance(action, MmioStore | MmioLoad) \
            else ()
        return EmittedAction(tuple(lines[:-1]), (lines[-1],), regs, gpa, after=after)

    return lay_out(actions, one, lambda a: isinstance(a, Spin), _LAYOUT)


RUNTIME_SITES = (TrapSite("axh_rt_trap_system_off", ((RAX, 0x2000), (RDX, 0x604))),)
