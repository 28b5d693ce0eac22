"""What each architecture's vCPU may return, and what the per-architecture fields mean.

`contract(arch, schema)` splits the kinds of a schema's enum on that architecture into those
the architecture (plus the exit.rs contract) allows and those it rules out, each with a
reason.  Reasons that depend on
how the hypervisor under test programs its traps say so ("with this hypervisor's
configuration"); the rest follow from the architecture alone.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from harness.model.values import AccessWidth, ModelError
from harness.schema import Schema


class Arch(enum.Enum):
    """A target architecture (values are the names the harness uses everywhere)."""

    AARCH64 = "aarch64"
    RISCV64 = "riscv64"
    X86_64 = "x86_64"

    @classmethod
    def parse(cls, name: str) -> Arch:
        """Accept the value or common aliases (arm64, riscv, x86-64, amd64)."""
        key = name.strip().lower().replace("-", "_")
        aliases = {"arm64": "aarch64", "riscv": "riscv64", "amd64": "x86_64", "x64": "x86_64"}
        try:
            return cls(aliases.get(key, key))
        except ValueError:
            raise ModelError(f"unknown architecture {name!r}") from None


@dataclass(frozen=True, slots=True)
class ArchContract:
    """Which exits an architecture can produce in one schema generation, and field meanings."""

    arch: Arch
    produces: frozenset[str]
    impossible: Mapping[str, str]
    max_io_width: AccessWidth | None
    gpr_count: int
    sysreg_meaning: str
    cpu_id_meaning: str

    def allows(self, variant: str) -> bool:
        """Whether `variant` may legitimately come from this architecture's vCPU."""
        return variant in self.produces


_NO_PORT_IO = (
    "{arch} has no I/O port address space (only x86 has IN/OUT); devices are memory-mapped, "
    "so their accesses surface as MmioRead/MmioWrite"
)
_NO_PREEMPTION_TIMER = (
    "{arch} has no virtualization preemption timer (that is a VMX feature, SDM vol. 3C "
    "'VMX-Preemption Timer'); the hypervisor's own timer arrives as an ordinary interrupt"
)

_REASONS: dict[Arch, dict[str, str]] = {
    Arch.AARCH64: {
        "IoRead": _NO_PORT_IO.format(arch="AArch64"),
        "IoWrite": _NO_PORT_IO.format(arch="AArch64"),
        "Halt": (
            "WFI/WFE trap to EL2 only when HCR_EL2.TWI/TWE (bits 13/14) is set (ARM ARM, "
            "HCR_EL2); with this hypervisor's configuration (arm_vcpu programs HCR_EL2 = "
            "VM|RW|TSC[|IMO|FMO]) TWI and TWE are clear, so WFI/WFE complete in the guest "
            "and never exit"
        ),
        "PreemptionTimer": _NO_PREEMPTION_TIMER.format(arch="AArch64"),
    },
    Arch.RISCV64: {
        "IoRead": _NO_PORT_IO.format(arch="RISC-V"),
        "IoWrite": _NO_PORT_IO.format(arch="RISC-V"),
        "FailEntry": (
            "SRET into VS/VU-mode cannot fail: hstatus/vsstatus fields are WARL, so every "
            "value the hypervisor writes is legal (Privileged spec §2.3, §9.2.1) and there is "
            "no hardware entry check to report"
        ),
        "PreemptionTimer": _NO_PREEMPTION_TIMER.format(arch="RISC-V"),
    },
    Arch.X86_64: {},
}

_SYSREG_MEANING = {
    Arch.AARCH64: (
        "ESR_EL2.ISS encoding of a trapped MSR/MRS with Rt and direction masked "
        "(<op0><op2><op1><CRn>00000<CRm>0, mask 0x3ffc1e; ARM ARM D13.2.39)"
    ),
    Arch.RISCV64: "CSR number (12 bits; Privileged spec §2.1)",
    Arch.X86_64: "MSR index, the value of ECX at RDMSR/WRMSR (SDM vol. 2B RDMSR)",
}
_CPU_ID_MEANING = {
    Arch.AARCH64: "MPIDR affinity (Aff3:Aff2:Aff1:Aff0 as PSCI CPU_ON target_cpu, DEN0022 §5.1.4)",
    Arch.RISCV64: "hart id (SBI HSM hart_start hartid)",
    Arch.X86_64: "APIC ID (x2APIC ID of the ICR destination field)",
}
_GPR_COUNT = {Arch.AARCH64: 31, Arch.RISCV64: 32, Arch.X86_64: 16}


def contract(arch: Arch, schema: Schema) -> ArchContract:
    """The contract of `arch` restricted to the kinds `schema`'s enum has on it."""
    names = schema.kinds(arch.value)
    reasons = _REASONS[arch]
    impossible = {name: reasons[name] for name in names if name in reasons}
    produces = frozenset(name for name in names if name not in impossible)
    return ArchContract(
        arch=arch,
        produces=produces,
        impossible=MappingProxyType(impossible),
        max_io_width=AccessWidth.Dword if arch is Arch.X86_64 else None,
        gpr_count=_GPR_COUNT[arch],
        sysreg_meaning=_SYSREG_MEANING[arch],
        cpu_id_meaning=_CPU_ID_MEANING[arch],
    )
