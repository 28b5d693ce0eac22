"""RV64 decoder: encodings from GNU as (rv64gc), expectations from the ISA manual."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.model.isa import riscv64 as isa
from harness.model.isa.asm import assemble, missing_tools
from harness.model.values import AccessWidth, ModelError

_MISSING = missing_tools("riscv64")
needs_as = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

B, H, W, D = AccessWidth.Byte, AccessWidth.Word, AccessWidth.Dword, AccessWidth.Qword


def asm32(src: str) -> bytes:
    """Assemble without RVC so `ld a0, 0(a1)` stays a 4-byte LD."""
    return assemble("riscv64", ".option norvc\n" + src)


# (source, width, unsigned, rd, rs1, offset); a0 = x10, a1 = x11, s0 = x8, s1 = x9, sp = x2,
# t6 = x31.
LOADS = [
    ("lb a0, 0(a1)", B, False, 10, 11, 0),
    ("lh a0, 2(a1)", H, False, 10, 11, 2),
    ("lw t6, -4(s0)", W, False, 31, 8, -4),
    ("ld s1, 8(sp)", D, False, 9, 2, 8),
    ("lbu a2, 1(a1)", B, True, 12, 11, 1),
    ("lhu a3, 2(a1)", H, True, 13, 11, 2),
    ("lwu a4, 4(a1)", W, True, 14, 11, 4),
    ("lw zero, 0(a0)", W, False, 0, 10, 0),
    ("ld a0, -2048(t6)", D, False, 10, 31, -2048),
    ("lbu a0, 2047(s1)", B, True, 10, 9, 2047),
]


@needs_as
@pytest.mark.parametrize(("src", "width", "unsigned", "rd", "rs1", "offset"), LOADS)
def test_base_loads_decode(src: str, width: AccessWidth, unsigned: bool, rd: int, rs1: int,
                           offset: int) -> None:
    got = isa.decode(asm32(src))
    assert got == isa.RvLoad(4, width, unsigned, rd, src.split()[0].upper(), rs1, offset)


@needs_as
@pytest.mark.parametrize(("src", "width", "rs2", "rs1", "offset"),
                         [("sb a5, 0(a0)", B, 15, 10, 0), ("sh t0, 2(a0)", H, 5, 10, 2),
                          ("sw ra, 4(a0)", W, 1, 10, 4), ("sd s11, 8(a0)", D, 27, 10, 8),
                          ("sb zero, 0(a0)", B, 0, 10, 0), ("sw a0, -2048(t6)", W, 10, 31, -2048),
                          ("sd a0, 2047(s1)", D, 10, 9, 2047), ("sh a1, -1(a2)", H, 11, 12, -1),
                          ("sb a1, 0x7e0(a2)", B, 11, 12, 0x7E0),
                          ("sb a1, 31(a2)", B, 11, 12, 31)])  # fmt: skip
def test_base_stores_decode(src: str, width: AccessWidth, rs2: int, rs1: int,
                            offset: int) -> None:
    got = isa.decode(asm32(src))
    assert isinstance(got, isa.RvStore)
    assert (got.length, got.width, got.rs2, got.rs1, got.offset) == (4, width, rs2, rs1, offset)


@needs_as
@pytest.mark.parametrize(
    ("src", "kind", "width", "reg", "rs1", "offset"),
    [("c.lw a0, 4(a1)", "load", W, 10, 11, 4), ("c.ld s1, 8(a2)", "load", D, 9, 12, 8),
     ("c.sw a5, 0(a4)", "store", W, 15, 14, 0), ("c.sd s0, 16(a3)", "store", D, 8, 13, 16),
     ("c.lwsp ra, 12(sp)", "load", W, 1, 2, 12), ("c.ldsp t0, 16(sp)", "load", D, 5, 2, 16),
     ("c.swsp a0, 4(sp)", "store", W, 10, 2, 4), ("c.sdsp s11, 8(sp)", "store", D, 27, 2, 8),
     # every offset bit of each compressed format, one at a time and all at once
     ("c.lw a0, 64(s0)", "load", W, 10, 8, 64), ("c.lw a0, 124(a5)", "load", W, 10, 15, 124),
     ("c.sw a0, 32(a1)", "store", W, 10, 11, 32), ("c.sd a0, 248(a1)", "store", D, 10, 11, 248),
     ("c.ld a0, 64(a1)", "load", D, 10, 11, 64), ("c.ld a0, 128(a1)", "load", D, 10, 11, 128),
     ("c.lwsp a0, 252(sp)", "load", W, 10, 2, 252), ("c.lwsp a0, 64(sp)", "load", W, 10, 2, 64),
     ("c.ldsp a0, 504(sp)", "load", D, 10, 2, 504), ("c.ldsp a0, 256(sp)", "load", D, 10, 2, 256),
     ("c.swsp a0, 252(sp)", "store", W, 10, 2, 252), ("c.swsp a0, 128(sp)", "store", W, 10, 2, 128),
     ("c.sdsp a0, 504(sp)", "store", D, 10, 2, 504), ("c.sdsp a0, 64(sp)", "store", D, 10, 2, 64)],
)  # fmt: skip
def test_compressed_loads_and_stores_decode(
    src: str, kind: str, width: AccessWidth, reg: int, rs1: int, offset: int
) -> None:
    code = assemble("riscv64", src)
    assert len(code) == 2
    got = isa.decode(code)
    name = src.split()[0].upper()
    if kind == "load":
        # C.LW/C.LD/C.LWSP/C.LDSP expand to LW/LD: sign-extending (RVC spec, table 16.x).
        assert got == isa.RvLoad(2, width, False, reg, name, rs1, offset)
    else:
        assert got == isa.RvStore(2, width, reg, name, rs1, offset)


def test_the_effective_address_is_the_base_plus_the_offset_modulo_2_64() -> None:
    load = isa.RvLoad(4, W, False, 10, "LW", 11, -4)
    assert isa.effective_address(load, {11: 0x1000}.get) == 0xFFC
    assert isa.effective_address(load, {11: 2}.get) == (1 << 64) - 2
    assert isa.effective_address(load, {}.get) is None
    assert isa.effective_address(isa.RvStore(4, W, 5, "SW", 0, 0x7FF), {}.get) == 0x7FF


@needs_as
def test_compressed_instruction_followed_by_padding_decodes_first_parcel_only() -> None:
    code = assemble("riscv64", "c.lw a0, 4(a1)\nc.nop")
    assert len(code) == 4
    assert isinstance(isa.decode(code), isa.RvLoad)


@needs_as
def test_system_instructions_decode() -> None:
    assert isa.decode(asm32("ecall")) == isa.RvEcall()
    assert isa.decode(asm32("wfi")) == isa.RvWfi()
    # csrr rd, csr = csrrs rd, csr, x0; csrw csr, rs = csrrw x0, csr, rs (Zicsr pseudo-ops).
    assert isa.decode(asm32("csrr a0, sstatus")) == isa.RvCsr(4, 0x100, 10, "rs", False, 0)
    assert isa.decode(asm32("csrw sscratch, t1")) == isa.RvCsr(4, 0x140, 0, "rw", False, 6)
    assert isa.decode(asm32("csrwi sscratch, 5")) == isa.RvCsr(4, 0x140, 0, "rw", True, 5)
    assert isa.decode(asm32("csrrc a1, sie, a2")) == isa.RvCsr(4, 0x104, 11, "rc", False, 12)


@needs_as
@pytest.mark.parametrize("src", ["add a0, a1, a2", "fld fa0, 0(a0)", "lr.w a0, (a2)",
                                 "sc.d a0, a1, (a2)", "c.fld fa0, 0(a0)",
                                 "c.addi a0, 1"])  # fmt: skip
def test_other_instructions_are_refused(src: str) -> None:
    with pytest.raises(ModelError):
        isa.decode(assemble("riscv64", src))


def test_truncated_32bit_instruction_is_refused() -> None:
    with pytest.raises(ModelError, match="4-byte"):
        isa.decode(b"\x03\x05")  # low bits 11: a 32-bit instruction cut short


# Independent I-type/S-type encoders (Unprivileged spec §2.3, base instruction formats).
@given(st.integers(0, 6), st.integers(0, 31), st.integers(0, 31), st.integers(0, 4095))
def test_random_i_type_loads_decode(funct3: int, rd: int, rs1: int, imm: int) -> None:
    word = imm << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | 0b0000011
    got = isa.decode(word.to_bytes(4, "little"))
    assert isinstance(got, isa.RvLoad)
    # funct3: 0 LB, 1 LH, 2 LW, 3 LD, 4 LBU, 5 LHU, 6 LWU.
    assert got.width.size() == 1 << (funct3 % 4)
    assert (got.unsigned, got.rd) == (funct3 >= 4, rd)


@given(st.integers(0, 3), st.integers(0, 31), st.integers(0, 31), st.integers(0, 4095))
def test_random_s_type_stores_decode(funct3: int, rs2: int, rs1: int, imm: int) -> None:
    word = ((imm >> 5) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (imm & 31) << 7
            | 0b0100011)  # fmt: skip
    got = isa.decode(word.to_bytes(4, "little"))
    assert isinstance(got, isa.RvStore)
    assert (got.width.size(), got.rs2) == (1 << funct3, rs2)


@needs_as
@pytest.mark.parametrize(("src", "width", "rd", "rs2", "name", "rs1"), [
    ("amoswap.w a3, a2, (t6)", W, 13, 12, "AMOSWAP.W", 31),
    ("amoadd.d zero, a1, (a0)", D, 0, 11, "AMOADD.D", 10),
    ("amomaxu.w.aqrl t0, t1, (t2)", W, 5, 6, "AMOMAXU.W", 7),
    ("amoor.d s1, s2, (s3)", D, 9, 18, "AMOOR.D", 19),
])  # fmt: skip
def test_amos_decode_with_width_registers_and_name(src: str, width: AccessWidth, rd: int,
                                                   rs2: int, name: str, rs1: int) -> None:
    assert isa.decode(asm32(src)) == isa.RvAmo(4, width, rd, rs2, name, rs1)
