"""A stage-2 fault is predicted at the scenario's GPA only when the instruction itself addresses
it (an AMO's x[rs1], a branch's target), as loads and stores already were: a slip in a
scenario or its emitter is the model's error, not a divergence blamed on axvisor (audit,
session 7). Encodings from the ISA manuals."""

from __future__ import annotations

import struct

import pytest

from harness.model.arch import Arch
from harness.model.exits import NestedPageFault
from harness.model.predict import GuestTrap, predict
from harness.model.schemas import schema
from harness.model.values import ModelError

GPA = 0x9000_0000
# (arch, instruction, registers that address `gpa`, its x86 code size, exit schema, gpa)
BR_X5 = struct.pack("<I", 0xD61F_00A0)  # A64 BR X5
JALR_X5_8 = struct.pack("<I", (8 << 20) | (5 << 15) | 0x67)  # jalr x0, 8(x5)
AMOSWAP_W = struct.pack("<I", (1 << 27) | (12 << 20) | (31 << 15) | (2 << 12) | (13 << 7)
                        | 0x2F)  # amoswap.w a3, a2, (t6)
JMP_FAR = bytes([0xEA]) + struct.pack("<HH", 0x0010, 0xA000)  # jmp 0xA000:0x0010 (16-bit)
CASES = {
    "aarch64 br": (Arch.AARCH64, BR_X5, {5: GPA}, 64, "axvcpu-0.2", GPA),
    "riscv64 jalr": (Arch.RISCV64, JALR_X5_8, {5: GPA - 8}, 64, "axvcpu-0.2", GPA),
    "riscv64 amo": (Arch.RISCV64, AMOSWAP_W, {31: GPA, 12: 1}, 64, "axvcpu-0.2", GPA),
    "x86 far jmp": (Arch.X86_64, JMP_FAR, {}, 16, "axvcpu-0.6", 0xA_0010),  # real mode
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_fault_at_the_address_the_instruction_makes_is_predicted(name: str) -> None:
    arch, insn, gprs, bits, gen, gpa = CASES[name]
    got = predict(GuestTrap(arch, insn, gprs, gpa, x86_code_bits=bits), schema(gen))
    assert isinstance(got, NestedPageFault) and got.addr.value == gpa


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_fault_declared_elsewhere_than_the_instruction_goes_is_a_model_error(
        name: str) -> None:
    arch, insn, gprs, bits, gen, gpa = CASES[name]
    with pytest.raises(ModelError, match="the instruction addresses"):
        predict(GuestTrap(arch, insn, gprs, gpa + 0x1000, x86_code_bits=bits), schema(gen))
