"""Seeded program generators: (arch, seed, size) → a Scenario of random but *surviving* actions.

A program must run to its end on today's axvisor unless axvisor is wrong, so every action
targets something the image emulates without side effects:

* aarch64: the vGIC distributor window 0x0800_0e00–0x0800_0eff (arm_vgic 0.2.1 `handle_read32`/
  `handle_write32`: no register there, reads return 0, writes are dropped, any width);
* riscv64: vPLIC pending words past the last source, 0x0c00_1f00–0x0c00_1fff (riscv_vplic 0.4.12:
  `reg_index >= PLIC_PENDING_WORDS` is ignored), 32-bit only — the device asserts `Dword`, so a
  1/2/8-byte access can only be the last action, with the scenario expecting that panic;
* hypercall numbers whose low 32 bits are no axhvc `HyperCallCode` (axvisor runs those, e.g.
  0 = HypervisorDisable), none whose low 32 bits are in the PSCI function-id ranges (arm_vcpu
  turns those into CpuUp/CpuDown/SystemDown; axvm 0.8 decodes `nr as u32`, so on the current
  line a PSCI id in the low half powers the VM off on any architecture: axvm 0.8.5
  src/runtime/hvc.rs:199-200), and none that is a marker hypercall of the current line's guest
  runtime (the comparison sets those aside as the runtime's).
* On the current line (axvisor 0.8, `for_line`) a program ending in a vPLIC access of a width
  it refuses ends with the VM error the vPLIC returns there, not with a panic.
* x86_64 (SVM image): the real-mode runtime can reach only 32-bit registers, so programs are
  hypercalls with four random 32-bit arguments (R8/R9 stay 0); optionally ending in an
  intercepted port access (0x604/0x605, never the shutdown pattern), whose exit is logged
  before axvisor panics for want of a port device.

Only `random.Random(seed)` is used, so a program is a pure function of (arch, seed, size).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from harness.errors import UsageError
from harness.guests import emit_aarch64, emit_riscv64
from harness.scenarios import aarch64 as sc_aarch64
from harness.scenarios import riscv64 as sc_riscv64
from harness.scenarios import x86_64 as sc_x86_64
from harness.scenarios.actions import (
    U64,
    Action,
    Hypercall,
    MmioLoad,
    MmioStore,
    PortIn,
    PortOut,
    SbiCall,
)
from harness.scenarios.catalogue import Scenario

WINDOW = 0x100  # bytes of MMIO window from each architecture's DEV (see module docstring)
MAX_SIZE = 200  # the 64 KiB payload hole holds 256 of the largest action (riscv64 hypercall)
HYPERCALL_CODES = 0x100  # low-32-bit hypercall numbers axvisor may act on (axhvc codes 0–6)
PSCI_RANGES = ((0x8400_0000, 0x8400_001F), (0xC400_0000, 0xC400_001F))
RUNTIME_MARKERS = (0x4158_4801, 0x4158_4802)  # guest-src/*/runtime-axvm08.S

A64_DATA_REGS = tuple(r for r in range(31) if r not in emit_aarch64.RESERVED)
RV_DATA_REGS = tuple(r for r in range(1, 32) if r not in emit_riscv64.RESERVED)
# c.sw/c.lw need x8–x15; the emitter puts the base address in x8, so x8 cannot be a store source.
RV_RVC_STORE_REGS = tuple(r for r in range(9, 16) if r not in emit_riscv64.RESERVED)
RV_RVC_LOAD_REGS = tuple(r for r in range(8, 16) if r not in emit_riscv64.RESERVED)

# Values where truncation, sign- and zero-extension show.
_EDGE_VALUES = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000,
                0xFFFF_FFFF, 0x1_0000_0000, 0x8000_0000_0000_0000, U64, 0x1122_3344_5566_7788)
_PRINTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _value(rng: random.Random) -> int:
    return rng.choice(_EDGE_VALUES) if rng.random() < 0.4 else rng.getrandbits(64)


def _hypercall_nr(rng: random.Random, avoid_psci: bool) -> int:
    while True:
        nr = rng.getrandbits(64)
        low = nr & 0xFFFF_FFFF
        if low < HYPERCALL_CODES or low in RUNTIME_MARKERS:
            continue
        if any(lo <= low <= hi for lo, hi in PSCI_RANGES):
            continue
        if avoid_psci and any(lo <= nr <= hi for lo, hi in PSCI_RANGES):
            continue
        return nr


def _hypercall(rng: random.Random, avoid_psci: bool) -> Hypercall:
    nr = _hypercall_nr(rng, avoid_psci)
    a = tuple(_value(rng) for _ in range(6))
    return Hypercall(nr, (a[0], a[1], a[2], a[3], a[4], a[5]))


def _addr(rng: random.Random, dev: int, width: int) -> int:
    return dev + rng.randrange(0, WINDOW, width)


# -- aarch64 --------------------------------------------------------------------------------------

_A64_FORMS = ("imm", "imm", "pre", "post")  # writeback forms (ISV = 0) a quarter each


def _a64_action(rng: random.Random) -> Action:
    kind = rng.choice(("store", "store", "load", "load", "hypercall"))
    if kind == "hypercall":
        return _hypercall(rng, avoid_psci=True)
    width = rng.choice((1, 2, 4, 8))
    addr = _addr(rng, sc_aarch64.DEV, width)
    form = rng.choice(_A64_FORMS)
    if kind == "store":
        if rng.random() < 0.15:
            return MmioStore(addr, width, 0, reg=31, form=form)
        return MmioStore(addr, width, _value(rng), reg=rng.choice(A64_DATA_REGS), form=form)
    signed = width < 8 and rng.random() < 0.5
    # ldrsb/ldrsh into w or x; ldrsw only into x; unsigned loads pick w/x from the width.
    reg64 = rng.random() < 0.5 if signed and width < 4 else True
    return MmioLoad(addr, width, reg=rng.choice(A64_DATA_REGS), signed=signed, reg64=reg64,
                    form=form)


def _aarch64(rng: random.Random, size: int) -> tuple[Action, ...]:
    return tuple(_a64_action(rng) for _ in range(size))


# -- riscv64 --------------------------------------------------------------------------------------

def _rv_action(rng: random.Random) -> Action:
    kind = rng.choice(("store", "store", "load", "load", "hypercall", "sbi"))
    if kind == "hypercall":
        return _hypercall(rng, avoid_psci=False)
    if kind == "sbi":  # console output forwarded to the SBI firmware
        char = ord(rng.choice(_PRINTABLE))
        if rng.random() < 0.5:
            return SbiCall(sc_riscv64.EID_DBCN, 2, (char,))
        return SbiCall(1, 0, (char,))
    addr = _addr(rng, sc_riscv64.DEV, 4)
    if kind == "store":
        if rng.random() < 0.15:
            return MmioStore(addr, 4, 0, reg=0)
        if rng.random() < 0.3:
            return MmioStore(addr, 4, _value(rng), reg=rng.choice(RV_RVC_STORE_REGS),
                             form="compressed")
        return MmioStore(addr, 4, _value(rng), reg=rng.choice(RV_DATA_REGS))
    signed = rng.random() < 0.5
    if signed and rng.random() < 0.4:
        return MmioLoad(addr, 4, reg=rng.choice(RV_RVC_LOAD_REGS), signed=True,
                        form="compressed")
    return MmioLoad(addr, 4, reg=rng.choice(RV_DATA_REGS), signed=signed)


def _rv_panic_action(rng: random.Random) -> Action:
    """A 1-, 2- or 8-byte access: logged as an exit, then the vPLIC's width assertion panics."""
    width = rng.choice((1, 2, 8))
    addr = _addr(rng, sc_riscv64.DEV, width)
    compressed = width == 8 and rng.random() < 0.3
    if rng.random() < 0.5:
        regs = RV_RVC_STORE_REGS if compressed else RV_DATA_REGS
        return MmioStore(addr, width, _value(rng), reg=rng.choice(regs),
                         form="compressed" if compressed else "imm")
    if compressed:
        return MmioLoad(addr, 8, reg=rng.choice(RV_RVC_LOAD_REGS), signed=True,
                        form="compressed")
    return MmioLoad(addr, width, reg=rng.choice(RV_DATA_REGS),
                    signed=width == 8 or rng.random() < 0.5)


