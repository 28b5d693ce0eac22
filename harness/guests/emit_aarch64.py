"""aarch64 payload emitter: actions → position-independent A64 assembly for the runtime's hole.

Register use: x19/x20 belong to the runtime (UART base, puts routine), x29/x30 are saved in
the prologue, x9 holds MMIO addresses; everything else is free. Constants are built with
movz/movk so no literal pool is needed. Every trapping instruction gets a label
`axh_trap_<n>` so the payload builder can hand its real encoding to the reference model.
"""

from __future__ import annotations

from harness.errors import UsageError
from harness.guests.sites import (
    EmittedAction,
    EmittedPayload,
    PayloadLayout,
    TrapSite,
    detached_block,
    lay_out,
)
from harness.scenarios.actions import (
    U64,
    Action,
    Hypercall,
    JumpTo,
    MmioLoad,
    MmioStore,
    PsciCall,
    Spin,
    StartSecondary,
    SysRegRead,
    SysRegWrite,
    SystemOff,
    WaitForInterrupt,
)

_STORE = {1: "strb", 2: "strh", 4: "str", 8: "str"}
_LOAD = {1: "ldrb", 2: "ldrh", 4: "ldr", 8: "ldr"}
_LOAD_SIGNED = {1: "ldrsb", 2: "ldrsh", 4: "ldrsw"}
BASE_REG = 9  # address register of MMIO accesses; never a data register in scenarios
PSCI_SYSTEM_OFF = 0x8400_0008
PSCI_CPU_OFF = 0x8400_0002
PSCI_CPU_ON_64 = 0xC400_0003
RESERVED = frozenset({BASE_REG, 19, 20, 29, 30})


def mov_imm(reg: int, value: int) -> list[str]:
    """movz/movk sequence that puts a 64-bit constant in x<reg>."""
    value &= (1 << 64) - 1
    lines = [f"movz x{reg}, #0x{value & 0xffff:x}"]
    for shift in (16, 32, 48):
        part = (value >> shift) & 0xFFFF
        if part:
            lines.append(f"movk x{reg}, #0x{part:x}, lsl #{shift}")
    return lines


def _rname(reg: int, wide: bool) -> str:
    if reg == 31:
        return "xzr" if wide else "wzr"
    return f"{'x' if wide else 'w'}{reg}"


def _check_reg(reg: int, *, allow_zr: bool) -> None:
    if reg in RESERVED or not (0 <= reg <= 30 or (allow_zr and reg == 31)):
        raise UsageError(f"aarch64 register x{reg} is not available to scenarios "
                         f"(reserved: {sorted(RESERVED)})")


_EXTENDS = ("lsl", "uxtw", "sxtw", "sxtx")
_BASE_OK = frozenset(range(31)) - {19, 20, 29, 30}  # the runtime's and the frame's


