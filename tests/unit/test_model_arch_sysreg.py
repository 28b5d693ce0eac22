"""System register identifiers: the ESR_EL2.ISS packing and the name tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.model import sysreg
from harness.model.isa import aarch64 as isa
from harness.model.isa.asm import assemble, missing_tools
from harness.model.values import ModelError

_MISSING = missing_tools("aarch64")
needs_as = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")


def test_icc_sgi1r_el1_address_is_the_hand_packed_iss() -> None:
    # op0=3 -> [21:20], op2=5 -> [19:17], op1=0, CRn=12 -> [13:10], CRm=11 -> [4:1].
    assert sysreg.a64_addr("ICC_SGI1R_EL1") == 3 << 20 | 5 << 17 | 12 << 10 | 11 << 1 == 0x3A3016


def test_cntp_ctl_el0_address_is_the_hand_packed_iss() -> None:
    # op0=3, op1=3 -> [16:14], CRn=14, CRm=2, op2=1.
    assert sysreg.a64_addr("cntp_ctl_el0") == 3 << 20 | 1 << 17 | 3 << 14 | 14 << 10 | 2 << 1


def test_rt_and_direction_are_not_part_of_the_address() -> None:
    reg = sysreg.A64["MDSCR_EL1"]
    full = reg.iss(rt=17, read=True)
    assert full & 1 and (full >> 5) & 31 == 17
    assert full & sysreg.ISS_ADDR_MASK == reg.addr
    assert sysreg.a64_from_iss(full) == (reg, 17, True)


def test_address_with_rt_bits_is_rejected() -> None:
    with pytest.raises(ModelError, match="Rt and direction"):
        sysreg.a64_from_addr(0x3A3016 | 5 << 5)


@needs_as
@pytest.mark.parametrize("name", sorted(sysreg.A64))
def test_name_table_agrees_with_gnu_as(name: str) -> None:
    decoded = isa.decode(assemble("aarch64", f"mrs x0, {name}"))
    assert isinstance(decoded, isa.SysRegAccess)
    assert decoded.reg == sysreg.A64[name]
    assert decoded.reg.name == name


@given(st.integers(0, 3), st.integers(0, 7), st.integers(0, 15), st.integers(0, 15),
       st.integers(0, 7), st.integers(0, 31), st.booleans())  # fmt: skip
def test_iss_round_trips(op0: int, op1: int, crn: int, crm: int, op2: int, rt: int,
                         read: bool) -> None:  # fmt: skip
    reg = sysreg.A64SysReg(op0, op1, crn, crm, op2)
    assert sysreg.a64_from_iss(reg.iss(rt, read)) == (reg, rt, read)
    assert sysreg.a64_from_addr(reg.addr) == reg


def test_generic_names_resolve_and_unknown_names_fail() -> None:
    assert sysreg.a64("S3_0_C12_C11_5") == sysreg.A64["ICC_SGI1R_EL1"]
    assert sysreg.A64SysReg(3, 7, 15, 15, 7).name == "S3_7_C15_C15_7"
    with pytest.raises(ModelError):
        sysreg.a64("NOT_A_REG")


def test_out_of_range_fields_are_rejected() -> None:
    with pytest.raises(ModelError, match="CRn"):
        sysreg.A64SysReg(3, 0, 16, 0, 0)


def test_riscv_and_x86_tables_hold_well_known_numbers() -> None:
    # Privileged spec: sstatus 0x100, satp 0x180, hgatp 0x680; SDM: IA32_EFER 0xC0000080.
    assert sysreg.RISCV_CSRS["sstatus"] == 0x100
    assert sysreg.RISCV_CSRS["satp"] == 0x180
    assert sysreg.RISCV_CSR_NAMES[0x680] == "hgatp"
    assert sysreg.X86_MSRS["IA32_EFER"] == 0xC000_0080
    assert sysreg.X86_MSR_NAMES[0x830] == "IA32_X2APIC_ICR"


_RV_MISSING = missing_tools("riscv64")


@pytest.mark.skipif(_RV_MISSING is not None, reason=_RV_MISSING or "")
@pytest.mark.parametrize("name", sorted(sysreg.RISCV_CSRS))
def test_riscv_csr_table_agrees_with_gnu_as(name: str) -> None:
    from harness.model.isa import riscv64

    decoded = riscv64.decode(assemble("riscv64", f".option norvc\ncsrr a0, {name}"))
    assert isinstance(decoded, riscv64.RvCsr)
    assert decoded.csr == sysreg.RISCV_CSRS[name]
