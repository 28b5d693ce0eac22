"""What a guest does, declared as typed values: the input of both the guest emitters (which
turn actions into assembly) and the reference model (which turns them into expected exits).

Actions are architecture-neutral where the semantics are (an MMIO store of N bytes of a value
at a GPA, a hypercall with six arguments); `reg` names the general-purpose register the
instruction uses, in the architecture's own numbering.
"""

from __future__ import annotations

from dataclasses import dataclass

U64 = (1 << 64) - 1

ADDRESSING = """How an MMIO load or store reaches `addr` (fields `base`, `offset`, `index`,
`extend`, `scaled` of MmioStore and MmioLoad):

- `base`: the address register, in the architecture's numbering (aarch64 x0..x30, riscv64
  x1..x31, x86 real mode 3 = BX, 5 = BP, 6 = SI, 7 = DI). Unset: the emitter's own (aarch64 x9,
  riscv64 t6 = x31, x86 BX), the forms the catalogue always had.
- `offset`: how far `addr` lies from what the base register holds. Without `index` it is the
  instruction's immediate (aarch64 [base, #offset], riscv64 offset(base), x86 disp(base)); the
  emitter loads the base register with addr - offset. A post-index store or load (aarch64)
  accesses the base itself and adds `offset` afterwards.
- `index`: a register offset (aarch64 [base, index{, extend {#amount}}]; x86 (base,index) with
  base BX or BP and index SI or DI): the index register holds `offset` (shifted right by
  log2(width) when `scaled`), the base addr - offset.
- `extend` (aarch64 register offset): "lsl" (the 64-bit index), "uxtw", "sxtw" (its low 32 bits,
  zero- or sign-extended) or "sxtx"; `scaled`: the index is shifted left by log2(width).
"""


@dataclass(frozen=True, slots=True)
class MmioStore:
    """Store `width` bytes of register `reg` (holding `value`) to guest-physical `addr`.

    `reg = 31` on aarch64 / `reg = 0` on riscv64 stores the zero register (value must be 0).
    `form` is the addressing form: "imm" (no writeback), "pre", "post" (aarch64 writeback
    forms), "compressed" (riscv64 RVC forms). The addressing fields are described in
    ADDRESSING; their defaults give the emitter's own base register and no offset.
    """

    addr: int
    width: int
    value: int
    reg: int = 1
    form: str = "imm"
    base: int | None = None
    offset: int = 0
    index: int | None = None
    extend: str = "lsl"
    scaled: bool = False


@dataclass(frozen=True, slots=True)
class MmioLoad:
    """Load `width` bytes from `addr` into register `reg`.

    `signed` selects the sign-extending form (ldrs*/lb/lh/lw); `reg64` a 64-bit destination
    (aarch64 x vs w registers; always 64-bit on riscv64). Addressing as for MmioStore.
    """

    addr: int
    width: int
    reg: int = 3
    signed: bool = False
    reg64: bool = True
    form: str = "imm"
    base: int | None = None
    offset: int = 0
    index: int | None = None
    extend: str = "lsl"
    scaled: bool = False


@dataclass(frozen=True, slots=True)
class AtomicSwap:
    """riscv64: AMOSWAP of `width` (4 or 8) bytes at `addr`: register `reg` (holding `value`)
    goes to memory, the old value to `rd`. One indivisible read-and-write."""

    addr: int
    width: int
    value: int
    reg: int = 12
    rd: int = 13


@dataclass(frozen=True, slots=True)
class JumpTo:
    """Branch to guest-physical `addr` (aarch64 BR, riscv64 JR, x86 real-mode far JMP): the
    instruction fetch there is the access under test."""

    addr: int


