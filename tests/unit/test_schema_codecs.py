"""Codec behaviour: hypothesis round trips (render → parse → equal, and the codec's regex
matches what it renders) for every variant of every schema in all four forms, and strictness:
only Rust's exact layout is read back, with an offset at the first difference."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.schema import CodecError, DomainError, Exit, Form, Schema, load_schemas
from harness.schema.codecs import Bool, Codec, Flags, Int, Text, UnitEnum, Value, parse, render
from harness.schema.derived import Array, Newtype, Optional, Record
from harness.schema.schema import Variant

SCHEMAS = load_schemas()


def values(codec: Codec) -> st.SearchStrategy[Value]:
    """Every value the Rust type can hold, edges weighted."""
    if isinstance(codec, Int | Text):
        bits = codec.bits if isinstance(codec, Int) else codec.number.bits
        top = (1 << bits) - 1
        return st.one_of(st.sampled_from([0, 1, top]), st.integers(0, top))
    if isinstance(codec, Bool):
        return st.booleans()
    if isinstance(codec, UnitEnum):
        return st.sampled_from(codec.names)
    if isinstance(codec, Flags):
        return st.one_of(st.integers(0, codec.known), st.integers(0, (1 << codec.bits) - 1))
    if isinstance(codec, Newtype):
        return values(codec.inner)
    if isinstance(codec, Optional):
        return st.one_of(st.none(), values(codec.inner))
    if isinstance(codec, Array):
        return st.tuples(*[values(codec.inner)] * codec.length)
    assert isinstance(codec, Record)
    return st.fixed_dictionaries({n: values(c) for n, c in codec.fields})


def exits(variant: Variant) -> st.SearchStrategy[Exit]:
    def build(value: Value) -> Exit:
        assert isinstance(value, Mapping)
        return Exit(variant.kind, variant.from_rust(value))

    return values(variant.codec).map(build)


VARIANTS = []
_seen: set[int] = set()
for _schema in SCHEMAS:
    for _arch in _schema.arches:
        _enum = _schema.enum(_arch)
        if id(_enum.variants) in _seen:  # axvcpu: one enum shared by every arch
            continue
        _seen.add(id(_enum.variants))
        VARIANTS += [(_schema.id, _arch, v.rust) for v in _enum.variants]


@pytest.mark.parametrize(("sid", "arch", "rust"), VARIANTS)
def test_every_variant_round_trips_in_every_form(sid: str, arch: str, rust: str) -> None:
    schema = SCHEMAS.get(sid)
    variant = schema.by_rust_name(arch, rust)
    assert variant is not None

    @settings(max_examples=25, deadline=None)
    @given(exits(variant), st.sampled_from(list(Form)))
    def run(exit_: Exit, form: Form) -> None:
        text = schema.render(arch, exit_, form)
        assert schema.parse(arch, text, form) == (exit_, form)
        assert re.fullmatch(variant.codec.pattern(form, ""), text)
        if form.pretty:  # the form is found from the text alone
            found, used = schema.parse(arch, text)
            assert found == exit_ and schema.render(arch, found, used) == text

    run()


AXVM = SCHEMAS.get("axvm-0.8")
OLD = SCHEMAS.get("axvcpu-0.6")


@pytest.mark.parametrize(
    ("schema", "arch", "text", "form", "at", "message"),
    [
        # hex spelled in upper case, or decimal with leading zeros, is not what Rust prints
        (AXVM, "aarch64", "MmioWrite {\n    addr: GPA(0x9000000),\n    width: Byte,\n"
         "    data: 0x4A,\n}", Form.PRETTY_HEX, "0x4A", "0x-prefixed hex u64"),
        (OLD, "x86_64", "IoRead { port: Port(01016), width: Byte }", Form.DEBUG, "01016",
         "decimal u16"),
        # a hand-written Debug ignores the flags: MSR(0x…) even in {:?} …
        (AXVM, "x86_64", "MsrRead { addr: MSR(27) }", Form.DEBUG, "27", "0x-prefixed hex"),
        (OLD, "x86_64", "IoRead { port: Port(0x3f8), width: Byte }", Form.DEBUG, "0x3f8",
         "decimal"),
        # … a derived field follows them: decimal in {:?}
        (AXVM, "riscv64", "CpuDown { state: 0x0 }", Form.DEBUG, "0x0", "decimal"),
        # the other generation's address spelling
        (AXVM, "aarch64", "MmioWrite { addr: GPA:0x900, width: Byte, data: 1 }", Form.DEBUG,
         "GPA:", "GPA(0x<hex>)"),
        (OLD, "aarch64", "MmioWrite { addr: GPA(0x900), width: Byte, data: 1 }", Form.DEBUG,
         "GPA(", "GPA:0x<hex>"),
        # pretty layout: trailing comma, 4-space indentation, nested indentation
        (OLD, "aarch64", "CpuDown {\n    _state: 0x0\n}", Form.PRETTY_HEX, "\n}", "','"),
        (OLD, "aarch64", "CpuDown {\n  _state: 0x0,\n}", Form.PRETTY_HEX, "\n  _state",
         "'\\n    _state: '"),
        (AXVM, "riscv64", "CpuUp {\n    target_cpu: 0x1,\n    entry_point: RiscvGuestPhysAddr(\n"
         "    0x80200000,\n    ),\n    arg: 0x0,\n}", Form.PRETTY_HEX, "\n    0x8020",
         "'\\n        '"),
        # bitflags: declaration order, no repeats
        (AXVM, "riscv64", "NestedPageFault { addr: RiscvGuestPhysAddr(4096), access_flags: "
         "RiscvAccessFlags(WRITE | READ) }", Form.DEBUG, "WRITE | READ", "not bitflags' spelling"),
        (OLD, "aarch64", "NestedPageFault { addr: GPA:0x0, access_flags: READ | READ }",
         Form.DEBUG, "READ | READ", "not bitflags' spelling"),
        # a variant of another architecture's enum
        (AXVM, "aarch64", "Halt", Form.DEBUG, "Halt",
         "expected a variant of ArmVmExit (axvm-0.8, aarch64)"),
        # a value out of the Rust type's range
        (AXVM, "x86_64", "InterruptEnd { vector: Some(256) }", Form.DEBUG, "256",
         "out of range for u8"),
        (AXVM, "x86_64", "PortIoRead { port: X86Port(0x10000), width: Byte }", Form.DEBUG,
         "0x10000", "out of range for u16"),
        # trailing text
        (AXVM, "aarch64", "Nothing {}", Form.DEBUG, " {}", "expected end of text"),
    ],
)
def test_only_rusts_exact_layout_is_read_back(
    schema: Schema, arch: str, text: str, form: Form, at: str, message: str
) -> None:
    with pytest.raises(CodecError) as err:
        schema.parse(arch, text, form)
    assert message in err.value.message
    assert err.value.offset == text.index(at)


def test_bitflags_spelling_follows_bitflags_2() -> None:
    flags = Flags("F", ("READ", "WRITE", "EXECUTE"), 64)
    named = Newtype("X86AccessFlags", flags)
    cases = {0: "0x0", 1: "READ", 6: "WRITE | EXECUTE", 0x18: "0x18", 0x41: "READ | 0x40"}
    for bits, text in cases.items():
        for form in Form:
            assert render(flags, bits, form) == text
            assert parse(flags, text, form) == bits
    assert render(named, 3, Form.DEBUG) == "X86AccessFlags(READ | WRITE)"
    assert render(named, 0, Form.PRETTY_HEX) == "X86AccessFlags(\n    0x0,\n)"


def test_domain_errors_name_the_field() -> None:
    with pytest.raises(DomainError, match=r"DeactivateInterrupt.intid: 4294967296 out of range"):
        AXVM.check("aarch64", Exit("DeactivateInterrupt", {"intid": 1 << 32}))
    with pytest.raises(DomainError, match=r"missing \['reg'\]"):
        OLD.check("x86_64", Exit("SysRegRead", {"addr": 0x10}))
    with pytest.raises(DomainError, match=r"RiscvIpiAbi|Legacy, SbiV02"):
        AXVM.check("riscv64", Exit("SendIPIHartMask",
                                   {"hart_mask": 1, "hart_mask_base": 0, "abi": "V01"}))
