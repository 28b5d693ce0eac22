"""Per-architecture exit contract: which variants each architecture can produce."""

from __future__ import annotations

import pytest

from harness.model.arch import Arch, contract
from harness.model.schemas import schema, schema_set
from harness.model.values import AccessWidth, ModelError

G1, G2, G6 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))


@pytest.mark.parametrize("arch", list(Arch))
@pytest.mark.parametrize("sid", sorted(schema_set().schemas))
def test_produces_and_impossible_partition_the_generation(arch: Arch, sid: str) -> None:
    c = contract(arch, schema(sid))
    assert c.produces | set(c.impossible) == set(schema(sid).kinds(arch.value))
    assert not c.produces & set(c.impossible)
    assert all(reason.strip() for reason in c.impossible.values())


@pytest.mark.parametrize("arch", [Arch.AARCH64, Arch.RISCV64])
def test_port_io_is_impossible_outside_x86(arch: Arch) -> None:
    c = contract(arch, G6)
    assert {"IoRead", "IoWrite"} <= set(c.impossible)
    assert "I/O port" in c.impossible["IoRead"]


def test_x86_produces_every_variant_including_port_io() -> None:
    c = contract(Arch.X86_64, G6)
    assert c.produces == set(G6.kinds("x86_64"))
    assert not c.impossible


def test_aarch64_halt_is_ruled_out_by_configuration_not_architecture() -> None:
    reason = contract(Arch.AARCH64, G2).impossible["Halt"]
    assert "this hypervisor's configuration" in reason and "TWI" in reason


def test_halt_is_possible_on_riscv_and_x86() -> None:
    assert contract(Arch.RISCV64, G2).allows("Halt")
    assert contract(Arch.X86_64, G2).allows("Halt")


def test_preemption_timer_exists_only_in_0_6_and_only_on_x86() -> None:
    assert not contract(Arch.X86_64, G2).allows("PreemptionTimer")
    assert contract(Arch.X86_64, G6).allows("PreemptionTimer")
    assert "PreemptionTimer" in contract(Arch.AARCH64, G6).impossible
    assert "PreemptionTimer" in contract(Arch.RISCV64, G6).impossible


def test_send_ipi_is_absent_from_schema_0_1_contracts() -> None:
    for arch in Arch:
        c = contract(arch, G1)
        assert "SendIPI" not in c.produces and "SendIPI" not in c.impossible


def test_riscv_entry_cannot_fail_but_aarch64_and_x86_can() -> None:
    assert "FailEntry" in contract(Arch.RISCV64, G2).impossible
    assert contract(Arch.AARCH64, G2).allows("FailEntry")
    assert contract(Arch.X86_64, G2).allows("FailEntry")


def test_field_meanings_per_architecture() -> None:
    a, r, x = (contract(arch, G2) for arch in Arch)
    assert (a.max_io_width, r.max_io_width, x.max_io_width) == (None, None, AccessWidth.Dword)
    assert (a.gpr_count, r.gpr_count, x.gpr_count) == (31, 32, 16)
    assert "ESR_EL2" in a.sysreg_meaning and "CSR" in r.sysreg_meaning
    assert "MSR" in x.sysreg_meaning
    assert "MPIDR" in a.cpu_id_meaning and "hart" in r.cpu_id_meaning
    assert "APIC" in x.cpu_id_meaning


def test_impossible_reasons_cannot_be_mutated() -> None:
    c = contract(Arch.AARCH64, G2)
    with pytest.raises(TypeError):
        c.impossible["Halt"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(("name", "arch"), [("aarch64", Arch.AARCH64), ("ARM64", Arch.AARCH64),
                                            ("riscv", Arch.RISCV64), ("x86-64", Arch.X86_64),
                                            ("amd64", Arch.X86_64)])  # fmt: skip
def test_arch_parse_accepts_aliases(name: str, arch: Arch) -> None:
    assert Arch.parse(name) is arch


def test_arch_parse_rejects_unknown() -> None:
    with pytest.raises(ModelError, match="mips"):
        Arch.parse("mips")


def test_the_current_line_has_no_halt_or_port_io_on_aarch64_at_all() -> None:
    c = contract(Arch.AARCH64, schema("axvm-0.8"))
    assert "Halt" not in c.produces | set(c.impossible)  # WaitForInterrupt instead
    assert "WaitForInterrupt" in c.produces and "IoRead" not in c.impossible
