"""riscv64 payload emitter: actions → RV64GC assembly for the runtime's hole.

Register use: s2/s3 (x18/x19) belong to the runtime (UART base, puts routine), ra and sp are
saved/kept, t6 (x31) holds MMIO addresses. Compressed loads/stores need registers x8–x15 and
are emitted with `.option rvc` around the one instruction (the rest is assembled without RVC so
that every other instruction has a fixed size).
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
    Action,
    AtomicSwap,
    AwaitConsoleInput,
    Hypercall,
    JumpTo,
    MmioLoad,
    MmioStore,
    SbiCall,
    Spin,
    StartSecondary,
    SysRegRead,
    SysRegWrite,
    SystemOff,
)

BASE_REG = 31  # t6
RESERVED = frozenset({1, 2, 3, 4, 18, 19, BASE_REG})  # ra sp gp tp s2 s3 t6
_LOAD = {(1, True): "lb", (2, True): "lh", (4, True): "lw", (8, True): "ld",
         (1, False): "lbu", (2, False): "lhu", (4, False): "lwu", (8, False): "ld"}
_STORE = {1: "sb", 2: "sh", 4: "sw", 8: "sd"}
EID_HVC = 0x485643  # the axvisor hypercall extension ("HVC")
EID_SRST = 0x53525354
EID_LEGACY_SHUTDOWN = 8
EID_HSM = 0x48534D
HSM_HART_START, HSM_HART_STOP = 0, 1


def li(reg: int, value: int) -> list[str]:
    return [f"li x{reg}, 0x{value & ((1 << 64) - 1):x}"]


def _check(reg: int, *, allow_zero: bool) -> None:
    if reg in RESERVED or not (0 <= reg <= 31) or (reg == 0 and not allow_zero):
        raise UsageError(f"riscv64 register x{reg} is not available to scenarios "
                         f"(reserved: {sorted(RESERVED)})")


def _compressed(op: str, reg: int) -> str:
    if not 8 <= reg <= 15:
        raise UsageError(f"compressed {op} needs a register in x8..x15, got x{reg}")
    return f"c.{op}"


def _address(action: MmioStore | MmioLoad, is_store: bool
             ) -> tuple[list[str], dict[int, int], str]:
    """Set-up lines, the registers they set and the `offset(base)` operand of a load or store
    that reaches `action.addr` (harness.scenarios.actions.ADDRESSING)."""
    if action.index is not None or action.extend != "lsl" or action.scaled:
        raise UsageError("riscv64 loads and stores have no register offset (`index`)")
    base = BASE_REG if action.base is None else action.base
    if base in RESERVED - {BASE_REG} or not 1 <= base <= 31:
        raise UsageError(f"riscv64 base register x{base} is not available to scenarios "
                         f"(reserved: {sorted(RESERVED - {BASE_REG})}, and x0)")
    if is_store and base == action.reg:
        raise UsageError(f"x{base} cannot be both the base and the data register of a store")
    offset = action.offset
    at = (action.addr - offset) & ((1 << 64) - 1)
    lines, regs = li(base, at), {base: at}
    if action.form == "compressed":
        # c.lw/c.sw: a 5-bit unsigned offset in units of the width (RVC quadrant 0)
        if offset < 0 or offset % action.width or offset // action.width > 31:
            raise UsageError(f"a compressed {action.width}-byte access reaches offsets "
                             f"0..{31 * action.width} in steps of {action.width}, not {offset}")
        if action.base is None:  # the base must be in x8..x15 too: copy t6 there
            if is_store and action.reg == 8:
                raise UsageError("a compressed store without `base` uses x8 as its base: "
                                 "store from another register")
            lines.append("mv x8, x31")
            regs[8], base = at, 8
        elif not 8 <= base <= 15:
            raise UsageError(f"a compressed access needs its base in x8..x15, got x{base}")
    elif action.form != "imm":
        raise UsageError(f"unknown riscv64 addressing form {action.form!r}")
    elif not -2048 <= offset <= 2047:
        raise UsageError(f"riscv64 loads and stores reach offsets -2048..2047, not {offset}")
    return lines, regs, f"{offset}(x{base})"


def _emit(action: Action) -> tuple[list[str], dict[int, int], int | None]:
    if isinstance(action, MmioStore):
        _check(action.reg, allow_zero=True)
        if action.reg == 0 and action.value != 0:
            raise UsageError("a store from x0 stores 0")
        if action.width not in _STORE:
            raise UsageError(f"no riscv64 store of {action.width} bytes")
        lines, regs, operand = _address(action, is_store=True)
        if action.form == "compressed":
            if action.width not in (4, 8):
                raise UsageError("RVC has only 32- and 64-bit stores")
            op = _compressed("sw" if action.width == 4 else "sd", action.reg)
        else:
            op = _STORE[action.width]
        if action.reg != 0:
            # the data register after the base: `mv x8, x31` must not copy it (a store's
            # data register is never its base)
            at = 1 if action.base is None and action.form == "compressed" else len(lines)
            lines[at:at] = li(action.reg, action.value)
            regs[action.reg] = action.value
        lines.append(f"{op} x{action.reg}, {operand}")
        return lines, regs, action.addr
    if isinstance(action, MmioLoad):
        _check(action.reg, allow_zero=False)
        if action.width not in _STORE:
            raise UsageError(f"no riscv64 load of {action.width} bytes")
        lines, regs, operand = _address(action, is_store=False)
        if action.form == "compressed":
            if action.width not in (4, 8) or (not action.signed and action.width == 4):
                raise UsageError("RVC has only c.lw (signed 32-bit) and c.ld")
            op = _compressed("lw" if action.width == 4 else "ld", action.reg)
        else:
            op = _LOAD[(action.width, action.signed)]
        lines.append(f"{op} x{action.reg}, {operand}")
        return lines, regs, action.addr
    if isinstance(action, AtomicSwap):
        _check(action.reg, allow_zero=True)
        _check(action.rd, allow_zero=True)
        if action.width not in (4, 8):
            raise UsageError("AMOs are 32- or 64-bit")
        lines, regs = li(BASE_REG, action.addr), {BASE_REG: action.addr}
        lines += li(action.reg, action.value)
        regs[action.reg] = action.value
        suffix = "w" if action.width == 4 else "d"
        lines.append(f"amoswap.{suffix} x{action.rd}, x{action.reg}, (x{BASE_REG})")
        return lines, regs, action.addr
    if isinstance(action, JumpTo):
        return [*li(BASE_REG, action.addr), f"jalr x0, 0(x{BASE_REG})"], \
            {BASE_REG: action.addr}, action.addr
    if isinstance(action, SysRegRead):  # a CSR by its assembler name
        _check(action.reg, allow_zero=False)
        return [f"csrr x{action.reg}, {action.name}"], {}, None
    if isinstance(action, SysRegWrite):
        _check(action.reg, allow_zero=False)
        return [*li(action.reg, action.value), f"csrw {action.name}, x{action.reg}"], \
            {action.reg: action.value}, None
    if isinstance(action, Hypercall):
        regs = {17: EID_HVC, 16: action.nr}
        regs.update({10 + i: a for i, a in enumerate(action.args)})
        lines = [ln for r, v in sorted(regs.items()) for ln in li(r, v)]
        return [*lines, "ecall"], regs, None
    if isinstance(action, SbiCall):
        regs = {17: action.eid, 16: action.fid}
        regs.update({10 + i: a for i, a in enumerate(action.args)})
        lines = [ln for r, v in sorted(regs.items()) for ln in li(r, v)]
        return [*lines, "ecall"], regs, None
    if isinstance(action, SystemOff):
        if action.conduit == "legacy":
            regs = {17: EID_LEGACY_SHUTDOWN}
        else:
            regs = {17: EID_SRST, 16: 0, 10: 0, 11: 0}
        lines = [ln for r, v in sorted(regs.items()) for ln in li(r, v)]
        return [*lines, "ecall"], regs, None
    raise UsageError(f"action {action!r} has no riscv64 form")


_LAYOUT = PayloadLayout(directives=(".option norvc",),
                        prologue=("addi sp, sp, -16", "sd ra, 8(sp)"),
                        epilogue=("ld ra, 8(sp)", "addi sp, sp, 16", "ret"), spin="j .")


def _start_secondary(action: StartSecondary, label: str) -> EmittedAction:
    """HART_START on this hart and a wait for the flag; the started hart's block is detached."""
    if action.width not in _STORE:
        raise UsageError(f"no riscv64 store of {action.width} bytes")
    entry, flag = f"{label}_hart{action.cpu}", f"{label}_done"
    regs = {17: EID_HSM, 16: HSM_HART_START, 10: action.cpu, 12: action.arg}
    setup = [*li(17, EID_HSM), *li(16, HSM_HART_START), *li(10, action.cpu),
             f"la x11, {entry}", *li(12, action.arg)]
    wait = [f"la x5, {flag}", f"{label}_wait:", "lw x6, 0(x5)", f"beqz x6, {label}_wait",
            *li(6, action.settle_loops), f"{label}_settle:", "addi x6, x6, -1",
            f"bnez x6, {label}_settle"]
    # The started hart enters with a0 = hartid, a1 = opaque (SBI HSM §9.1): store a1 as it came.
    report = EmittedAction(tuple(li(BASE_REG, action.report_arg_to)),
                           (f"{_STORE[action.width]} x11, 0(x{BASE_REG})",),
                           {BASE_REG: action.report_arg_to, 10: action.cpu, 11: action.arg},
                           action.report_arg_to)
    inner = [_emit_one(a, f"{entry}_a{j}") for j, a in enumerate(action.actions)]
    stop_regs = {17: EID_HSM, 16: HSM_HART_STOP}
    off = EmittedAction((f"la x5, {flag}", "li x6, 1", "sw x6, 0(x5)",
                         *[ln for r, v in sorted(stop_regs.items()) for ln in li(r, v)]),
                        ("ecall",), stop_regs, after=("j .",))
    lines, sites = detached_block(entry, [report, *inner, off], vcpu=action.cpu)
    data = (".balign 8", f"{flag}:", ".quad 0")
    return EmittedAction(tuple(setup), ("ecall",), regs, symbolic=((11, entry),),
                         after=tuple(wait), detached=(*lines, *data), detached_sites=sites)


