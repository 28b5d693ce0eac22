"""Pin the field value types to the behaviour of the Rust types they mirror."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.model.values import (
    AccessWidth,
    GuestPhysAddr,
    MappingFlags,
    ModelError,
    Port,
    SysRegAddr,
    check_u64,
)


def test_access_width_sizes_are_bytes_1_2_4_8() -> None:
    assert [w.size() for w in AccessWidth] == [1, 2, 4, 8]


def test_access_width_bits_range_is_half_open_from_zero() -> None:
    assert AccessWidth.Byte.bits_range() == range(0, 8)
    assert AccessWidth.Word.bits_range() == range(0, 16)
    assert AccessWidth.Dword.bits_range() == range(0, 32)
    assert AccessWidth.Qword.bits_range() == range(0, 64)


@pytest.mark.parametrize("size", [0, 3, 5, 6, 7, 16, -1, 9])
def test_access_width_from_size_rejects_non_power_widths(size: int) -> None:
    with pytest.raises(ModelError, match="not one of 1, 2, 4, 8"):
        AccessWidth.from_size(size)


def test_access_width_from_size_accepts_exactly_1_2_4_8() -> None:
    assert AccessWidth.from_size(1) is AccessWidth.Byte
    assert AccessWidth.from_size(2) is AccessWidth.Word
    assert AccessWidth.from_size(4) is AccessWidth.Dword
    assert AccessWidth.from_size(8) is AccessWidth.Qword


def test_access_width_orders_like_rust_derive_declaration_order() -> None:
    assert AccessWidth.Byte < AccessWidth.Word < AccessWidth.Dword < AccessWidth.Qword
    assert max(AccessWidth) is AccessWidth.Qword
    assert sorted([AccessWidth.Qword, AccessWidth.Byte]) == [AccessWidth.Byte, AccessWidth.Qword]


def test_model_error_is_a_harness_error() -> None:
    assert issubclass(ModelError, HarnessError)


@pytest.mark.parametrize(
    ("factory", "value"),
    [
        (GuestPhysAddr, 1 << 64),
        (GuestPhysAddr, -1),
        (Port, 0x10000),
        (SysRegAddr, 1 << 64),
        (MappingFlags, 1 << 64),
    ],
)
def test_newtypes_reject_values_outside_their_rust_type(factory: type, value: int) -> None:
    with pytest.raises(ModelError, match="out of range"):
        factory(value)


def test_u64_check_accepts_bounds_and_rejects_bool() -> None:
    assert check_u64(0) == 0
    assert check_u64(2**64 - 1) == 2**64 - 1
    with pytest.raises(ModelError, match="expected u64"):
        check_u64(True)


def test_mapping_flags_bit_values_match_page_table_entry() -> None:
    # page_table_entry: READ=1<<0 WRITE=1<<1 EXECUTE=1<<2 USER=1<<3 DEVICE=1<<4 UNCACHED=1<<5
    assert MappingFlags.of("READ", "WRITE").bits == 0b11
    assert MappingFlags.of("EXECUTE").bits == 4
    assert MappingFlags.of("USER").bits == 8
    assert MappingFlags.of("DEVICE").bits == 16
    assert MappingFlags.of("UNCACHED").bits == 32


def test_mapping_flags_keep_unknown_bits_separately() -> None:
    f = MappingFlags(0x41)
    assert f.names() == ("READ",)
    assert f.unknown_bits() == 0x40


def test_mapping_flags_reject_unknown_names() -> None:
    with pytest.raises(ModelError, match="unknown flag"):
        MappingFlags.of("READ", "NOPE")
