"""Recipe validation (clear errors with file and line) and the ax-config merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.images.axconfig import generate, parse_entries
from harness.images.recipe import find_recipes, load_recipe

ROOT = Path(__file__).resolve().parents[2]


def test_every_recipe_in_the_repository_loads() -> None:
    recipes = [load_recipe(p, ROOT) for p in find_recipes(ROOT)]
    assert {r.arch for r in recipes} == {"aarch64", "riscv64", "x86_64"}
    assert all(len(r.axvisor_sha256) == 64 for r in recipes)


def _copy(tmp_path: Path, edit: tuple[str, str]) -> Path:
    src = (ROOT / "images/recipes/aarch64.toml").read_text()
    assert edit[0] in src
    p = ROOT / "images/recipes" / f"_test_{tmp_path.name}.toml"
    p.write_text(src.replace(*edit))
    return p


@pytest.mark.parametrize(("edit", "message"), [
    (('target = "aarch64', 'targte = "aarch64'), r":\d+: unknown key `build.targte`"),
    (('arch = "aarch64"', 'arch = "mips"'), r"`recipe.arch`: expected one of aarch64"),
    (('log_level = "trace"', 'log_level = 3'), r"`build.log_level`: expected a string"),
    (('source = "aarch64/runtime.S"', 'source = "aarch64/nope.S"'),
     r"`guest.source`: expected an existing file"),
    (('sha256 = "db7c', 'sha256 = "XYZ'), r"`axvisor.sha256`: expected a string matching"),
])
def test_a_bad_recipe_names_file_line_and_expectation(tmp_path: Path, edit: tuple[str, str],
                                                      message: str) -> None:
    p = _copy(tmp_path, edit)
    try:
        with pytest.raises(UsageError, match=message) as err:
            load_recipe(p, ROOT)
        assert str(p) in str(err.value)
    finally:
        p.unlink()


def test_the_cache_key_changes_with_the_content_of_a_named_file(tmp_path: Path) -> None:
    a = load_recipe(ROOT / "images/recipes/aarch64.toml", ROOT)
    p = _copy(tmp_path, ('vm_config = "vm-configs/aarch64.toml"',
                         'vm_config = "vm-configs/riscv64.toml"'))
    try:
        assert load_recipe(p, ROOT).digest() != a.digest()
    finally:
        p.unlink()


BASE = """arch = "unknown"            # str
task-stack-size = 0x40000   # uint
[plat]
max-cpu-num = 1                 # uint
phys-memory-base = 0        # uint
[devices]
mmio-ranges = []            # [(uint, uint)]
"""
PLAT = """arch = "riscv64"
[plat]
phys-memory-base = 0x8000_0000      # uint
boot-stack-size = 0x40000           # uint
[devices]
mmio-ranges = [
    [0x0c00_0000, 0x21_0000],       # PLIC
    [0x1000_0000, 0x1000],          # UART
]                                   # [(uint, uint)]
"""


def test_the_axconfig_merge_keeps_type_comments_and_applies_overrides(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text(BASE)
    (tmp_path / "p.toml").write_text(PLAT)
    out = generate(tmp_path / "b.toml", tmp_path / "p.toml", {"plat.max-cpu-num": 4})
    entries = {(e.table, e.key): e for e in parse_entries(out, "out")}
    assert entries[("", "arch")].text.startswith('arch = "riscv64"')
    assert entries[("", "arch")].type_comment == "# str"  # taken from the base file
    assert entries[("", "task-stack-size")].type_comment == "# uint"
    assert entries[("plat", "max-cpu-num")].text == "max-cpu-num = 4  # uint"
    assert entries[("plat", "boot-stack-size")].type_comment == "# uint"
    assert entries[("devices", "mmio-ranges")].type_comment == "# [(uint, uint)]"
    assert "0x1000_0000" in entries[("devices", "mmio-ranges")].text


def test_an_axconfig_override_of_an_unknown_key_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text(BASE)
    (tmp_path / "p.toml").write_text(PLAT)
    with pytest.raises(Exception, match=r"plat\.nope"):
        generate(tmp_path / "b.toml", tmp_path / "p.toml", {"plat.nope": 1})