WAIT_INPUT_MARKER = "AXH:WAIT-INPUT"


def _await_console_input(action: AwaitConsoleInput, label: str) -> EmittedAction:
    """IER.ERBFI on, the marker through the runtime's puts (s3; a0 = string), a bounded poll
    of LSR.DR, the byte read from RBR, IER off (ns16550 registers at s2)."""
    lines = ("li t2, 1", "sb t2, 1(s2)", f"la a0, {label}_msg", "jalr ra, s3",
             *li(7, action.polls), f"{label}_poll:", "lbu t1, 5(s2)", "andi t1, t1, 1",
             f"bnez t1, {label}_got", "addi t2, t2, -1", f"bnez t2, {label}_poll",
             f"{label}_got:", "lbu t1, 0(s2)", "sb zero, 1(s2)")
    return EmittedAction(lines, (), {},
                         detached=(f"{label}_msg:", f'.asciz "{WAIT_INPUT_MARKER}\\n"',
                                   ".balign 4"))


def _emit_one(action: object, label: str) -> EmittedAction:
    if isinstance(action, AwaitConsoleInput):
        return _await_console_input(action, label)
    if isinstance(action, StartSecondary):
        if any(isinstance(a, StartSecondary | Spin) for a in action.actions):
            raise UsageError("a started hart cannot start another or spin")
        return _start_secondary(action, label)
    lines, regs, gpa = _emit(action)  # type: ignore[arg-type]
    trap = lines[-1]
    wrapped = (".option push", ".option rvc", trap, ".option pop") if trap.startswith("c.") \
        else (trap,)
    return EmittedAction(tuple(lines[:-1]), wrapped, regs, gpa)


# The action types this emitter has a form for (checked when a scenario file is loaded).
ACTIONS: frozenset[type] = frozenset({MmioStore, MmioLoad, AtomicSwap, JumpTo, SysRegRead,
                                      SysRegWrite, Hypercall, SbiCall, SystemOff,
                                      AwaitConsoleInput, StartSecondary, Spin})


def emit_payload(actions: tuple[Action, ...]) -> EmittedPayload:
    return lay_out(actions, _emit_one, lambda a: isinstance(a, Spin), _LAYOUT)


RUNTIME_SITES = (TrapSite("axh_rt_trap_system_off", ((10, 0), (11, 0), (16, 0), (17, EID_SRST))),)