@dataclass(frozen=True, slots=True)
class Hypercall:
    """The architecture's hypercall instruction with a call number and six arguments."""

    nr: int
    args: tuple[int, int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class SbiCall:
    """riscv64: an SBI call (ecall from VS-mode) with extension and function ids and a0..a5."""

    eid: int
    fid: int
    args: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PortOut:
    """x86: `out` of `width` bytes (1, 2, 4) of `value` to I/O port `port`."""

    port: int
    width: int
    value: int


@dataclass(frozen=True, slots=True)
class PortIn:
    """x86: `in` of `width` bytes from I/O port `port`."""

    port: int
    width: int


@dataclass(frozen=True, slots=True)
class SysRegRead:
    """Read a system register (aarch64 MRS, riscv64 CSRR, by its assembler name) into
    register `reg`."""

    name: str
    reg: int = 5


@dataclass(frozen=True, slots=True)
class SysRegWrite:
    """Write `value` (held in register `reg`) to a system register (aarch64 MSR, riscv64
    CSRW)."""

    name: str
    value: int
    reg: int = 7


@dataclass(frozen=True, slots=True)
class PsciCall:
    """aarch64: a PSCI call (DEN0022) through HVC or SMC: w0 = function id, x1..x3 = args."""

    function_id: int
    args: tuple[int, ...] = ()
    conduit: str = "hvc"


@dataclass(frozen=True, slots=True)
class StartSecondary:
    """Power on vCPU `cpu` (aarch64 PSCI CPU_ON with MPIDR `cpu`; riscv64 SBI HSM HART_START
    of hart `cpu`) at an entry point in the payload, passing `arg` (PSCI context_id, SBI
    opaque). The started vCPU first stores the argument register it received (aarch64 x0,
    riscv64 a1) to `report_arg_to` with a `width`-byte store, runs `actions`, sets a flag in
    guest memory and powers itself off (PSCI CPU_OFF, SBI HSM HART_STOP). The calling vCPU
    spins on the flag, then waits `settle_loops` more iterations so that the started vCPU has
    parked before anything it does next: axvisor 0.5.8 loses the wake-up of a vCPU that parks
    after SystemDown's notification (src/vmm/vcpus.rs:498-500 waits without a condition), and
    the VM then never stops (seen with 4 M iterations under load)."""

    cpu: int
    arg: int
    report_arg_to: int
    width: int = 8
    actions: tuple[Action, ...] = ()
    settle_loops: int = 40_000_000


@dataclass(frozen=True, slots=True)
class AwaitConsoleInput:
    """riscv64: enable the UART's receive interrupt (IER.ERBFI), print `AXH:WAIT-INPUT` (the
    harness then types the scenario's `console_input`), poll until a byte has arrived (at
    most `polls` times), read it and disable the interrupt again. The UART page is passed
    through, so none of this traps by itself."""

    polls: int = 20_000_000


@dataclass(frozen=True, slots=True)
class Delay:
    """Count `loops` down in a register without trapping: time for host interrupts to arrive
    while the guest runs."""

    loops: int


@dataclass(frozen=True, slots=True)
class WaitForInterrupt:
    """The architecture's idle instruction: x86 HLT (trapped); aarch64 WFI, which axvisor
    0.3 does not trap (HCR_EL2.TWI clear), repeated until an IRQ is pending for the guest
    (ISR_EL1.I): a guest that never gets one hangs, and the run ends in a timeout.

    `once` (aarch64): one WFI, no loop, as a trap site (axvisor 0.8 sets HCR_EL2.TWI): the
    scenario arranges its own wake-up event first (e.g. the EL1 physical timer)."""

    once: bool = False


@dataclass(frozen=True, slots=True)
class Spin:
    """Loop forever without trapping: the guest hangs silently (tests the watchdog)."""


@dataclass(frozen=True, slots=True)
class SystemOff:
    """Ask the platform firmware interface to power the system off (PSCI, SBI SRST, 0x604)."""

    conduit: str = "default"  # aarch64: "hvc" or "smc"; riscv64: "srst" or "legacy"


Action = (MmioStore | MmioLoad | AtomicSwap | JumpTo | Hypercall | SbiCall | PortOut | PortIn
          | SysRegRead | SysRegWrite | PsciCall | StartSecondary | AwaitConsoleInput | Delay
          | WaitForInterrupt | Spin | SystemOff)
