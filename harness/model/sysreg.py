"""System register identifiers as the exit contract carries them in `SysRegAddr`.

* AArch64: the ESR_EL2.ISS layout of a trapped MSR/MRS (ARM ARM D13.2.39, ISS encoding for
  EC 0x18): Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5], CRm [4:1],
  Direction [0].  exit.rs documents the address as `<op0><op2><op1><CRn>00000<CRm>0`, i.e.
  that ISS with Rt and Direction cleared (mask 0x3ffc1e).
* RISC-V: the 12-bit CSR number (Privileged spec §2.1).
* x86-64: the MSR index from ECX (SDM vol. 4 ch. 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model.values import ModelError

ISS_ADDR_MASK = 0x3FFC1E
"""ISS bits that name the register: everything but Rt [9:5] and Direction [0]."""


@dataclass(frozen=True, slots=True, order=True)
class A64SysReg:
    """An AArch64 system register by its encoding fields (ARM ARM C5.3 naming)."""

    op0: int
    op1: int
    crn: int
    crm: int
    op2: int

    def __post_init__(self) -> None:
        limits = (("op0", self.op0, 3), ("op1", self.op1, 7), ("CRn", self.crn, 15),
                  ("CRm", self.crm, 15), ("op2", self.op2, 7))  # fmt: skip
        for what, value, top in limits:
            if not (type(value) is int and 0 <= value <= top):
                raise ModelError(f"A64 system register {what}={value!r}: expected 0..={top}")

    def iss(self, rt: int = 0, read: bool = False) -> int:
        """The full EC 0x18 ISS for an access to this register through Xt (MRS if read)."""
        if not 0 <= rt <= 31:
            raise ModelError(f"Rt={rt}: expected 0..=31")
        return (
            self.op0 << 20
            | self.op2 << 17
            | self.op1 << 14
            | self.crn << 10
            | rt << 5
            | self.crm << 1
            | int(read)
        )

    @property
    def addr(self) -> int:
        """The `SysRegAddr` value: ISS with Rt and Direction masked out."""
        return self.iss() & ISS_ADDR_MASK

    @property
    def name(self) -> str:
        """Architectural name if known, else the generic `S<op0>_<op1>_C<n>_C<m>_<op2>`."""
        return A64_NAMES_BY_ADDR.get(self.addr, self.generic_name)

    @property
    def generic_name(self) -> str:
        """The assembler's generic spelling, accepted by MSR/MRS for any encoding."""
        return f"S{self.op0}_{self.op1}_C{self.crn}_C{self.crm}_{self.op2}"


def a64_from_iss(iss: int) -> tuple[A64SysReg, int, bool]:
    """Split an EC 0x18 ISS into (register, Rt, is_read)."""
    if not 0 <= iss < 1 << 25:
        raise ModelError(f"ISS {iss:#x} does not fit the 25-bit ISS field")
    reg = A64SysReg(
        op0=(iss >> 20) & 3,
        op1=(iss >> 14) & 7,
        crn=(iss >> 10) & 15,
        crm=(iss >> 1) & 15,
        op2=(iss >> 17) & 7,
    )
    return reg, (iss >> 5) & 31, bool(iss & 1)


def a64_from_addr(addr: int) -> A64SysReg:
    """The register a `SysRegAddr` names; ModelError if Rt or Direction bits are set."""
    if addr & ~ISS_ADDR_MASK:
        raise ModelError(
            f"SysRegAddr {addr:#x} has bits outside {ISS_ADDR_MASK:#x} "
            "(exit.rs: Rt and direction are not part of the address)"
        )
    return a64_from_iss(addr)[0]


_A64_TABLE: dict[str, tuple[int, int, int, int, int]] = {
    # name: (op0, op1, CRn, CRm, op2), from the ARM ARM register descriptions (D19/D23) and
    # the GICv3 spec (IHI 0069, ch. 12) for the ICC_* registers.
    "MIDR_EL1": (3, 0, 0, 0, 0),
    "MPIDR_EL1": (3, 0, 0, 0, 5),
    "SCTLR_EL1": (3, 0, 1, 0, 0),
    "ACTLR_EL1": (3, 0, 1, 0, 1),
    "CPACR_EL1": (3, 0, 1, 0, 2),
    "MDSCR_EL1": (2, 0, 0, 2, 2),
    "OSLAR_EL1": (2, 0, 1, 0, 4),
    "OSLSR_EL1": (2, 0, 1, 1, 4),
    "OSDLR_EL1": (2, 0, 1, 3, 4),
    "MDCCSR_EL0": (2, 3, 0, 1, 0),
    "PMCR_EL0": (3, 3, 9, 12, 0),
    "PMUSERENR_EL0": (3, 3, 9, 14, 0),
    "CNTFRQ_EL0": (3, 3, 14, 0, 0),
    "CNTPCT_EL0": (3, 3, 14, 0, 1),
    "CNTVCT_EL0": (3, 3, 14, 0, 2),
    "CNTP_TVAL_EL0": (3, 3, 14, 2, 0),
    "CNTP_CTL_EL0": (3, 3, 14, 2, 1),
    "CNTP_CVAL_EL0": (3, 3, 14, 2, 2),
    "CNTV_TVAL_EL0": (3, 3, 14, 3, 0),
    "CNTV_CTL_EL0": (3, 3, 14, 3, 1),
    "CNTV_CVAL_EL0": (3, 3, 14, 3, 2),
    "ICC_PMR_EL1": (3, 0, 4, 6, 0),
    "ICC_DIR_EL1": (3, 0, 12, 11, 1),
    "ICC_RPR_EL1": (3, 0, 12, 11, 3),
    "ICC_SGI1R_EL1": (3, 0, 12, 11, 5),
    "ICC_ASGI1R_EL1": (3, 0, 12, 11, 6),
    "ICC_SGI0R_EL1": (3, 0, 12, 11, 7),
    "ICC_IAR1_EL1": (3, 0, 12, 12, 0),
    "ICC_EOIR1_EL1": (3, 0, 12, 12, 1),
    "ICC_CTLR_EL1": (3, 0, 12, 12, 4),
    "ICC_SRE_EL1": (3, 0, 12, 12, 5),
    "ICC_IGRPEN1_EL1": (3, 0, 12, 12, 7),
}

