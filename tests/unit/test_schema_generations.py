"""The axvcpu schema files pinned to the Rust sources (variant order, field names and types,
copied by hand from each exit.rs: axvcpu git 34fc106, 0.2.2, 0.7.2), and their value domains
against the model's own types: the files are now the only description of these generations."""

from __future__ import annotations

import pytest

from harness.model.schemas import schema_set
from harness.model.values import GuestPhysAddr, ModelError, Port, SysRegAddr
from harness.schema import ARCHES, DomainError
from harness.schema.codecs import Codec
from harness.schema.derived import Array

SCHEMAS = schema_set()
ORDER_0_1 = [
    "Hypercall", "MmioRead", "MmioWrite", "SysRegRead", "SysRegWrite", "IoRead", "IoWrite",
    "ExternalInterrupt", "NestedPageFault", "Halt", "CpuUp", "CpuDown", "SystemDown", "Nothing",
    "FailEntry",
]  # fmt: skip
ORDER = {"axvcpu-0.1": ORDER_0_1, "axvcpu-0.2": [*ORDER_0_1, "SendIPI"],
         "axvcpu-0.6": [*ORDER_0_1[:14], "PreemptionTimer", "InterruptEnd", "FailEntry",
                        "SendIPI"]}
# (Rust field, Rust type) per variant of axvcpu 0.7.2's exit.rs.
FIELDS_0_6 = {
    "Hypercall": [("nr", "u64"), ("args", "[u64; 6]")],
    "MmioRead": [("addr", "GuestPhysAddr"), ("width", "AccessWidth"), ("reg", "usize"),
                 ("reg_width", "AccessWidth"), ("signed_ext", "bool")],
    "MmioWrite": [("addr", "GuestPhysAddr"), ("width", "AccessWidth"), ("data", "u64")],
    "SysRegRead": [("addr", "SysRegAddr"), ("reg", "usize")],
    "SysRegWrite": [("addr", "SysRegAddr"), ("value", "u64")],
    "IoRead": [("port", "Port"), ("width", "AccessWidth")],
    "IoWrite": [("port", "Port"), ("width", "AccessWidth"), ("data", "u64")],
    "ExternalInterrupt": [("vector", "u64")],
    "NestedPageFault": [("addr", "GuestPhysAddr"), ("access_flags", "MappingFlags")],
    "Halt": [], "SystemDown": [], "Nothing": [], "PreemptionTimer": [],
    "CpuUp": [("target_cpu", "u64"), ("entry_point", "GuestPhysAddr"), ("arg", "u64")],
    "CpuDown": [("_state", "u64")],
    "InterruptEnd": [("vector", "Option<u8>")],
    "FailEntry": [("hardware_entry_failure_reason", "u64")],
    "SendIPI": [("target_cpu", "u64"), ("target_cpu_aux", "u64"), ("send_to_all", "bool"),
                ("send_to_self", "bool"), ("vector", "u64")],
}
# axvcpu 0.1 (git 34fc106): no signed_ext, bare usize/u16 for system registers and ports.
FIELDS_0_1 = {**FIELDS_0_6,
              "MmioRead": FIELDS_0_6["MmioRead"][:4],
              "SysRegRead": [("addr", "usize"), ("reg", "usize")],
              "SysRegWrite": [("addr", "usize"), ("value", "u64")],
              "IoRead": [("port", "u16"), ("width", "AccessWidth")],
              "IoWrite": [("port", "u16"), ("width", "AccessWidth"), ("data", "u64")]}
FIELDS = {"axvcpu-0.1": FIELDS_0_1, "axvcpu-0.2": FIELDS_0_6, "axvcpu-0.6": FIELDS_0_6}
CASES = [(sid, arch) for sid in ORDER for arch in ARCHES]


@pytest.mark.parametrize(("sid", "arch"), CASES)
def test_variants_in_rust_declaration_order(sid: str, arch: str) -> None:
    s = SCHEMAS.get(sid)
    assert [v.rust for v in s.variants(arch)] == ORDER[sid]
    assert [v.kind for v in s.variants(arch)] == ORDER[sid]
    assert s.enum(arch).name == "AxVCpuExitReason"