# Programs ending in the vPLIC's width panic need a boot of their own (persistent mode runs
# everything else many per boot): measured with 0.2 here, 80 % of riscv64 programs could share
# a boot and persistent fuzzing gained < 5x; the panic is one known behaviour, re-checked by a
# few programs in a hundred.
RV_PANIC_ENDING = 0.03


def _riscv64(rng: random.Random, size: int) -> tuple[Action, ...]:
    actions = [_rv_action(rng) for _ in range(size)]
    if rng.random() < RV_PANIC_ENDING:
        actions[-1] = _rv_panic_action(rng)
    return tuple(actions)


def _x86_hypercall(rng: random.Random) -> Hypercall:
    """VMMCALL/VMCALL from the real-mode runtime: 32-bit registers only, R8/R9 unreachable."""
    nr = rng.randrange(HYPERCALL_CODES, 1 << 32)
    a = tuple(rng.choice((rng.randrange(1 << 32), *(v for v in _EDGE_VALUES if v < 1 << 32)))
              for _ in range(4))
    return Hypercall(nr, (a[0], a[1], a[2], a[3], 0, 0))


def _x86_panic_action(rng: random.Random) -> Action:
    """An intercepted port access other than the shutdown pattern: the exit is logged, then
    axvisor panics for want of a port device (harness/scenarios/x86_64.py)."""
    port = rng.choice((0x604, 0x605))
    width = rng.choice((1, 2, 4))
    if rng.random() < 0.5:
        return PortIn(port, width)
    value = rng.randrange(1 << (8 * width))
    if port == 0x604 and width == 2 and value == 0x2000:
        value = 0x2001
    return PortOut(port, width, value)


