"""The schema files reproduce today's generations exactly: variants, order, fields, attributes,
types, categories and value domains of harness/model/exits.py, and the version → generation
rule of Generation.for_axvcpu."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields

import pytest

from harness.model.exits import ALL_VARIANTS, VARIANT_BY_NAME, FieldKind, Generation
from harness.model.values import GuestPhysAddr, ModelError, Port, SysRegAddr
from harness.schema import ARCHES, DomainError, load_schemas
from harness.schema.codecs import Codec
from harness.schema.derived import Array

SCHEMAS = load_schemas()
GENERATIONS = {"axvcpu-0.1": Generation.G0_1, "axvcpu-0.2": Generation.G0_2,
               "axvcpu-0.6": Generation.G0_6}
# How each FieldKind of the model is written in the schema files (Rust type syntax).
TYPE_OF_KIND = {
    FieldKind.U64: "u64", FieldKind.USIZE: "usize", FieldKind.BOOL: "bool",
    FieldKind.GPA: "GuestPhysAddr", FieldKind.WIDTH: "AccessWidth", FieldKind.PORT: "Port",
    FieldKind.PORT_U16: "u16", FieldKind.SYSREG: "SysRegAddr", FieldKind.SYSREG_USIZE: "usize",
    FieldKind.FLAGS: "MappingFlags", FieldKind.ARGS6: "[u64; 6]", FieldKind.OPT_U8: "Option<u8>",
}
# The largest value of each FieldKind that the model's types accept.
LIMIT = {FieldKind.PORT: 0xFFFF, FieldKind.PORT_U16: 0xFFFF, FieldKind.OPT_U8: 0xFF}
MODEL_TYPE = {FieldKind.GPA: GuestPhysAddr, FieldKind.PORT: Port, FieldKind.PORT_U16: Port,
              FieldKind.SYSREG: SysRegAddr, FieldKind.SYSREG_USIZE: SysRegAddr}
CASES = [(sid, gen, arch) for sid, gen in GENERATIONS.items() for arch in ARCHES]


@pytest.mark.parametrize(("sid", "gen", "arch"), CASES)
def test_schema_file_has_the_models_variants_in_declaration_order(
    sid: str, gen: Generation, arch: str
) -> None:
    schema = SCHEMAS.get(sid)
    assert [v.rust for v in schema.variants(arch)] == list(gen.variant_names())
    assert [v.kind for v in schema.variants(arch)] == list(gen.variant_names())
    assert schema.enum(arch).name == "AxVCpuExitReason"


@pytest.mark.parametrize(("sid", "gen", "arch"), CASES)
def test_schema_file_has_the_models_fields_attributes_and_types(
    sid: str, gen: Generation, arch: str
) -> None:
    schema = SCHEMAS.get(sid)
    for name in gen.variant_names():
        want = [(s.name, s.attr, TYPE_OF_KIND[s.kind]) for s in gen.fields(name)]
        got = [(f.rust, f.attr, f.type) for f in schema.fields(arch, name)]
        assert got == want, name
        assert schema.variant(arch, name).shape == ("struct" if want else "unit")


@pytest.mark.parametrize("sid", GENERATIONS)
def test_categories_are_the_models(sid: str) -> None:
    schema = SCHEMAS.get(sid)
    for v in schema.variants("aarch64"):
        assert v.category == VARIANT_BY_NAME[v.kind].CATEGORY.value, v.kind


def test_canonical_kinds_have_the_dataclasses_attributes_where_axvcpu_had_them() -> None:
    canonical = SCHEMAS.canonical.kinds
    for cls in ALL_VARIANTS:
        category, attrs = canonical[cls.VARIANT]
        used = {a for sid in GENERATIONS for v in SCHEMAS.get(sid).variants("x86_64")
                if v.kind == cls.VARIANT for a in v.attrs}
        assert [a for a in attrs if a in used] == [f.name for f in dataclass_fields(cls)]
        assert category == cls.CATEGORY.value


def _limit_value(codec: Codec, limit: int) -> object:
    """A value of `codec`'s shape whose integer is `limit` (arrays: every element)."""
    return (limit,) * codec.length if isinstance(codec, Array) else limit


@pytest.mark.parametrize("sid", GENERATIONS)
def test_integer_domains_are_as_strict_as_the_models(sid: str) -> None:
    schema, gen = SCHEMAS.get(sid), GENERATIONS[sid]
    checked = 0
    for name in gen.variant_names():
        for spec, f in zip(gen.fields(name), schema.fields("riscv64", name), strict=True):
            if spec.kind in (FieldKind.BOOL, FieldKind.WIDTH):
                continue
            limit = LIMIT.get(spec.kind, 2**64 - 1)
            f.codec.check(_limit_value(f.codec, limit), spec.name)
            with pytest.raises(DomainError):
                f.codec.check(_limit_value(f.codec, limit + 1), spec.name)
            with pytest.raises(DomainError):
                f.codec.check(_limit_value(f.codec, -1), spec.name)
            if spec.kind in MODEL_TYPE:  # the model's own type draws the line at the same place
                MODEL_TYPE[spec.kind](limit)
                with pytest.raises(ModelError):
                    MODEL_TYPE[spec.kind](limit + 1)
            checked += 1
    assert checked > 10


def test_widths_and_bools_accept_exactly_the_models_values() -> None:
    width = SCHEMAS.get("axvcpu-0.6").fields("aarch64", "MmioRead")[1].codec
    for name in ("Byte", "Word", "Dword", "Qword"):
        width.check(name, "width")
    for bad in ("byte", "Oword", 1):
        with pytest.raises(DomainError):
            width.check(bad, "width")
    flag = SCHEMAS.get("axvcpu-0.6").fields("aarch64", "MmioRead")[4].codec
    with pytest.raises(DomainError):
        flag.check(1, "signed_ext")


@pytest.mark.parametrize(
    "version", ["0.1.0", "0.1.1", "0.2.2", "0.5.9", "v0.5.9", "0.6.0", "0.7.2", "0.5.0-rc.1"]
)
def test_version_selects_the_same_generation_as_the_model(version: str) -> None:
    gen = Generation.for_axvcpu(version)
    schema = SCHEMAS.select("axvcpu", version)
    assert GENERATIONS[schema.id] is gen


def test_the_current_line_is_selected_by_its_axvm_version() -> None:
    assert SCHEMAS.select("axvm", "0.8.5").id == "axvm-0.8"
    assert SCHEMAS.select("axvm", "0.8.3").id == "axvm-0.8"
    with pytest.raises(Exception, match=r"no single schema for axvm 0\.8\.2"):
        SCHEMAS.select("axvm", "0.8.2")  # still had ExternalInterrupt: not this file