@pytest.mark.parametrize(("sid", "arch"), CASES)
def test_fields_and_types_as_in_exit_rs(sid: str, arch: str) -> None:
    s = SCHEMAS.get(sid)
    for name in ORDER[sid]:
        got = [(f.rust, f.type) for f in s.fields(arch, name)]
        assert got == FIELDS[sid][name], name
        assert s.variant(arch, name).shape == ("struct" if got else "unit")
        # attributes are the Rust names, but CpuDown's `_state`, which is `state`
        assert [f.attr for f in s.fields(arch, name)] == \
            [("state" if r == "_state" else r) for r, _ in FIELDS[sid][name]]


def _limit_value(codec: Codec, limit: int) -> object:
    return (limit,) * codec.length if isinstance(codec, Array) else limit


LIMIT = {"u16": 0xFFFF, "Port": 0xFFFF, "Option<u8>": 0xFF}
MODEL_TYPE = {"GuestPhysAddr": GuestPhysAddr, "Port": Port, "u16": Port,
              "SysRegAddr": SysRegAddr}


@pytest.mark.parametrize("sid", ORDER)
def test_integer_domains_are_as_strict_as_the_models_types(sid: str) -> None:
    s = SCHEMAS.get(sid)
    checked = 0
    for name in ORDER[sid]:
        for f in s.fields("riscv64", name):
            if f.type in ("bool", "AccessWidth"):
                continue
            limit = LIMIT.get(f.type, 2**64 - 1)
            f.codec.check(_limit_value(f.codec, limit), f.rust)
            with pytest.raises(DomainError):
                f.codec.check(_limit_value(f.codec, limit + 1), f.rust)
            with pytest.raises(DomainError):
                f.codec.check(_limit_value(f.codec, -1), f.rust)
            if f.type in MODEL_TYPE and not (sid == "axvcpu-0.1" and f.rust == "addr"
                                             and name.startswith("SysReg")):
                MODEL_TYPE[f.type](limit)
                with pytest.raises(ModelError):
                    MODEL_TYPE[f.type](limit + 1)
            checked += 1
    assert checked > 10


def test_widths_and_bools_accept_exactly_their_rust_values() -> None:
    width = SCHEMAS.get("axvcpu-0.6").fields("aarch64", "MmioRead")[1].codec
    for name in ("Byte", "Word", "Dword", "Qword"):
        width.check(name, "width")
    for bad in ("byte", "Oword", 1):
        with pytest.raises(DomainError):
            width.check(bad, "width")
    flag = SCHEMAS.get("axvcpu-0.6").fields("aarch64", "MmioRead")[4].codec
    with pytest.raises(DomainError):
        flag.check(1, "signed_ext")


@pytest.mark.parametrize(("version", "sid"), [
    ("0.1.0", "axvcpu-0.2"), ("0.1.1", "axvcpu-0.2"), ("0.2.2", "axvcpu-0.2"),
    ("0.5.9", "axvcpu-0.2"), ("v0.5.9", "axvcpu-0.2"), ("0.5.0-rc.1", "axvcpu-0.2"),
    ("0.6.0", "axvcpu-0.6"), ("0.7.2", "axvcpu-0.6"),
])
def test_a_published_axvcpu_version_selects_its_generation(version: str, sid: str) -> None:
    # published 0.1.x already has signed_ext, SysRegAddr and SendIPI: the git 0.1 schema is
    # only reachable by name
    assert SCHEMAS.select("axvcpu", version).id == sid


def test_the_current_line_is_selected_by_its_axvm_version() -> None:
    assert SCHEMAS.select("axvm", "0.8.5").id == "axvm-0.8"
    assert SCHEMAS.select("axvm", "0.8.3").id == "axvm-0.8"
    with pytest.raises(Exception, match=r"no single schema for axvm 0\.8\.2"):
        SCHEMAS.select("axvm", "0.8.2")  # still had ExternalInterrupt: not this file
