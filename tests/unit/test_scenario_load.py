"""Scenario files: what loads, and every mistake as one line naming the file and its line."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.scenarios.actions import Hypercall, MmioLoad, MmioStore, StartSecondary
from harness.scenarios.catalogue import Scenario
from harness.scenarios.load import EMITTERS, load_file, shipped_files

GOOD = '''arch = "aarch64"

[values]
DEV = 0x0800_0E00
NEXT = "$DEV + 0x10"
ARGS = [1, 2, 3, 4, 5, 6]
PANIC = "boom"

[[scenario]]
name = "one"
summary = "a store and a hypercall"
actions = [
  { type = "MmioStore", addr = "$NEXT", width = 4, value = "0xdead", reg = 2 },
  { type = "Hypercall", nr = 7, args = "$ARGS" },
]

[[scenario]]
name = "two"
summary = "a load that panics"
images = ["aarch64"]
actions = [{ type = "MmioLoad", addr = "$DEV - 0x10", width = 8 }]
expect_panic = "$PANIC"
console_input = "x"
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


def test_a_file_loads_to_scenarios_with_its_values_resolved(tmp_path: Path) -> None:
    got = load_file(write(tmp_path, GOOD))
    assert got.arch == "aarch64" and got.values["NEXT"] == 0x0800_0E10
    assert got.scenarios == (
        Scenario("one", "aarch64", "a store and a hypercall",
                 (MmioStore(0x0800_0E10, 4, 0xDEAD, reg=2), Hypercall(7, (1, 2, 3, 4, 5, 6)))),
        Scenario("two", "aarch64", "a load that panics", (MmioLoad(0x0800_0DF0, 8),),
                 images=("aarch64",), expect_panic="boom", console_input=b"x"),
    )


def test_a_started_vcpu_declares_its_own_actions(tmp_path: Path) -> None:
    text = GOOD.replace('{ type = "Hypercall", nr = 7, args = "$ARGS" }',
                        '{ type = "StartSecondary", cpu = 1, arg = 0x42, report_arg_to = "$DEV",'
                        ' actions = [{ type = "Hypercall", nr = 7, args = "$ARGS" }] }')
    action = load_file(write(tmp_path, text)).scenarios[0].actions[1]
    assert action == StartSecondary(1, 0x42, 0x0800_0E00, actions=(Hypercall(7, (1, 2, 3, 4, 5,
                                                                                     6)),))


# (what to replace in GOOD, by what, the line the error must name, a fragment of the message)
MISTAKES = [
    ('arch = "aarch64"', 'arch = "mips"', 1, "expected `arch` = one of"),
    ('arch = "aarch64"', 'arch = "aarch64"\ncolour = 1', 2, "unknown top-level key `colour`"),
    ('NEXT = "$DEV + 0x10"', 'NEXT = "$DEVICE + 0x10"', 5, "names no entry of [values]"),
    ('PANIC = "boom"', 'PANIC = true', 7, "expected an integer"),
    ('name = "two"', 'name = "one"', 18, "expected a new name"),
    ('name = "two"', 'name = "two words"', 18, "expected a new name"),
    ('summary = "a load that panics"', 'summary = """two\nlines"""', 19, "one-line summary"),
    ('summary = "a load that panics"\n', '', 17, "lacks `summary`"),
    ('images = ["aarch64"]', 'images = "aarch64"', 20, "expected a list of strings"),
    ('images = ["aarch64"]', 'colour = "red"', 20, "unknown key `colour`"),
    ('console_input = "x"', 'expect_hang = "yes"', 23, "expected true or false"),
    ('console_input = "x"', 'expect_async = ["ExternalInterupt"]', 23,
     "expected an exit variant name"),
    ('console_input = "x"', 'expect_async = ["ExternalInterrupt vector"]', 23,
     "'vector' is not field=value"),
    ('console_input = "x"', 'expect_async = ["ExternalInterrupt vector=nine"]', 23,
     "invalid literal"),
    ('expect_panic = "$PANIC"', 'expect_panic = "$ARGS"', 22, "names no string"),
    ('  { type = "Hypercall", nr = 7, args = "$ARGS" },',
     '  { type = "Hypercall", nr = 7, args = [1, 2] },', 14, "a list of 6 integers"),
    ('  { type = "Hypercall", nr = 7, args = "$ARGS" },',
     '  { type = "Teleport" },', 14, "unknown action type 'Teleport'"),
    ('value = "0xdead"', 'value = "lots"', 13, "expected an integer or a 0x… string"),
    ('value = "0xdead"', 'value = "$ARGS"', 13, "expected an integer, but '$ARGS' is"),
    ('value = "0xdead"', 'value = "$PANIC + 1"', 13, "only an integer value takes an offset"),
    ('reg = 2 }', 'reg = 2, colour = 1 }', 13, "MmioStore has no field(s) colour"),
    ('{ type = "MmioLoad", addr = "$DEV - 0x10", width = 8 }',
     '{ type = "MmioLoad", addr = "$DEV - 0x10" }', 21, "missing 1 required"),
    # the emitter's own checks, at load time
    ('{ type = "MmioLoad", addr = "$DEV - 0x10", width = 8 }',
     '{ type = "MmioLoad", addr = "$DEV - 0x10", width = 8, signed = true }', 21,
     "no sign-extending 64-bit load"),
    ('{ type = "MmioLoad", addr = "$DEV - 0x10", width = 8 }',
     '{ type = "SbiCall", eid = 1, fid = 0 }', 21, "no aarch64 form for SbiCall"),
    ('reg = 2 }', 'reg = 20 }', 13, "register x20 is not available"),
    # caught only after the image build, or never, before session 7
    ('value = "0xdead"', 'value = "0x1ffffffffffffffffffff"', 13,
     "does not fit an unsigned 64-bit register"),
    ('{ type = "MmioLoad", addr = "$DEV - 0x10", width = 8 }',
     '{ type = "MmioLoad", addr = -16, width = 8 }', 21, "does not fit an unsigned 64-bit"),
    ('{ type = "MmioLoad", addr = "$DEV - 0x10", width = 8 }',
     '{ type = "SysRegRead", name = "nosuch_el1" }', 21, "unknown AArch64 system register"),
    ('console_input = "x"', 'expect_hang = true', 17,
     "declares expect_panic and expect_hang: a run ends one way"),
]


@pytest.mark.parametrize(("old", "new", "line", "message"), MISTAKES,
                         ids=[m[3][:40] for m in MISTAKES])
def test_every_mistake_is_one_line_naming_file_and_line(
        tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(UsageError) as err:
        load_file(path)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"{path}:{line}: "), text
    assert message in text, text


def test_a_riscv64_file_cannot_use_an_aarch64_action(tmp_path: Path) -> None:
    path = write(tmp_path, 'arch = "riscv64"\n\n[[scenario]]\nname = "w"\nsummary = "s"\n'
                           'actions = [\n  { type = "SbiCall", eid = 1, fid = 0 },\n'
                           '  { type = "WaitForInterrupt" },\n]\n')
    with pytest.raises(UsageError, match=rf"^{path}:8: no riscv64 form for WaitForInterrupt"):
        load_file(path)


def test_invalid_toml_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('name = "two"', 'name = two'))
    with pytest.raises(UsageError, match=rf"^{path}:18: not valid TOML"):
        load_file(path)


def test_an_unreadable_or_empty_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read scenario file"):
        load_file(tmp_path / "absent.toml")
    with pytest.raises(UsageError, match=r":1: expected at least one \[\[scenario\]\]"):
        load_file(write(tmp_path, 'arch = "x86_64"\n'))


def _header(path: Path) -> str:
    lines = path.read_text().splitlines()
    return "\n".join(ln for ln in lines[: lines.index(next(x for x in lines
                                                          if not x.startswith("#")))])


@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: p.name)
def test_each_shipped_file_documents_every_key_and_action_field_at_its_top(path: Path) -> None:
    header = _header(path)
    arch = load_file(path).arch
    for f in dataclasses.fields(Scenario):
        if f.name != "arch":
            assert f"#     {f.name} " in header, f"{path.name} does not document {f.name}"
    for cls in EMITTERS[arch].ACTIONS:
        found = re.search(rf"^#   {cls.__name__} .*(?:\n#    +.*)*", header, re.M)
        assert found, f"{path.name} lacks action {cls.__name__}"
        for f in dataclasses.fields(cls):
            if arch == "x86_64" and f.name in ("reg", "signed", "reg64", "form", "extend",
                                               "scaled"):
                continue  # real mode: AL/AX/EAX, 16-bit addressing (said in the header)
            if arch == "riscv64" and f.name in ("reg64", "index", "extend", "scaled"):
                continue  # always 64-bit registers, no register offset (said in the header)
            assert re.search(rf"\b{f.name}\b", found.group()), \
                f"{path.name}: {cls.__name__}.{f.name} undocumented"


# One plausible instance of every action type, valid wherever the type has a form.
SAMPLES = {
    "MmioStore": {"aarch64": MmioStore(0x0800_0E00, 4, 1, reg=2),
                  "riscv64": MmioStore(0x0C00_1F00, 4, 1, reg=12),
                  "x86_64": MmioStore(0xA_0000, 1, 1)},
    "MmioLoad": {"aarch64": MmioLoad(0x0800_0E00, 4), "riscv64": MmioLoad(0x0C00_1F00, 4, reg=13),
                 "x86_64": MmioLoad(0xA_0000, 1)},
}


@pytest.mark.parametrize("arch", sorted(EMITTERS))
def test_the_registered_forms_are_exactly_what_the_emitter_emits(arch: str) -> None:
    """An action type is in an emitter's ACTIONS if and only if emitting it does not end in
    "has no <arch> form": the load-time check and the run agree."""
    from harness.scenarios import actions as A
    from harness.scenarios.load import check_form

    generic: dict[str, object] = {
        "AtomicSwap": A.AtomicSwap(0x0C00_1F00, 4, 1), "JumpTo": A.JumpTo(0x9_0000),
        "Hypercall": A.Hypercall(1, (1, 2, 3, 4, 0, 0)), "SbiCall": A.SbiCall(1, 0, (65,)),
        "PortOut": A.PortOut(0x604, 1, 1), "PortIn": A.PortIn(0x604, 1),
        "SysRegRead": A.SysRegRead("cntpct_el0" if arch == "aarch64" else
                                   "time" if arch == "riscv64" else "efer"),
        "SysRegWrite": A.SysRegWrite("cntp_ctl_el0" if arch == "aarch64" else
                                     "sscratch" if arch == "riscv64" else "efer", 0),
        "PsciCall": A.PsciCall(0x8400_0000), "StartSecondary": A.StartSecondary(1, 0, 0x1000),
        "AwaitConsoleInput": A.AwaitConsoleInput(), "Delay": A.Delay(1),
        "WaitForInterrupt": A.WaitForInterrupt(), "Spin": A.Spin(), "SystemOff": A.SystemOff()}
    emitter = EMITTERS[arch]
    for cls in typing.get_args(A.Action):
        action = SAMPLES[cls.__name__][arch] if cls.__name__ in SAMPLES else \
            generic[cls.__name__]
        try:
            emitter.emit_payload((action,))
            emitted = ""
        except UsageError as exc:
            emitted = str(exc)
        if cls in emitter.ACTIONS:
            assert "form" not in emitted, f"{arch} registers {cls.__name__}: {emitted}"
        else:
            assert f"no {arch} form" in emitted or f"has no {arch} form" in emitted, \
                f"{arch} emits {cls.__name__} without registering it"
            with pytest.raises(UsageError, match=f"no {arch} form for {cls.__name__}"):
                check_form(arch, action, UsageError)  # type: ignore[arg-type]


def test_two_files_of_one_arch_cannot_share_a_scenario_name(tmp_path: Path) -> None:
    from harness.scenarios import registry

    one, two = tmp_path / "one.toml", tmp_path / "two.toml"
    one.write_text(GOOD)
    two.write_text(GOOD.replace('name = "two"', 'name = "three"'))
    try:
        with pytest.raises(UsageError, match=f"{two}: scenario aarch64/one is also in {one}"):
            registry.use_files([one, two])
        registry.use_files([one])
        assert [s.name for s in registry.scenarios_for("aarch64")] == ["one", "two"]
        assert registry.all_arches() == ("aarch64",)
    finally:
        registry.use_files(None)
    assert len(registry.scenarios_for("aarch64")) > 2  # the catalogue again


def test_an_end_declared_per_image_replaces_the_scenario_s_own_there_only(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('arch = "aarch64"\n[[scenario]]\nname = "x"\nsummary = "x"\n'
                 'actions = [{ type = "JumpTo", addr = 0x9000_0000 }]\n'
                 'expect_panic = "boom"\n'
                 'on = { "new" = { expect_panic = "", expect_vm_error = "stopped" } }\n')
    (sc,) = load_file(f).scenarios
    assert (sc.expect_panic, sc.expect_vm_error) == ("boom", "")
    new = sc.for_image("new")
    assert (new.expect_panic, new.expect_vm_error, new.actions) == ("", "stopped", sc.actions)
    assert sc.for_image("old") is sc


def test_an_end_declaration_may_not_change_what_the_guest_does(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('arch = "aarch64"\n[[scenario]]\nname = "x"\nsummary = "x"\n'
                 'actions = [{ type = "JumpTo", addr = 0x9000_0000 }]\n'
                 'on = { "new" = { actions = [] } }\n')
    with pytest.raises(UsageError, match=r"s\.toml:6: `on\.new`: unknown key `actions`"):
        load_file(f)
