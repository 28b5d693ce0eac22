"""The model's exit kinds against the schema files: one class per canonical kind, the
categories, absent attributes, JSON and the check against a generation's enum."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields

import pytest

from harness.model.convert import (
    exit_from_json,
    exit_to_json,
    from_canonical,
    to_canonical,
    validate,
)
from harness.model.exits import (
    ABSENT,
    ALL_VARIANTS,
    ByteReg,
    Category,
    CpuDown,
    DeactivateInterrupt,
    GicCpuInterfaceRead,
    Halt,
    Hypercall,
    InterruptEnd,
    IoString,
    IoWrite,
    MmioRead,
    NestedPageFault,
    SendIPI,
    SendIPIHartMask,
    SendIPISgi1r,
    SysRegRead,
    WaitForInterrupt,
)
from harness.model.schemas import schema, schema_set
from harness.model.values import (
    AccessWidth,
    GuestPhysAddr,
    MappingFlags,
    ModelError,
    Port,
    SysRegAddr,
)

G1, G2, G6, A8 = (schema(s) for s in ("axvcpu-0.1", "axvcpu-0.2", "axvcpu-0.6", "axvm-0.8"))


def test_one_class_per_canonical_kind_in_canonical_order_with_its_category() -> None:
    canonical = schema_set().canonical
    assert [c.VARIANT for c in ALL_VARIANTS] == list(canonical.kinds)
    for cls in ALL_VARIANTS:
        category, attrs = canonical.kinds[cls.VARIANT]
        assert cls.CATEGORY.value == category, cls.VARIANT
        assert [f.name for f in dataclass_fields(cls)] == list(attrs), cls.VARIANT
    assert [c.value for c in Category] == list(canonical.categories)


def test_every_variant_of_every_schema_names_a_kind_the_model_has() -> None:
    names = {c.VARIANT for c in ALL_VARIANTS}
    for s in schema_set():
        for arch in s.arches:
            assert set(s.kinds(arch)) <= names, (s.id, arch)


def _mmio(signed: bool | None = None) -> MmioRead:
    if signed is None:
        return MmioRead(GuestPhysAddr(0x9000000), AccessWidth.Word, 3, AccessWidth.Qword)
    return MmioRead(GuestPhysAddr(0x9000000), AccessWidth.Word, 3, AccessWidth.Qword, signed)


def test_an_absent_attribute_is_neither_python_none_nor_rust_none() -> None:
    assert _mmio().signed_ext is ABSENT and _mmio().byte_reg is ABSENT
    with pytest.raises(ModelError, match="signed_ext"):
        MmioRead(GuestPhysAddr(0), AccessWidth.Byte, 0, AccessWidth.Qword, None)  # type: ignore[arg-type]
    # x86 axvm 0.8: byte_reg is an Option, so None is a value there
    x86 = MmioRead(GuestPhysAddr(0), AccessWidth.Byte, 0, AccessWidth.Qword, False, None)
    validate(x86, A8, "x86_64")
    with pytest.raises(ModelError, match="byte_reg"):
        validate(x86, A8, "aarch64")


def test_mmio_read_without_signed_ext_fits_schema_0_1_only() -> None:
    validate(_mmio(), G1, "aarch64")
    with pytest.raises(ModelError, match=r"missing \['signed_ext'\]"):
        validate(_mmio(), G2, "aarch64")
    with pytest.raises(ModelError, match=r"extra \['signed_ext'\]"):
        validate(_mmio(True), G1, "aarch64")


def test_new_kinds_are_rejected_by_older_generations() -> None:
    with pytest.raises(ModelError, match="no variant of kind InterruptEnd"):
        validate(InterruptEnd(None), G2, "x86_64")
    with pytest.raises(ModelError, match="no variant of kind SendIPI"):
        validate(SendIPI(0, 0, False, False, 1), G1, "aarch64")
    with pytest.raises(ModelError, match="no variant of kind WaitForInterrupt"):
        validate(WaitForInterrupt(), G6, "aarch64")
    validate(WaitForInterrupt(), A8, "aarch64")
    with pytest.raises(ModelError, match="no variant of kind Halt"):
        validate(Halt(), A8, "aarch64")


def test_the_schema_checks_member_names_and_narrow_integers() -> None:
    validate(GicCpuInterfaceRead("PriorityMask", 3), A8, "aarch64")
    with pytest.raises(ModelError, match="PriorityMask"):
        validate(GicCpuInterfaceRead("Priority", 3), A8, "aarch64")
    with pytest.raises(ModelError, match="u32"):
        DeactivateInterrupt(1 << 32)
    with pytest.raises(ModelError, match="Legacy"):
        validate(SendIPIHartMask(1, 0, "Modern"), A8, "riscv64")


def test_constructors_range_check_fields() -> None:
    with pytest.raises(ModelError, match="u8"):
        InterruptEnd(256)
    with pytest.raises(ModelError, match="exactly 6"):
        Hypercall(0, (1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="u64"):
        IoWrite(Port(0x3F8), AccessWidth.Byte, 1 << 64)
    with pytest.raises(ModelError, match="u64"):
        SendIPISgi1r(1 << 64)
    with pytest.raises(ModelError, match="u8"):
        ByteReg(256, False)


def test_exit_to_json_uses_integers_width_names_and_canonical_attributes() -> None:
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
    assert exit_to_json(CpuDown(7)) == {"variant": "CpuDown", "fields": {"state": 7}}
    assert exit_to_json(SysRegRead(SysRegAddr(0x1B))) == {"variant": "SysRegRead",
                                                          "fields": {"addr": 0x1B}}


def test_exit_from_json_inverts_to_json_and_checks_the_attribute_set() -> None:
    e = IoWrite(Port(0x604), AccessWidth.Word, 0x2000)
    assert exit_from_json(exit_to_json(e), G6, "x86_64") == e
    with pytest.raises(ModelError, match=r"missing \['signed_ext'\]"):
        exit_from_json(exit_to_json(_mmio()), G6, "aarch64")
    with pytest.raises(ModelError, match="unknown exit variant"):
        exit_from_json({"variant": "Bogus", "fields": {}}, G6, "aarch64")
    s = IoString(Port(0x60), AccessWidth.Byte, "In", GuestPhysAddr(0x1000), 1, None, True, 9)
    assert exit_from_json(exit_to_json(s), A8, "x86_64") == s


def test_results_written_before_the_schemas_still_read() -> None:
    # CpuDown's attribute was spelled with axvcpu's Rust name then.
    assert exit_from_json({"variant": "CpuDown", "fields": {"_state": 0}}, G2, "riscv64") \
        == CpuDown(0)


def test_canonical_round_trip_of_every_kind() -> None:
    for e in (_mmio(True), _mmio(), SysRegRead(SysRegAddr(5)), CpuDown(1),
              MmioRead(GuestPhysAddr(1), AccessWidth.Byte, 0, AccessWidth.Qword, False,
                       ByteReg(0, True)),
              SendIPIHartMask(3, 0, "SbiV02"), WaitForInterrupt()):
        assert from_canonical(to_canonical(e)) == e
