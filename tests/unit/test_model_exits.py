"""Pin the exit-reason schema of each generation to what the axvcpu sources declare."""

from __future__ import annotations

import pytest

from harness.model.exits import (
    ALL_VARIANTS,
    Category,
    CpuDown,
    Generation,
    Halt,
    Hypercall,
    InterruptEnd,
    IoWrite,
    MmioRead,
    NestedPageFault,
    SendIPI,
    exit_from_json,
    exit_to_json,
    generations_of,
    validate,
)
from harness.model.values import AccessWidth, GuestPhysAddr, MappingFlags, ModelError, Port

# Declaration order, copied by hand from each exit.rs (axvcpu git 34fc106, 0.2.2, 0.7.2).
ORDER_0_1 = [
    "Hypercall", "MmioRead", "MmioWrite", "SysRegRead", "SysRegWrite", "IoRead", "IoWrite",
    "ExternalInterrupt", "NestedPageFault", "Halt", "CpuUp", "CpuDown", "SystemDown", "Nothing",
    "FailEntry",
]  # fmt: skip
ORDER_0_2 = [*ORDER_0_1, "SendIPI"]
ORDER_0_6 = [
    "Hypercall", "MmioRead", "MmioWrite", "SysRegRead", "SysRegWrite", "IoRead", "IoWrite",
    "ExternalInterrupt", "NestedPageFault", "Halt", "CpuUp", "CpuDown", "SystemDown", "Nothing",
    "PreemptionTimer", "InterruptEnd", "FailEntry", "SendIPI",
]  # fmt: skip


@pytest.mark.parametrize(
    ("gen", "order"),
    [(Generation.G0_1, ORDER_0_1), (Generation.G0_2, ORDER_0_2), (Generation.G0_6, ORDER_0_6)],
)
def test_variant_order_matches_rust_declaration(gen: Generation, order: list[str]) -> None:
    assert list(gen.variant_names()) == order
    assert [c.VARIANT for c in gen.variants()] == order


def test_field_order_of_mmio_read_per_generation() -> None:
    assert [f.name for f in Generation.G0_1.fields("MmioRead")] == [
        "addr", "width", "reg", "reg_width",
    ]  # fmt: skip
    assert [f.name for f in Generation.G0_6.fields("MmioRead")] == [
        "addr", "width", "reg", "reg_width", "signed_ext",
    ]  # fmt: skip


def test_send_ipi_fields_in_declaration_order() -> None:
    assert [f.name for f in Generation.G0_2.fields("SendIPI")] == [
        "target_cpu", "target_cpu_aux", "send_to_all", "send_to_self", "vector",
    ]  # fmt: skip


def test_cpu_down_field_keeps_rust_underscore_name() -> None:
    assert [f.name for f in Generation.G0_6.fields("CpuDown")] == ["_state"]
    assert exit_to_json(CpuDown(7)) == {"variant": "CpuDown", "fields": {"_state": 7}}


@pytest.mark.parametrize(
    ("version", "gen"),
    [
        ("0.7.2", Generation.G0_6),
        ("0.6.0", Generation.G0_6),
        ("0.6.1", Generation.G0_6),
        ("0.5.9", Generation.G0_2),
        ("0.2.2", Generation.G0_2),
        # Published 0.1.0/0.1.1 already have signed_ext, SysRegAddr and SendIPI.
        ("0.1.1", Generation.G0_2),
        ("v0.3.0", Generation.G0_2),
    ],
)
def test_for_axvcpu_maps_published_versions(version: str, gen: Generation) -> None:
    assert Generation.for_axvcpu(version) is gen


@pytest.mark.parametrize("bad", ["", "seven", "1.0.0", "0.0.1", "0.x"])
def test_for_axvcpu_rejects_unknown_versions(bad: str) -> None:
    with pytest.raises(ModelError):
        Generation.for_axvcpu(bad)


