"""Known divergences' `access` classes: how they are read (mistakes named with file and line),
and that the repository's entries document the access of the scenarios they list, and no
other entry's."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.check.access import AccessClass, access_from_toml
from harness.check.known import KnownDivergence, load_known
from harness.errors import UsageError
from harness.scenarios.actions import Action, MmioLoad, MmioStore, StartSecondary
from harness.scenarios.registry import scenarios_for

REPO_KNOWN = Path(__file__).parents[1] / "conformance" / "known-divergences.toml"
ENTRIES = load_known(REPO_KNOWN)

ENTRY = """
[[divergence]]
id = "store-data"
arch = "aarch64"
axvisor = ["0.3.0-preview.2"]
variant = "MmioWrite"
fields = ["data"]
scenarios = ["s1"]
model = "m"
observed = "o"
source = "arm_vcpu 0.2.2 src/x.rs:1"
crate = "arm_vcpu 0.2.2"
access = { action = "MmioStore", width = [1, 2, 4], form = "imm" }
reviewed = 2026-11-01
expires = 2099-01-01
"""


def _actions(actions: tuple[Action, ...]) -> list[Action]:
    out: list[Action] = []
    for a in actions:
        out.append(a)
        if isinstance(a, StartSecondary):
            out += _actions(a.actions)
    return out


def listed_actions(entry: KnownDivergence) -> dict[str, list[Action]]:
    by_name = {s.name: s for s in scenarios_for(entry.arch)}
    return {name: _actions(by_name[name].actions) for name in entry.scenarios}


def test_an_access_class_matches_on_type_and_every_listed_field() -> None:
    cls = access_from_toml({"action": "MmioStore", "width": [1, 2], "form": "imm"})
    assert cls == AccessClass("MmioStore", (("width", (1, 2)), ("form", ("imm",))))
    assert cls.matches(MmioStore(0x100, 2, 5))
    assert not cls.matches(MmioStore(0x100, 4, 5))
    assert not cls.matches(MmioStore(0x100, 1, 5, form="pre"))
    assert not cls.matches(MmioLoad(0x100, 1))
    # True is not 1: a bool field is matched by a bool only
    assert not access_from_toml({"action": "MmioLoad", "width": [1]}).matches(
        MmioLoad(0x100, True))


@pytest.mark.parametrize(("access", "message"), [
    ('"MmioStore"', "must be a table"),
    ('{ action = "Store" }', "'Store' is no action type"),
    ('{ action = "MmioStore", size = 1 }', "MmioStore has no field 'size'"),
    ('{ action = "MmioStore", width = "1" }', "`access.width` must be a int"),
    ('{ action = "MmioLoad", signed = 1 }', "`access.signed` must be a bool"),
    ('{ action = "MmioStore", width = [] }', "non-empty list"),
    ('{ action = "StartSecondary", actions = [] }', "only int, str and bool fields"),
])
def test_a_bad_access_class_is_named_with_file_and_line(tmp_path: Path, access: str,
                                                        message: str) -> None:
    p = tmp_path / "k.toml"
    p.write_text("# c\n" + ENTRY.replace(
        'access = { action = "MmioStore", width = [1, 2, 4], form = "imm" }',
        f"access = {access}"))
    with pytest.raises(UsageError, match=rf"k\.toml:3: \[\[divergence\]\] .*{message}"):
        load_known(p)


@pytest.mark.parametrize("crate", ["arm_vcpu", "riscv_vcpu 0.5.9", "arm_vcpu 0.2.2 extra"])
def test_a_crate_must_be_name_and_version_and_be_what_the_source_cites(tmp_path: Path,
                                                                       crate: str) -> None:
    p = tmp_path / "k.toml"
    p.write_text(ENTRY.replace('crate = "arm_vcpu 0.2.2"', f'crate = "{crate}"'))
    with pytest.raises(UsageError, match=r"k\.toml:2: .*`crate`"):
        load_known(p)


def test_an_entry_reads_with_its_access_and_crate(tmp_path: Path) -> None:
    p = tmp_path / "k.toml"
    p.write_text(ENTRY)
    (k,) = load_known(p)
    assert k.crate == "arm_vcpu 0.2.2" and k.access is not None
    assert k.access.describe() == "MmioStore with width 1 or 2 or 4, form imm"


def _patched_on_every_image(version: str) -> set[str]:
    """"name version" of the crates every recipe of an axvisor version patches."""
    from harness.images.recipe import find_recipes, load_recipe
    from harness.paths import repo_root

    sets = [{f"{c.crate} {c.version}" for c in r.crate_patches}
            for r in (load_recipe(p, repo_root()) for p in find_recipes(repo_root()))
            if r.axvisor_version == version]
    return set.intersection(*sets) if sets else set()


def test_every_repository_entry_names_its_access_class_and_crate() -> None:
    # An entry quoting a crate that every image of its axvisor version patches (the current
    # line's instrumentation of axvm) cannot name it as `crate`, which would scope it to
    # unmodified builds of that crate only; its source must still start with the crate.
    assert ENTRIES
    for k in ENTRIES:
        assert k.access is not None, k.id
        if not k.crate:
            quoted = " ".join(k.source.split()[:2])
            assert all(quoted in _patched_on_every_image(v) for v in k.axvisor), k.id


@pytest.mark.parametrize("entry", ENTRIES, ids=[k.id for k in ENTRIES])
def test_each_scenario_an_entry_lists_performs_an_access_of_its_class(
        entry: KnownDivergence) -> None:
    assert entry.access is not None
    for name, actions in listed_actions(entry).items():
        assert any(entry.access.matches(a) for a in actions), (
            f"{entry.id}: no action of {name} is a {entry.access.describe()}")


@pytest.mark.parametrize("entry", ENTRIES, ids=[k.id for k in ENTRIES])
def test_no_entry_class_holds_for_a_scenario_only_another_entry_of_its_variant_lists(
        entry: KnownDivergence) -> None:
    """Entries of one variant are different causes: a program access must not fall under the
    class of an entry whose cause is another's (the masking of issue 13, item 3)."""
    assert entry.access is not None
    for other in ENTRIES:
        if other is entry or (other.arch, other.variant) != (entry.arch, entry.variant):
            continue
        for name, actions in listed_actions(other).items():
            if name in entry.scenarios:
                continue
            assert not any(entry.access.matches(a) for a in actions), (
                f"{entry.id}'s class {entry.access.describe()} holds in {name}, which only "
                f"{other.id} lists")


def test_a_binary_known_divergences_file_is_named_with_its_line(tmp_path: Path) -> None:
    p = tmp_path / "k.toml"
    p.write_bytes(ENTRY.encode().replace(b'model = "m"', b'model = "\xff\xfe"'))
    with pytest.raises(UsageError, match=r"k\.toml:9:10: not UTF-8"):
        load_known(p)
