"""Program files (a finding's reproducer) and coverage combinations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.fuzz.coverage import Combo, combos, reg_class, synchronous
from harness.fuzz.generate import generate
from harness.fuzz.program import describe_action, load_program, write_program
from harness.scenarios.actions import Hypercall, MmioLoad, MmioStore, SbiCall, SystemOff


@pytest.mark.parametrize("arch", ["aarch64", "riscv64"])
def test_a_program_file_round_trips_every_action(arch: str, tmp_path: Path) -> None:
    for seed in range(30):
        sc = generate(arch, seed, 10)
        path = tmp_path / f"{sc.name}.json"
        write_program(path, sc, arch, {"seed": seed})
        recipe, back = load_program(path)
        assert recipe == arch and back.actions == sc.actions
        assert back.expect_panic == sc.expect_panic and back.arch == arch


def test_program_files_write_addresses_and_data_in_hex(tmp_path: Path) -> None:
    sc = generate("aarch64", 3, 4)
    write_program(tmp_path / "p.json", sc, "aarch64", {})
    actions = json.loads((tmp_path / "p.json").read_text())["actions"]
    for a in actions:
        for key in ("addr", "value", "nr"):
            if key in a:
                assert isinstance(a[key], str) and a[key].startswith("0x")
        if "width" in a:
            assert isinstance(a["width"], int)


def write(tmp_path: Path, obj: object) -> Path:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    return path


GOOD = {"format": "axharness-fuzz-program/1", "name": "n", "arch": "aarch64",
        "recipe": "aarch64", "actions": [{"type": "MmioStore", "addr": "0x8000e00",
                                          "width": 4, "value": 1, "reg": 2}]}


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.update(format="other"), "not a fuzz program file"),
    (lambda d: d.pop("arch"), '"arch"'),
    (lambda d: d.update(actions={}), '"actions" must be a non-empty list'),
    (lambda d: d["actions"].append({"type": "Teleport"}), "unknown action type 'Teleport'"),
    (lambda d: d["actions"][0].update(colour=1), "no field(s) colour"),
    (lambda d: d["actions"][0].update(addr="zero"), "expected an integer"),
    (lambda d: d["actions"][0].pop("addr"), "MmioStore"),
    (lambda d: d["actions"].append({"type": "MmioLoad", "addr": 1, "width": 4,
                                    "signed": "yes"}), "expected true or false"),
    # checked as a scenario's actions are (session 7): the arch's forms, 64-bit values, names
    (lambda d: d["actions"].append({"type": "SbiCall", "eid": 1, "fid": 0}),
     "no aarch64 form for SbiCall"),
    (lambda d: d["actions"][0].update(value=1 << 64), "does not fit an unsigned 64-bit"),
    (lambda d: d.update(name="../x"), '"name" must be letters'),
])
def test_a_malformed_program_file_is_a_one_line_usage_error(
        tmp_path: Path, mutate: object, message: str) -> None:
    data = json.loads(json.dumps(GOOD))
    assert callable(mutate)
    mutate(data)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        load_program(write(tmp_path, data))
    assert "\n" not in str(e.value)


def test_unreadable_and_non_json_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        load_program(tmp_path / "absent.json")
    with pytest.raises(UsageError, match="not valid JSON"):
        load_program(write(tmp_path, "{nope"))


def test_actions_read_in_one_line_with_hex_data() -> None:
    line = describe_action(Hypercall(0x4AB1, (1, 2, 3, 4, 5, 6)))
    assert line == "Hypercall(nr=0x4ab1, args=[0x1, 0x2, 0x3, 0x4, 0x5, 0x6])"


def test_register_classes_follow_the_register_the_instruction_names() -> None:
    assert reg_class("aarch64", MmioStore(0, 8, 0, reg=31)) == "xzr"
    assert reg_class("aarch64", MmioStore(0, 2, 0, reg=31)) == "wzr"
    assert reg_class("aarch64", MmioStore(0, 2, 5, reg=3)) == "w"
    assert reg_class("aarch64", MmioLoad(0, 1, reg=3, signed=True, reg64=True)) == "x"
    assert reg_class("aarch64", MmioLoad(0, 1, reg=3, signed=False, reg64=True)) == "w"
    assert reg_class("riscv64", MmioStore(0, 4, 0, reg=0)) == "x0"
    assert reg_class("riscv64", MmioLoad(0, 4, reg=9, form="compressed", signed=True)) == "x8-x15"
    assert reg_class("riscv64", MmioLoad(0, 4, reg=20)) == "gpr"


def ex(variant: str) -> dict[str, object]:
    return {"variant": variant, "fields": {}}


def test_asynchronous_exits_do_not_shift_actions_against_exits() -> None:
    expected = [ex("MmioWrite"), ex("Hypercall"), ex("SystemDown")]
    observed = [ex("Nothing"), ex("MmioWrite"), ex("ExternalInterrupt"), ex("Hypercall"),
                ex("SystemDown")]
    assert [o["variant"] for o in synchronous(expected, observed)] == [
        "MmioWrite", "Hypercall", "SystemDown"]
    got = combos("aarch64", [MmioStore(0, 4, 1, reg=2), Hypercall(9, (0,) * 6)], expected,
                 observed)
    assert got == {Combo("MmioWrite", "4", "-", "w", "imm"),
                   Combo("Hypercall", "-", "-", "-", "Hypercall")}


def test_a_predicted_nothing_is_kept_in_place() -> None:
    expected = [ex("Nothing"), ex("SystemDown")]
    observed = [ex("Nothing"), ex("SystemDown")]
    assert combos("riscv64", [SbiCall(1, 0, (65,))], expected, observed) == {
        Combo("Nothing", "-", "-", "-", "SbiCall")}


def test_actions_whose_exit_never_came_count_nothing() -> None:
    got = combos("riscv64", [MmioStore(0, 4, 1, reg=5), SystemOff()], [ex("MmioWrite")], [])
    assert got == frozenset()