def test_parse_selects_schema_by_name() -> None:
    assert Generation.parse("schema:0.1") is Generation.G0_1
    assert Generation.parse("0.7.2") is Generation.G0_6
    with pytest.raises(ModelError, match="unknown schema"):
        Generation.parse("schema:0.3")


def test_every_variant_has_the_specified_category() -> None:
    expected = {
        "MmioRead": Category.MEMORY, "MmioWrite": Category.MEMORY,
        "NestedPageFault": Category.MEMORY,
        "Hypercall": Category.SYSTEM_CONTROL, "SysRegRead": Category.SYSTEM_CONTROL,
        "SysRegWrite": Category.SYSTEM_CONTROL,
        "IoRead": Category.IO, "IoWrite": Category.IO,
        "ExternalInterrupt": Category.CONTROL_FLOW, "Halt": Category.CONTROL_FLOW,
        "Nothing": Category.CONTROL_FLOW, "FailEntry": Category.CONTROL_FLOW,
        "PreemptionTimer": Category.CONTROL_FLOW, "InterruptEnd": Category.CONTROL_FLOW,
        "CpuUp": Category.POWER, "CpuDown": Category.POWER, "SystemDown": Category.POWER,
        "SendIPI": Category.MULTIPROCESSING,
    }  # fmt: skip
    assert {c.VARIANT: c.CATEGORY for c in ALL_VARIANTS} == expected
    assert Category.CONTROL_FLOW.value == "Interrupts & Faults"


def _mmio(signed: bool | None) -> MmioRead:
    return MmioRead(GuestPhysAddr(0x9000000), AccessWidth.Word, 3, AccessWidth.Qword, signed)


def test_mmio_read_without_signed_ext_belongs_to_gen_0_1_only() -> None:
    assert generations_of(_mmio(None)) == (Generation.G0_1,)
    assert generations_of(_mmio(True)) == (Generation.G0_2, Generation.G0_6)


def test_new_variants_are_rejected_by_older_generations() -> None:
    with pytest.raises(ModelError, match=r"does not exist in axvcpu schema 0\.2"):
        validate(InterruptEnd(None), Generation.G0_2)
    with pytest.raises(ModelError, match=r"does not exist in axvcpu schema 0\.1"):
        validate(SendIPI(0, 0, False, False, 1), Generation.G0_1)


def test_constructors_range_check_fields() -> None:
    with pytest.raises(ModelError, match="u8"):
        InterruptEnd(256)
    with pytest.raises(ModelError, match="exactly 6"):
        Hypercall(0, (1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="u64"):
        IoWrite(Port(0x3F8), AccessWidth.Byte, 1 << 64)


def test_exit_to_json_uses_integers_and_width_names() -> None:
    e = NestedPageFault(GuestPhysAddr(0x8000_1000), MappingFlags.of("READ", "WRITE"))
    assert exit_to_json(e) == {
        "variant": "NestedPageFault",
        "fields": {"addr": 0x8000_1000, "access_flags": 3},
    }
    assert exit_to_json(_mmio(True))["fields"] == {
        "addr": 0x9000000, "width": "Word", "reg": 3, "reg_width": "Qword", "signed_ext": True,
    }  # fmt: skip
    assert exit_to_json(Halt()) == {"variant": "Halt", "fields": {}}
    assert exit_to_json(InterruptEnd(None))["fields"] == {"vector": None}
    assert exit_to_json(Hypercall(1, (1, 2, 3, 4, 5, 6)))["fields"]["args"] == [1, 2, 3, 4, 5, 6]


def test_exit_from_json_inverts_to_json_and_checks_field_set() -> None:
    e = IoWrite(Port(0x604), AccessWidth.Word, 0x2000)
    assert exit_from_json(exit_to_json(e), Generation.G0_6) == e
    with pytest.raises(ModelError, match=r"missing \['signed_ext'\]"):
        exit_from_json(exit_to_json(_mmio(None)), Generation.G0_6)
    with pytest.raises(ModelError, match="unknown exit variant"):
        exit_from_json({"variant": "Bogus", "fields": {}}, Generation.G0_6)
