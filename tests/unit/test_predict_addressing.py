"""General addressing (any base register, immediate offsets, register offsets): the emitters'
code, assembled by the real cross binutils, decodes to the access the scenario declares, and
the model predicts the exit by hand from the manuals. The address the instruction computes
from its registers must be the declared GPA (the model refuses a trap where they differ)."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.guests import emit_aarch64, emit_riscv64, emit_x86_64
from harness.guests.binutils import assemble_with_symbols
from harness.guests.sites import EmittedPayload
from harness.model.arch import Arch
from harness.model.exits import ExitReason, MmioRead, MmioWrite, NestedPageFault
from harness.model.isa.asm import missing_tools
from harness.model.predict import GuestTrap, predict
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr, MappingFlags, ModelError
from harness.scenarios.actions import Action, MmioLoad, MmioStore

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

B, H, W, X = AccessWidth.Byte, AccessWidth.Word, AccessWidth.Dword, AccessWidth.Qword
G6 = S06
A64_DEV, RV_DEV, X86_HOLE = 0x0800_0E00, 0x0C00_1F00, 0xA_0010
EMIT = {"aarch64": emit_aarch64.emit_payload, "riscv64": emit_riscv64.emit_payload,
        "x86_64": emit_x86_64.emit_payload}


def _needs(arch: str) -> pytest.MarkDecorator:
    why = missing_tools(arch)
    return pytest.mark.skipif(why is not None, reason=why or "")


def traps(arch: str, actions: tuple[Action, ...]) -> tuple[EmittedPayload, list[GuestTrap]]:
    """The payload and one GuestTrap per trap site, from the assembled bytes."""
    payload = EMIT[arch](actions)
    base = 0x3000 if arch == "x86_64" else 0x8020_1000
    code = assemble_with_symbols(arch, payload.asm, base)
    out = []
    for site in payload.sites:
        start, end = code.symbols[site.label], code.symbols[site.label + "_end"]
        out.append(GuestTrap(Arch(arch), code.code[start - base: end - base], dict(site.gprs),
                             site.gpa, x86_code_bits=16 if arch == "x86_64" else 64))
    return payload, out


def one(arch: str, action: Action) -> tuple[str, ExitReason]:
    """The trapping instruction's text and the model's exit for a single action."""
    payload, [trap] = traps(arch, (action,))
    after = payload.asm.split(f"{payload.sites[0].label}:\n", 1)[1].splitlines()
    insn = next(ln.strip() for ln in after if not ln.strip().startswith(".option"))
    return insn, predict(trap, G6)


# (action, the instruction it must be, the exit read off the manuals)
A64_CASES = [
    (MmioStore(A64_DEV, 4, 0xCAFE_F00D, reg=1, base=3, offset=0x10),
     "str w1, [x3, #16]", MmioWrite(GuestPhysAddr(A64_DEV), W, 0xCAFE_F00D)),
    (MmioLoad(A64_DEV, 8, reg=4, base=12, offset=0x18),
     "ldr x4, [x12, #24]", MmioRead(GuestPhysAddr(A64_DEV), X, 4, X, False)),
    (MmioStore(A64_DEV + 4, 4, 0x1234_5678, reg=5, base=14, offset=-4),
     "str w5, [x14, #-4]", MmioWrite(GuestPhysAddr(A64_DEV + 4), W, 0x1234_5678)),
    (MmioLoad(A64_DEV, 2, reg=6, base=10, index=11, offset=0x20, scaled=True),
     "ldrh w6, [x10, x11, lsl #1]", MmioRead(GuestPhysAddr(A64_DEV), H, 6, W, False)),
    (MmioStore(A64_DEV, 1, 0x5A, reg=7, base=12, index=13, offset=-0x20, extend="sxtw"),
     "strb w7, [x12, w13, sxtw]", MmioWrite(GuestPhysAddr(A64_DEV), B, 0x5A)),
    (MmioLoad(A64_DEV, 4, reg=8, base=0, index=1, offset=0x40, extend="uxtw", scaled=True,
              signed=True),
     "ldrsw x8, [x0, w1, uxtw #2]", MmioRead(GuestPhysAddr(A64_DEV), W, 8, X, True)),
    (MmioStore(A64_DEV, 8, 0x1122_3344_5566_7788, reg=2, base=6, index=5, offset=8,
               extend="sxtx"),
     "str x2, [x6, x5, sxtx]", MmioWrite(GuestPhysAddr(A64_DEV), X, 0x1122_3344_5566_7788)),
    (MmioLoad(A64_DEV, 8, reg=3, base=15, offset=16, form="pre"),
     "ldr x3, [x15, #16]!", MmioRead(GuestPhysAddr(A64_DEV), X, 3, X, False)),
    (MmioStore(A64_DEV, 4, 0xAB, reg=1, base=15, offset=-16, form="post"),
     "str w1, [x15], #-16", MmioWrite(GuestPhysAddr(A64_DEV), W, 0xAB)),
    (MmioLoad(A64_DEV, 4, reg=3, base=3, offset=8),  # the loaded register is its own base
     "ldr w3, [x3, #8]", MmioRead(GuestPhysAddr(A64_DEV), W, 3, W, False)),
]


@_needs("aarch64")
@pytest.mark.parametrize(("action", "insn", "exit"), A64_CASES, ids=[c[1] for c in A64_CASES])
def test_aarch64_addressing_forms_predict_the_declared_access(
        action: Action, insn: str, exit: ExitReason) -> None:
    assert one("aarch64", action) == (insn, exit)


RV_CASES = [
    (MmioStore(RV_DEV, 4, 0x55, reg=12, base=20, offset=-16),
     "sw x12, -16(x20)", MmioWrite(GuestPhysAddr(RV_DEV), W, 0x55)),
    (MmioLoad(RV_DEV, 4, reg=13, base=14, offset=2040, signed=True),
     "lw x13, 2040(x14)", MmioRead(GuestPhysAddr(RV_DEV), W, 13, X, True)),
    (MmioLoad(RV_DEV + 4, 4, reg=15, base=5, offset=-2048),
     "lwu x15, -2048(x5)", MmioRead(GuestPhysAddr(RV_DEV + 4), W, 15, X, False)),
    (MmioStore(RV_DEV, 4, 0x77, reg=10, base=9, offset=124, form="compressed"),
     "c.sw x10, 124(x9)", MmioWrite(GuestPhysAddr(RV_DEV), W, 0x77)),
    (MmioLoad(RV_DEV, 8, reg=11, base=15, offset=248, form="compressed", signed=True),
     "c.ld x11, 248(x15)", MmioRead(GuestPhysAddr(RV_DEV), X, 11, X, True)),
    (MmioLoad(RV_DEV, 4, reg=12, offset=8, form="compressed", signed=True),
     "c.lw x12, 8(x8)", MmioRead(GuestPhysAddr(RV_DEV), W, 12, X, True)),
]


@_needs("riscv64")
@pytest.mark.parametrize(("action", "insn", "exit"), RV_CASES, ids=[c[1] for c in RV_CASES])
def test_riscv64_addressing_forms_predict_the_declared_access(
        action: Action, insn: str, exit: ExitReason) -> None:
    assert one("riscv64", action) == (insn, exit)


# x86 16-bit ModRM r/m codes (SDM vol. 2A table 2-1): 0 BX+SI, 1 BX+DI, 2 BP+SI, 3 BP+DI,
# 4 SI, 5 DI, 6 BP (mod != 0), 7 BX; mod 0 no displacement, 1 disp8, 2 disp16.
X86_CASES = [
    (MmioStore(X86_HOLE, 1, 0x5A, base=6, offset=0x40), 4, 1, b"\x40", True),
    (MmioLoad(X86_HOLE, 2, base=7, offset=-0x200), 5, 2, (-0x200 & 0xFFFF).to_bytes(2, "little"),
     False),
    (MmioLoad(X86_HOLE, 4, base=5, offset=0x10), 6, 1, b"\x10", False),
    (MmioStore(X86_HOLE, 2, 0xBEEF, base=3, index=6, offset=0x1234), 0, 0, b"", True),
    (MmioLoad(X86_HOLE, 1, base=5, index=7, offset=0x20), 3, 0, b"", False),
]


@_needs("x86_64")
@pytest.mark.parametrize(("action", "rm", "mod", "disp", "is_write"), X86_CASES)
def test_x86_real_mode_addressing_forms_fault_at_the_declared_gpa(
        action: MmioStore | MmioLoad, rm: int, mod: int, disp: bytes, is_write: bool) -> None:
    _, [trap] = traps("x86_64", (action,))
    insn = trap.insn.removeprefix(b"\x3e").removeprefix(b"\x66")  # DS override, 32-bit data
    assert insn[0] in (0x88, 0x89, 0x8A, 0x8B)
    assert (insn[1] >> 6, insn[1] & 7, insn[2:]) == (mod, rm, disp)
    flags = MappingFlags.WRITE if is_write else MappingFlags.READ
    assert predict(trap, G6) == NestedPageFault(GuestPhysAddr(X86_HOLE), MappingFlags(flags))


@_needs("x86_64")
def test_x86_bp_keeps_the_data_segment_with_an_override() -> None:
    _, [trap] = traps("x86_64", (MmioLoad(X86_HOLE, 1, base=5, offset=0x10),))
    assert trap.insn[0] == 0x3E  # DS: (BP would address SS)


@_needs("aarch64")
def test_a_trap_whose_registers_address_another_gpa_is_a_model_error() -> None:
    _, [trap] = traps("aarch64", (MmioStore(A64_DEV, 4, 1, reg=1, base=3, offset=0x10),))
    wrong = GuestTrap(Arch.AARCH64, trap.insn, dict(trap.gprs), A64_DEV + 4)
    with pytest.raises(ModelError, match=r"addresses 0x8000e00 .* GPA is 0x8000e04"):
        predict(wrong, G6)


@_needs("riscv64")
def test_a_riscv64_trap_whose_base_addresses_another_gpa_is_a_model_error() -> None:
    _, [trap] = traps("riscv64", (MmioLoad(RV_DEV, 4, reg=13, base=14, offset=8),))
    wrong = GuestTrap(Arch.RISCV64, trap.insn, {14: RV_DEV}, RV_DEV)
    with pytest.raises(ModelError, match="addresses 0xc001f08"):
        predict(wrong, G6)


@pytest.mark.parametrize(("arch", "action", "message"), [
    ("aarch64", MmioStore(A64_DEV, 4, 1, reg=1, base=1), "both the base and the data"),
    ("aarch64", MmioStore(A64_DEV, 4, 1, reg=1, base=19), "x19 is not available"),
    ("aarch64", MmioLoad(A64_DEV, 4, offset=4097), "no imm form with offset 4097"),
    ("aarch64", MmioLoad(A64_DEV, 4, offset=300, form="pre"), "no pre form with offset 300"),
    ("aarch64", MmioLoad(A64_DEV, 4, index=5, form="post"), "no writeback form"),
    ("aarch64", MmioLoad(A64_DEV, 4, index=5, offset=6, scaled=True), "multiples of 4"),
    ("aarch64", MmioLoad(A64_DEV, 4, index=5, offset=-4, extend="uxtw"), "uxtw cannot"),
    ("aarch64", MmioLoad(A64_DEV, 4, scaled=True), "go with a register offset"),
    ("riscv64", MmioLoad(RV_DEV, 4, reg=13, index=5), "no register offset"),
    ("riscv64", MmioStore(RV_DEV, 4, 1, reg=10, base=20, form="compressed"), "x8..x15"),
    ("riscv64", MmioLoad(RV_DEV, 4, reg=13, offset=2048), "-2048..2047"),
    ("riscv64", MmioLoad(RV_DEV, 4, reg=10, base=9, offset=2, signed=True, form="compressed"),
     "steps of 4"),
    ("riscv64", MmioStore(RV_DEV, 4, 1, reg=8, form="compressed"), "uses x8 as its base"),
    ("x86_64", MmioLoad(X86_HOLE, 1, base=0), "not register 0"),
    ("x86_64", MmioLoad(X86_HOLE, 1, base=6, index=7), "pairs a base BX or BP"),
    ("x86_64", MmioLoad(X86_HOLE, 1, base=3, offset=0x8000), "-32768..32767"),
])
def test_addressing_an_isa_cannot_encode_is_a_scenario_error(
        arch: str, action: Action, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        EMIT[arch]((action,))
