"""Recipe validation of the second format (exit schema, std builds) and the errors a user gets
for a bad recipe or a bad cache entry: one line, the file, the value's own line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import cli
from harness.errors import UsageError
from harness.images.build import _load_cached
from harness.images.recipe import find_recipes, load_recipe

ROOT = Path(__file__).resolve().parents[2]
CURRENT = ROOT / "images/recipes/aarch64-0.8.toml"
RISCV = ROOT / "images/recipes/riscv64.toml"


def _variant(tmp_path: Path, src: Path, old: str, new: str) -> Path:
    """A copy of `src` with one edit, in images/recipes/ (paths in it are relative there)."""
    text = src.read_text()
    assert old in text
    p = ROOT / "images/recipes" / f"_test_{tmp_path.name}.toml"
    p.write_text(text.replace(old, new, 1))
    return p


def _error(p: Path) -> str:
    try:
        with pytest.raises(UsageError) as err:
            load_recipe(p, ROOT)
    finally:
        p.unlink()
    return str(err.value)


def _line_of(p: Path, needle: str, nth: int = 1) -> int:
    lines = [i for i, ln in enumerate(p.read_text().splitlines(), 1) if needle in ln]
    return lines[nth - 1]


def test_a_binary_recipe_is_one_line_naming_the_file_and_exit_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "blob.toml"
    bad.write_bytes(b"[recipe]\nname = \"x\"\n\xff\xfe\x00binary\n")
    assert cli.main(["images", "build", "--recipe", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}:3: not a UTF-8 text file" in err
    assert "Traceback" not in err and "UnicodeDecodeError" not in err


def test_a_boolean_entry_is_not_an_address(tmp_path: Path) -> None:
    p = _variant(tmp_path, ROOT / "images/recipes/aarch64.toml", "entry = 0x8020_0000",
                 "entry = true")
    line = _line_of(p, "entry = true")
    assert f"{p}:{line}: `guest.entry`: expected a non-negative integer" in _error(p)


def test_a_boolean_axconfig_override_is_not_an_integer(tmp_path: Path) -> None:
    p = _variant(tmp_path, ROOT / "images/recipes/riscv64.toml",
                 '"plat.max-cpu-num" = 1', '"plat.max-cpu-num" = true')
    assert "`axconfig.overrides`: expected a table of dotted keys" in _error(p)


def test_a_bad_patch_entry_names_its_own_line(tmp_path: Path) -> None:
    p = _variant(tmp_path, RISCV, 'crate = "ax-cpu"', 'crate = "ax cpu"')
    line = _line_of(p, 'crate = "ax cpu"')
    assert line > 1
    assert f"{p}:{line}: `patch[1].crate`: expected a string matching" in _error(p)


def test_a_patch_entry_with_an_unknown_key_names_that_key_s_line(tmp_path: Path) -> None:
    p = _variant(tmp_path, RISCV, 'file = "patches/ax-cpu', 'flie = "patches/ax-cpu')
    line = _line_of(p, "flie = ")
    assert f"{p}:{line}: unknown key `patch.flie` in [[patch]] #2" in _error(p)


def test_a_file_entry_lacking_a_key_names_the_entry_s_line(tmp_path: Path) -> None:
    text = ('\n[[file]]\ndest = "a.txt"\nsource = "README.md"\nwhy = "x"\n'
            '\n[[file]]\ndest = "b.txt"\nsource = "README.md"\n')
    p = _variant(tmp_path, RISCV, "[guest]", text.lstrip("\n") + "\n[guest]")
    line = _line_of(p, "[[file]]", nth=2)
    assert f"{p}:{line}: [[file]] #2 (needs exactly dest, source, why) lacks `why`" in _error(p)


def test_schema_and_axvcpu_exclude_each_other(tmp_path: Path) -> None:
    p = _variant(tmp_path, CURRENT, 'schema = "axvm-0.8"',
                 'schema = "axvm-0.8"\naxvcpu = "0.2.2"')
    line = _line_of(p, 'schema = "axvm-0.8"')
    assert f"{p}:{line}: `axvisor.schema` and `axvisor.axvcpu` exclude each other" in _error(p)


def test_a_schema_needs_the_crate_and_version_it_is_pinned_to(tmp_path: Path) -> None:
    p = _variant(tmp_path, CURRENT, 'exit_crate = "axvm 0.8.5"', 'exit_crate = "axvm"')
    assert '`axvisor.exit_crate`: expected "<crate> <version>"' in _error(p)
    p = _variant(tmp_path, CURRENT, 'exit_crate = "axvm 0.8.5"\n', "")
    assert "[axvisor] needs `axvcpu`, or `schema` and `exit_crate`" in _error(p)


def test_an_unknown_exit_log_is_refused(tmp_path: Path) -> None:
    p = _variant(tmp_path, CURRENT, 'exit_log = "sync"', 'exit_log = "fast"')
    assert "`axvisor.exit_log`: expected one of trace, lossy-trace, sync" in _error(p)


def test_recipes_with_axvcpu_derive_their_schema_and_keep_their_canonical_keys() -> None:
    first_format = {"name", "arch", "axvisor", "axvcpu", "target", "features", "log_level",
                    "rustflags", "env", "to_bin", "extra_files", "crate_patches", "guest",
                    "axconfig"}
    old = [r for r in (load_recipe(p, ROOT) for p in find_recipes(ROOT)) if r.axvcpu_version]
    assert old
    for r in old:
        assert set(r.canonical()) == first_format, r.name  # same cache keys as before
        assert r.schema == "axvcpu-0.2" and r.exit_crate == ("axvcpu", r.axvcpu_version)
    current = load_recipe(CURRENT, ROOT)
    assert current.schema == "axvm-0.8" and current.exit_crate == ("axvm", "0.8.5")
    assert current.canonical()["schema"] == ["axvm-0.8", "axvm", "0.8.5"]
    assert current.canonical()["std"]["base"] == "aarch64-unknown-none-softfloat"


def test_a_corrupt_cached_image_is_rebuilt_with_the_reason(tmp_path: Path) -> None:
    recipe = load_recipe(ROOT / "images/recipes/aarch64.toml", ROOT)
    said: list[str] = []
    assert _load_cached(recipe, "k" * 64, tmp_path, said.append) is None
    assert said == []  # nothing cached: a plain miss
    d = tmp_path / "images" / ("k" * 64)
    d.mkdir(parents=True)
    (d / "manifest.json").write_text('{"outputs": {"axvisor.bin": "00"}}')
    assert _load_cached(recipe, "k" * 64, tmp_path, said.append) is None
    assert len(said) == 1
    assert "cached image kkkkkkkkkkkk of aarch64 is unusable, rebuilding" in said[0]
    assert "axvisor.bin" in said[0]


def test_an_unknown_schema_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    # It failed only after cargo had resolved the crates, as infrastructure (input audit).
    p = _variant(tmp_path, CURRENT, 'schema = "axvm-0.8"', 'schema = "axvnope-9.9"')
    line = _line_of(p, 'schema = "axvnope-9.9"')
    assert f"{p}:{line}: `axvisor.schema`: expected one of the schemas in schemas/" in _error(p)


def test_a_qemu_profile_must_exist_and_be_of_the_recipes_architecture(tmp_path: Path) -> None:
    p = _variant(tmp_path, CURRENT, 'profile = "aarch64-virt-el2-tcg"',
                 'profile = "riscv64-virt-h-tcg"')
    assert "`qemu.profile`: expected a profile of aarch64, got 'riscv64-virt-h-tcg'" in _error(p)
    p = _variant(tmp_path, CURRENT, 'profile = "aarch64-virt-el2-tcg"', 'profile = "nope"')
    assert "`qemu.profile`: expected one of " in _error(p)
