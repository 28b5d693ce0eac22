"""Loading schemas/*.toml: the API over the real files, and every malformed file reported as
one line `file:line: message` pointing at the offending key (a copy of schemas/ is edited)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.schema import SchemaLookupError, load_schemas
from harness.schema.load import schema_dir

SCHEMAS = load_schemas()
AXVM = SCHEMAS.get("axvm-0.8")


def test_api_names_variants_kinds_and_categories_per_arch() -> None:
    assert AXVM.enum("x86_64").name == "X86VmExit"
    assert AXVM.rust_name("x86_64", "IoRead") == "PortIoRead"
    assert AXVM.rust_name("aarch64", "SendIPISgi1r") == "SendIPI"
    found = AXVM.by_rust_name("x86_64", "MsrRead")
    assert found is not None and (found.kind, found.attrs) == ("SysRegRead", ("addr",))
    assert AXVM.by_rust_name("aarch64", "MsrRead") is None
    assert AXVM.attrs("x86_64", "IoString")[:3] == ("port", "width", "direction")
    assert AXVM.category("riscv64", "SendIPIHartMask") == "Multiprocessing"
    assert AXVM.category("aarch64", "WaitForInterrupt") == "Interrupts & Faults"
    assert "PortIoString" in AXVM.rust_names() and "PortIoString" not in AXVM.rust_names("riscv64")
    assert not AXVM.has("aarch64", "SystemDown") and AXVM.has("riscv64", "SystemDown")
    with pytest.raises(SchemaLookupError, match=r"ArmVmExit \(axvm-0.8, aarch64\) has no variant"):
        AXVM.variant("aarch64", "CpuUp")


def test_new_only_kinds_are_relative_to_the_baseline() -> None:
    assert AXVM.new_only_kinds("x86_64") == ("IoString",)
    assert AXVM.new_only_kinds("riscv64") == ("RiscvMachineExit", "SendIPIHartMask")
    assert SCHEMAS.get("axvcpu-0.6").new_only_kinds("aarch64") == ("PreemptionTimer",
                                                                    "InterruptEnd")
    assert SCHEMAS.get("axvcpu-0.1").new_only_kinds("aarch64") == ()


def test_changes_say_where_psci_calls_went() -> None:
    psci = {c.old: c.fixed["nr"] for c in AXVM.changes_for("aarch64") if c.new == "Hypercall"}
    assert psci["SystemDown"] == 0x8400_0008 and psci["CpuDown"] == 0x8400_0002
    assert {c.new for c in AXVM.changes_for("aarch64") if c.old == "Halt"} == {"WaitForInterrupt"}


def test_every_type_and_enum_names_its_source() -> None:
    for schema in SCHEMAS:
        assert schema.source
        for arch in schema.arches:
            assert " src/" in schema.enum(arch).source
        for change in schema.changes:
            assert change.source and change.what


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(schema_dir(), target)
    return target


def _edit(directory: Path, name: str, old: str, new: str) -> tuple[Path, str]:
    path = directory / name
    text = path.read_text()
    assert text.count(old) >= 1, old
    text = text.replace(old, new, 1)
    path.write_text(text)
    return path, text


def _line_of(text: str, marker: str, nth: int = 0) -> int:
    at = -1
    for _ in range(nth + 1):
        at = text.index(marker, at + 1)
    return text.count("\n", 0, at) + 1


CASES = [
    # (file, old, new, marker of the line the error must name, message fragment)
    ("axvm-0.8.toml", 'kind = "WaitForInterrupt"', 'kind = "WaitForIrq"',
     'kind = "WaitForIrq"', "kind 'WaitForIrq' is not in canonical.toml"),
    ("axvm-0.8.toml", '["intid", "intid", "u32"]', '["intid", "irq", "u32"]',
     '["intid", "irq", "u32"]', "attribute 'irq' is not one of DeactivateInterrupt's"),
    ("axvm-0.8.toml", '["intid", "intid", "u32"]', '["intid", "intid", "u31"]',
     '["intid", "intid", "u31"]', "unknown type 'u31'"),
    ("axvm-0.8.toml", '["intid", "intid", "u32"]', '["intid", "intid", "[u32; x]"]',
     '["intid", "intid", "[u32; x]"]', "expected an array length"),
    ("axvm-0.8.toml", 'X86Port = { debug = "X86Port({:#x})"',
     'X86Port = { debug = "X86Port({:#X})"', "X86Port = {",
     "[types] X86Port: expected a write! template"),
    ("axvm-0.8.toml", 'X86PortIoDirection = { enum = ["In", "Out"], source', 'X86PortIoDirection = '
     '{ enum = ["In", "Out"], sauce', "X86PortIoDirection = {", "unknown key 'sauce'"),
    ("axvm-0.8.toml", 'rust = "WaitForInterrupt"\nkind = "WaitForInterrupt"\nshape = "unit"',
     'rust = "WaitForInterrupt"\nkind = "WaitForInterrupt"\nshape = "struct"',
     'shape = "struct"\nnote = "a trapped WFI', "a struct variant needs fields"),
    ("axvm-0.8.toml", 'fields = [["0", "*", "RiscvIpiRequest"]]',
     'fields = [["1", "*", "RiscvIpiRequest"]]', '["1", "*"', "must be named \"0\""),
    ("axvm-0.8.toml", 'fields = [["0", "*", "RiscvIpiRequest"]]',
     'fields = [["0", "*", "RiscvGuestPhysAddr"]]', '["0", "*", "RiscvGuestPhysAddr"]',
     "needs a struct type"),
    ("axvm-0.8.toml", 'rust = "MsrWrite"', 'rust = "MsrRead"',
     'rust = "MsrRead"\nkind = "SysRegWrite"', "two variants with rust 'MsrRead'"),
    ("axvm-0.8.toml", "fixed = { nr = 0x8400_0008 }", 'fixed = { nr = "SYSTEM_OFF" }',
     'fixed = { nr = "SYSTEM_OFF" }', "fixed nr: Hypercall.nr: expected u64 integer"),
    ("axvm-0.8.toml", 'baseline = "axvcpu-0.6"', 'baseline = "axvcpu-0.5"',
     'baseline = "axvcpu-0.5"', "baseline 'axvcpu-0.5' is not a schema"),
    ("axvm-0.8.toml", 'id = "axvm-0.8"', 'id = "axvm-0.9"', 'id = "axvm-0.9"',
     "must be the file name"),
    ("axvm-0.8.toml", 'versions = ">=0.8.3, <0.9"', 'versions = ">=0.8.3, <0.9', 'versions =',
     "not TOML"),
    ("axvm-0.8.toml", 'old = "CpuDown"\nnew = "CpuDown"', 'old = "CpuDwn"\nnew = "CpuDown"',
     '[[change]]\narch = "riscv64"\nold = "CpuDwn"',
     "[[change]] riscv64: CpuDwn is not a kind of the baseline axvcpu-0.6"),
    ("canonical.toml", 'category = "Multiprocessing"\nattrs = ["value"]',
     'category = "Multiprocesing"\nattrs = ["value"]', '"Multiprocesing"', "is not one of"),
    ("axvcpu-0.6.toml", 'baseline = "axvcpu-0.2"', 'baseline = "axvm-0.8"',
     'baseline = "axvm-0.8"', "baseline cycle axvcpu-0.6 -> axvm-0.8 -> axvcpu-0.6"),
]


@pytest.mark.parametrize(("name", "old", "new", "marker", "message"), CASES)
def test_a_bad_schema_file_is_one_line_naming_file_and_line(
    tmp_path: Path, name: str, old: str, new: str, marker: str, message: str | None
) -> None:
    path, text = _edit(_copy(tmp_path), name, old, new)
    with pytest.raises(UsageError) as err:
        load_schemas(path.parent)
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith(f"{path}:{_line_of(text, marker)}: "), line
    if message is not None:
        assert message in line


def _drop_change(text: str, what_starts: str) -> str:
    at = text.index(f'what = "{what_starts}')
    start = text.rindex("[[change]]", 0, at)
    end = text.find("[[change]]", at)
    return text[:start] + (text[end:] if end != -1 else "")


@pytest.mark.parametrize(
    ("arch", "what", "message"),
    [
        ("aarch64", "PSCI SYSTEM_OFF", "aarch64: kind SystemDown of axvcpu-0.6 is gone without"),
        ("riscv64", "gone (no port I/O on riscv64", "riscv64: kind IoRead of axvcpu-0.6 is gone"),
        ("x86_64", "gains `byte_reg", "x86_64: kind MmioRead changed its attributes"),
        ("x86_64", "new: one element of INS/OUTS", "x86_64: kind IoString is new since"),
    ],
)
def test_every_baseline_kind_must_be_accounted_for_by_a_change(
    tmp_path: Path, arch: str, what: str, message: str
) -> None:
    directory = _copy(tmp_path)
    path = directory / "axvm-0.8.toml"
    text = _drop_change(path.read_text(), what)
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        load_schemas(directory)
    line = str(err.value)
    assert line.startswith(f"{path}:{_line_of(text, f'[enum.{arch}]')}: "), line
    assert message in line