A64: dict[str, A64SysReg] = {name: A64SysReg(*f) for name, f in _A64_TABLE.items()}
"""Known AArch64 registers by architectural name."""

A64_NAMES_BY_ADDR: dict[int, str] = {reg.addr: name for name, reg in A64.items()}


def a64(name: str) -> A64SysReg:
    """Look an AArch64 register up by name (case-insensitive) or generic `S3_0_C12_C11_5`."""
    key = name.upper()
    if key in A64:
        return A64[key]
    parts = key.split("_")
    if (
        len(parts) == 5
        and parts[0].startswith("S")
        and parts[2].startswith("C")
        and parts[3].startswith("C")
    ):
        try:
            nums = [int(parts[0][1:]), int(parts[1]), int(parts[2][1:]), int(parts[3][1:]),
                    int(parts[4])]  # fmt: skip
        except ValueError:
            pass
        else:
            return A64SysReg(*nums)
    raise ModelError(f"unknown AArch64 system register {name!r}")


def a64_addr(name: str) -> int:
    """`SysRegAddr` value of an AArch64 register name."""
    return a64(name).addr


RISCV_CSRS: dict[str, int] = {
    # Privileged spec tables 2.2-2.5 (numbers as assigned there).
    "sstatus": 0x100,
    "sie": 0x104,
    "stvec": 0x105,
    "scounteren": 0x106,
    "senvcfg": 0x10A,
    "sscratch": 0x140,
    "sepc": 0x141,
    "scause": 0x142,
    "stval": 0x143,
    "sip": 0x144,
    "stimecmp": 0x14D,
    "satp": 0x180,
    "hstatus": 0x600,
    "hedeleg": 0x602,
    "hideleg": 0x603,
    "hie": 0x604,
    "hcounteren": 0x606,
    "hgeie": 0x607,
    "htval": 0x643,
    "hip": 0x644,
    "hvip": 0x645,
    "htinst": 0x64A,
    "hgatp": 0x680,
    "cycle": 0xC00,
    "time": 0xC01,
    "instret": 0xC02,
    "mvendorid": 0xF11,
    "marchid": 0xF12,
    "mimpid": 0xF13,
    "mhartid": 0xF14,
}
RISCV_CSR_NAMES: dict[int, str] = {v: k for k, v in RISCV_CSRS.items()}

X86_MSRS: dict[str, int] = {
    # SDM vol. 4, table 2-2 (architectural MSRs).
    "IA32_TIME_STAMP_COUNTER": 0x10,
    "IA32_APIC_BASE": 0x1B,
    "IA32_FEATURE_CONTROL": 0x3A,
    "IA32_TSC_ADJUST": 0x3B,
    "IA32_SPEC_CTRL": 0x48,
    "IA32_MTRRCAP": 0xFE,
    "IA32_SYSENTER_CS": 0x174,
    "IA32_MISC_ENABLE": 0x1A0,
    "IA32_PAT": 0x277,
    "IA32_TSC_DEADLINE": 0x6E0,
    "IA32_X2APIC_APICID": 0x802,
    "IA32_X2APIC_EOI": 0x80B,
    "IA32_X2APIC_ICR": 0x830,
    "IA32_EFER": 0xC000_0080,
    "IA32_STAR": 0xC000_0081,
    "IA32_LSTAR": 0xC000_0082,
    "IA32_FMASK": 0xC000_0084,
    "IA32_FS_BASE": 0xC000_0100,
    "IA32_GS_BASE": 0xC000_0101,
    "IA32_KERNEL_GS_BASE": 0xC000_0102,
    "IA32_TSC_AUX": 0xC000_0103,
}
X86_MSR_NAMES: dict[int, str] = {v: k for k, v in X86_MSRS.items()}