def _imm_fits(offset: int, width: int, form: str) -> bool:
    """LDR/STR take a scaled unsigned 12-bit offset, LDUR/STUR and the writeback forms a
    signed 9-bit one (ARM ARM C6.2: the assembler picks LDUR for `ldr` when it must)."""
    unscaled = -256 <= offset <= 255
    if form != "imm":
        return unscaled
    return unscaled or (offset >= 0 and offset % width == 0 and offset // width <= 4095)


def _address(action: MmioStore | MmioLoad, is_store: bool
             ) -> tuple[list[str], dict[int, int], str]:
    """Set-up lines, the registers they set and the address operand of a load or store that
    reaches `action.addr` (harness.scenarios.actions.ADDRESSING)."""
    base = BASE_REG if action.base is None else action.base
    form, offset = action.form, action.offset
    if base not in _BASE_OK:
        raise UsageError(f"aarch64 base register x{base} is not available to scenarios "
                         f"(x0..x30 but {sorted(set(range(31)) - _BASE_OK)})")
    if base == action.reg and (is_store or form != "imm"):
        raise UsageError(f"x{base} cannot be both the base and the data register here")
    if action.index is None:
        if action.extend != "lsl" or action.scaled:
            raise UsageError("`extend` and `scaled` go with a register offset (`index`)")
        if form not in ("imm", "pre", "post"):
            raise UsageError(f"unknown aarch64 addressing form {form!r}")
        if not _imm_fits(offset, action.width, form):
            raise UsageError(f"aarch64 has no {form} form with offset {offset} for a "
                             f"{action.width}-byte access")
        at = action.addr if form == "post" else (action.addr - offset) & U64
        operand = {"imm": f"[x{base}]" if offset == 0 else f"[x{base}, #{offset}]",
                   "pre": f"[x{base}, #{offset}]!", "post": f"[x{base}], #{offset}"}[form]
        return mov_imm(base, at), {base: at}, operand
    return _register_offset(action, base, is_store)


def _register_offset(action: MmioStore | MmioLoad, base: int, is_store: bool
                     ) -> tuple[list[str], dict[int, int], str]:
    """[base, index{, extend {#amount}}]: the index register holds `offset` (scaled down)."""
    index, offset = action.index, action.offset
    assert index is not None
    if action.form != "imm":
        raise UsageError("a register offset has no writeback form")
    if index not in _BASE_OK or index == base or (is_store and index == action.reg):
        raise UsageError(f"x{index} cannot be the index register here (not x{base}, not the "
                         "data register, not x19/x20/x29/x30)")
    if action.extend not in _EXTENDS:
        raise UsageError(f"`extend` is one of {', '.join(_EXTENDS)}, got {action.extend!r}")
    shift = action.width.bit_length() - 1 if action.scaled else 0
    if offset % (1 << shift):
        raise UsageError(f"a scaled index reaches multiples of {1 << shift} only, not {offset}")
    value = offset >> shift
    lo, hi = {"uxtw": (0, 1 << 32), "sxtw": (-(1 << 31), 1 << 31)}.get(action.extend,
                                                                       (-(1 << 63), 1 << 64))
    if not lo <= value < hi:
        raise UsageError(f"{action.extend} cannot give an index of {value}")
    at = (action.addr - offset) & U64
    ireg = f"w{index}" if action.extend in ("uxtw", "sxtw") else f"x{index}"
    amount = f" #{shift}" if action.scaled else ""
    ext = f", {action.extend}{amount}" if action.extend != "lsl" or action.scaled else ""
    return ([*mov_imm(base, at), *mov_imm(index, value)], {base: at, index: value & U64},
            f"[x{base}, {ireg}{ext}]")


def _emit(action: Action) -> tuple[list[str], dict[int, int], int | None]:
    """(lines before the trapping instruction + the instruction, registers set, data GPA)."""
    if isinstance(action, MmioStore):
        _check_reg(action.reg, allow_zr=True)
        if action.reg == 31 and action.value != 0:
            raise UsageError("a store from the zero register stores 0")
        if action.width not in _STORE:
            raise UsageError(f"no aarch64 store of {action.width} bytes")
        lines, regs, operand = _address(action, is_store=True)
        if action.reg != 31:
            lines += mov_imm(action.reg, action.value)
            regs[action.reg] = action.value
        wide = action.width == 8
        lines.append(f"{_STORE[action.width]} {_rname(action.reg, wide)}, {operand}")
        return lines, regs, action.addr
    if isinstance(action, MmioLoad):
        _check_reg(action.reg, allow_zr=False)
        if action.width not in _LOAD:
            raise UsageError(f"no aarch64 load of {action.width} bytes")
        if action.signed:
            if action.width == 8:
                raise UsageError("aarch64 has no sign-extending 64-bit load")
            op, wide = _LOAD_SIGNED[action.width], action.reg64
        else:
            op, wide = _LOAD[action.width], action.width == 8
        lines, regs, operand = _address(action, is_store=False)
        lines.append(f"{op} {_rname(action.reg, wide)}, {operand}")
        return lines, regs, action.addr
    if isinstance(action, JumpTo):
        return [*mov_imm(BASE_REG, action.addr), f"br x{BASE_REG}"], {BASE_REG: action.addr}, \
            action.addr
    if isinstance(action, Hypercall):
        lines, regs = mov_imm(0, action.nr), {0: action.nr}
        for i, arg in enumerate(action.args, start=1):
            lines += mov_imm(i, arg)
            regs[i] = arg
        return [*lines, "hvc #0"], regs, None
    if isinstance(action, SysRegRead):
        _check_reg(action.reg, allow_zr=False)
        return [f"mrs x{action.reg}, {action.name}"], {}, None
    if isinstance(action, SysRegWrite):
        _check_reg(action.reg, allow_zr=False)
        return [*mov_imm(action.reg, action.value), f"msr {action.name}, x{action.reg}"], \
            {action.reg: action.value}, None
    if isinstance(action, PsciCall):
        if len(action.args) > 3 or action.conduit not in ("hvc", "smc"):
            raise UsageError("a PSCI call takes at most 3 arguments, through hvc or smc")
        lines, regs = mov_imm(0, action.function_id), {0: action.function_id}
        # x1..x6 all set: a call PSCI does not define is reported as Hypercall{x0; x1..x6}.
        for i, arg in enumerate((*action.args, 0, 0, 0, 0, 0, 0)[:6], start=1):
            lines += mov_imm(i, arg)
            regs[i] = arg
        return [*lines, f"{action.conduit} #0"], regs, None
    if isinstance(action, SystemOff):
        insn = "smc #0" if action.conduit == "smc" else "hvc #0"
        return [*mov_imm(0, PSCI_SYSTEM_OFF), insn], {0: PSCI_SYSTEM_OFF}, None
    raise UsageError(f"action {action!r} has no aarch64 form")


_LAYOUT = PayloadLayout(directives=(), prologue=("stp x29, x30, [sp, #-16]!",),
                        epilogue=("ldp x29, x30, [sp], #16", "ret"), spin="b .")


def _start_secondary(action: StartSecondary, label: str) -> EmittedAction:
    """CPU_ON on this vCPU, a wait for the flag; the started vCPU's block is detached."""
    if action.width not in _STORE:
        raise UsageError(f"no aarch64 store of {action.width} bytes")
    entry, flag = f"{label}_cpu{action.cpu}", f"{label}_done"
    # x4..x6 zeroed as PsciCall does: where the call is reported as Hypercall{x0; x1..x6}
    # (axvisor 0.8) every argument is then known, and compared (target, entry, context too).
    regs = {0: PSCI_CPU_ON_64, 1: action.cpu, 3: action.arg, 4: 0, 5: 0, 6: 0}
    setup = [*mov_imm(0, PSCI_CPU_ON_64), *mov_imm(1, action.cpu), f"adr x2, {entry}",
             *mov_imm(3, action.arg), *mov_imm(4, 0), *mov_imm(5, 0), *mov_imm(6, 0)]
    wait = [f"adr x10, {flag}", f"{label}_wait:", "ldr w11, [x10]", f"cbz w11, {label}_wait",
            *mov_imm(11, action.settle_loops), f"{label}_settle:", "subs x11, x11, #1",
            f"b.ne {label}_settle"]
    # On the started vCPU x0 holds the context id (DEN0022 §5.6): store it as it arrived.
    report = EmittedAction(tuple(mov_imm(BASE_REG, action.report_arg_to)),
                           (f"{_STORE[action.width]} {_rname(0, action.width == 8)}, "
                            f"[x{BASE_REG}]",),
                           {BASE_REG: action.report_arg_to, 0: action.arg}, action.report_arg_to)
    inner = [_emit_one(a, f"{entry}_a{j}") for j, a in enumerate(action.actions)]
    off = EmittedAction((f"adr x10, {flag}", "mov w11, #1", "str w11, [x10]",
                         *mov_imm(0, PSCI_CPU_OFF)), ("hvc #0",), {0: PSCI_CPU_OFF},
                        after=("b .",))
    lines, sites = detached_block(entry, [report, *inner, off], vcpu=action.cpu)
    data = (".balign 8", f"{flag}:", ".quad 0")
    return EmittedAction(tuple(setup), ("hvc #0",), regs, symbolic=((2, entry),),
                         after=tuple(wait), detached=(*lines, *data), detached_sites=sites)


def _emit_one(action: object, label: str) -> EmittedAction:
    if isinstance(action, WaitForInterrupt) and action.once:
        # One WFI as a trap site: it traps where HCR_EL2.TWI is set (ARM ARM D1.19.2 "WFI
        # wake-up events"; axvm 0.8.5 src/arch/aarch64/policy/vcpu.rs:219); where TWI is clear
        # it completes in the guest at the next wake-up event, and the model predicts no exit.
        return EmittedAction((), ("wfi",), {})
    if isinstance(action, WaitForInterrupt):
        # No trap site: WFI completes in the guest, HCR_EL2.TWI is clear (model.arch's Halt
        # reason); were it trapped, its Halt would show as an unexpected exit. Any interrupt
        # taken to EL2 ends a WFI, so loop until an IRQ is pending for the guest itself
        # (ISR_EL1.I, bit 7: with HCR_EL2.IMO set it shows the virtual IRQ). The GIC CPU
        # interface is opened first (priority mask 0xff, group 1 on; with IMO set these are
        # the virtual ICV registers and do not trap), or no IRQ would ever be signalled.
        return EmittedAction(("mov x11, #0xff", "msr icc_pmr_el1, x11", "mov x11, #1",
                              "msr icc_igrpen1_el1, x11", "isb", f"{label}_wfi:", "wfi",
                              "mrs x11, isr_el1", f"tbz x11, #7, {label}_wfi"), (), {})
    if isinstance(action, StartSecondary):
        if any(isinstance(a, StartSecondary | Spin) for a in action.actions):
            raise UsageError("a started vCPU cannot start another or spin")
        return _start_secondary(action, label)
    lines, regs, gpa = _emit(action)  # type: ignore[arg-type]
    return EmittedAction(tuple(lines[:-1]), (lines[-1],), regs, gpa)


# The action types this emitter has a form for (checked when a scenario file is loaded).
ACTIONS: frozenset[type] = frozenset({MmioStore, MmioLoad, JumpTo, Hypercall, SysRegRead,
                                      SysRegWrite, PsciCall, SystemOff, WaitForInterrupt,
                                      StartSecondary, Spin})


def emit_payload(actions: tuple[Action, ...]) -> EmittedPayload:
    return lay_out(actions, _emit_one, lambda a: isinstance(a, Spin), _LAYOUT)


# The runtime's own trapping instructions (guest-src/aarch64/runtime.S), after the payload.
RUNTIME_SITES = (TrapSite("axh_rt_trap_system_off", ((0, PSCI_SYSTEM_OFF),)),)