def _x86_64(rng: random.Random, size: int) -> tuple[Action, ...]:
    actions: list[Action] = [_x86_hypercall(rng) for _ in range(size)]
    if rng.random() < 0.3:
        actions[-1] = _x86_panic_action(rng)
    return tuple(actions)


GENERATORS: dict[str, Callable[[random.Random, int], tuple[Action, ...]]] = {
    "aarch64": _aarch64, "riscv64": _riscv64, "x86_64": _x86_64}


def expected_panic(arch: str, actions: tuple[Action, ...]) -> str:
    """The panic a program must end with, from its last action ("" when it runs to the end)."""
    if arch == "riscv64" and actions:
        last = actions[-1]
        if isinstance(last, MmioStore | MmioLoad) and last.width != 4:
            return sc_riscv64.WIDTH_PANIC
    if arch == "x86_64" and actions and isinstance(actions[-1], PortIn | PortOut):
        return sc_x86_64.NO_DEVICE
    return ""


def for_line(scenario: Scenario, current_line: bool) -> Scenario:
    """The program as it ends on an image of the current line (axvisor 0.8): the vPLIC's
    width refusal is a VM error there (riscv_vplic 0.5.2 src/devops_impl.rs:219,342)."""
    if current_line and scenario.expect_panic == sc_riscv64.WIDTH_PANIC:
        return replace(scenario, expect_panic="", expect_vm_error=sc_riscv64.WIDTH_VM_ERROR)
    return scenario


def make_scenario(arch: str, name: str, summary: str, actions: tuple[Action, ...]) -> Scenario:
    """A scenario for any action list of a generated program (subsequences included): whether
    it must end in a panic follows from its last action."""
    return Scenario(name, arch, summary, actions, expect_panic=expected_panic(arch, actions))


def generate(arch: str, seed: int, size: int) -> Scenario:
    """The program for (arch, seed, size); the same triple always gives the same program."""
    if arch not in GENERATORS:
        raise UsageError(f"no fuzz generator for {arch!r}; choose from {sorted(GENERATORS)}")
    if not 1 <= size <= MAX_SIZE:
        raise UsageError(f"program size must be 1..{MAX_SIZE} actions, got {size}")
    if seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed}")
    actions = GENERATORS[arch](random.Random(seed), size)
    return make_scenario(arch, f"fuzz-{arch}-{seed}-{size}",
                         f"random program: seed {seed}, size {size}", actions)
