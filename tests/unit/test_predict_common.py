"""GuestTrap validation and the architecture-independent helpers of harness.model.predict."""

from __future__ import annotations

import pytest

from harness.model.arch import Arch
from harness.model.exits import (
    CpuDown,
    IoWrite,
    MmioRead,
    MmioWrite,
    Nothing,
    SysRegRead,
    SysRegWrite,
)
from harness.model.predict import GuestTrap, alternatives, free_fields, predict
from harness.model.schemas import schema
from harness.model.values import ABSENT, AccessWidth, GuestPhysAddr, ModelError, Port, SysRegAddr

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

HVC0 = (0xD400_0002).to_bytes(4, "little")  # hvc #0: 11010100 000 imm16=0 000 10


def test_gprs_are_copied_and_read_only() -> None:
    regs = {0: 1}
    trap = GuestTrap(Arch.AARCH64, HVC0, regs)
    regs[0] = 2
    assert trap.gprs[0] == 1
    with pytest.raises(TypeError):
        trap.gprs[0] = 3  # type: ignore[index]


@pytest.mark.parametrize(
    ("arch", "insn", "gprs", "backend", "match"),
    [(Arch.AARCH64, HVC0, {31: 0}, "", "no register 31"),
     (Arch.X86_64, b"\xf4", {16: 0}, "", "no register 16"),
     (Arch.RISCV64, b"\x73\x00\x00\x00", {1: 1 << 64}, "", "64-bit"),
     (Arch.AARCH64, HVC0[:2], {}, "", "bytes"),
     (Arch.X86_64, b"\x90" * 16, {}, "", "bytes"),
     (Arch.X86_64, b"\xf4", {}, "kvm", "backend"),
     (Arch.RISCV64, b"\x73\x00\x00\x00", {}, "vmx", "x86-only")],
)  # fmt: skip
def test_malformed_traps_are_rejected(
    arch: Arch, insn: bytes, gprs: dict[int, int], backend: str, match: str
) -> None:
    with pytest.raises(ModelError, match=match):
        GuestTrap(arch, insn, gprs, None, backend)


def test_hand_encoded_hvc_is_predicted_without_binutils() -> None:
    trap = GuestTrap(Arch.AARCH64, HVC0, {0: 0x8400_0002})
    assert predict(trap, S06) == CpuDown(0)


def test_prediction_is_validated_against_the_generation() -> None:
    # ldrb w0, [x1]: size=00 111 0 01 opc=01 imm12=0 Rn=1 Rt=0 -> 0x39400020.
    trap = GuestTrap(Arch.AARCH64, (0x3940_0020).to_bytes(4, "little"), {}, 0x1000)
    assert predict(trap, S01).signed_ext is ABSENT  # type: ignore[union-attr]
    assert predict(trap, S02).signed_ext is False  # type: ignore[union-attr]


def test_sysreg_exits_allow_nothing_as_an_alternative_but_memory_exits_do_not() -> None:
    assert alternatives(SysRegRead(SysRegAddr(0x180), 1)) == (Nothing(),)
    assert alternatives(SysRegWrite(SysRegAddr(0x180), 1)) == (Nothing(),)
    gpa = GuestPhysAddr(0x1000)
    assert alternatives(MmioWrite(gpa, AccessWidth.Byte, 1)) == ()
    assert alternatives(IoWrite(Port(0x80), AccessWidth.Byte, 1)) == ()


def test_signed_ext_of_schema_0_1_is_never_listed_as_free() -> None:
    read = MmioRead(GuestPhysAddr(0x1000), AccessWidth.Qword, 1, AccessWidth.Qword)  # ABSENT
    assert free_fields(read, Arch.AARCH64) == frozenset()
