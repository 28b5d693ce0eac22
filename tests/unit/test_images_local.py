"""Crates from a local directory: the content digest that keys the image, the `[[local]]`
recipe key, `--crate`/`--axvisor`, the renamed image and what the manifest records."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness import cli
from harness.errors import InfraError, UsageError
from harness.images import local
from harness.images.build import modified_crates
from harness.images.recipe import load_recipe
from harness.images.select import local_options, select_recipes

ROOT = Path(__file__).resolve().parents[2]
AARCH64 = ROOT / "images/recipes/aarch64.toml"
RISCV = ROOT / "images/recipes/riscv64.toml"


def _crate(d: Path, name: str = "arm_vcpu") -> Path:
    (d / "src").mkdir(parents=True)
    (d / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "0.2.2"\n')
    (d / "src/lib.rs").write_text("pub fn f() -> u64 { 1 }\n")
    return d


def test_the_digest_follows_content_not_path_or_mtime(tmp_path: Path) -> None:
    a = _crate(tmp_path / "a")
    first = local.tree_digest(a)
    b = tmp_path / "elsewhere"
    a.rename(b)
    os.utime(b / "src/lib.rs", (1, 1))
    assert local.tree_digest(b) == first  # moved and touched: same content
    (b / "src/lib.rs").write_text("pub fn f() -> u64 { 2 }\n")
    edited = local.tree_digest(b)
    assert edited != first
    (b / "src/lib.rs").write_text("pub fn f() -> u64 { 1 }\n")
    assert local.tree_digest(b) == first  # a revert gives the earlier digest back
    (b / "src/new.rs").write_text("")
    assert local.tree_digest(b) != first  # an added empty file counts
    os.rename(b / "src/new.rs", b / "src/old.rs")
    renamed = local.tree_digest(b)
    (b / "src/old.rs").chmod(0o755)
    assert local.tree_digest(b) != renamed  # the executable bit counts (build scripts)


def test_build_output_and_vcs_metadata_do_not_change_the_digest(tmp_path: Path) -> None:
    a = _crate(tmp_path / "a")
    first = local.tree_digest(a)
    for junk in ("target/release/libx.rlib", ".git/index", "src/.git/x", ".jj/repo",
                 ".hg/store"):
        (a / junk).parent.mkdir(parents=True, exist_ok=True)
        (a / junk).write_text("anything")
    assert local.tree_digest(a) == first
    (a / "src/target").mkdir()  # a module named target is source, not cargo's output
    (a / "src/target/mod.rs").write_text("")
    assert local.tree_digest(a) != first


def test_crate_option_forms_are_checked_with_one_line_each(tmp_path: Path) -> None:
    d = _crate(tmp_path / "a")
    for value, message in (("arm_vcpu", "expected NAME=PATH"),
                           (f"arm vcpu={d}", "is not a crate name"),
                           (f"arm_vcpu={tmp_path}/none", "is not a crate directory"),
                           (f"riscv_vcpu={d}", f"{d} holds crate arm_vcpu, not riscv_vcpu")):
        with pytest.raises(UsageError) as err:
            local.parse_crate_option(value)
        assert str(err.value).startswith(f"--crate {value}: ") and message in str(err.value)
    c = local.parse_crate_option(f"arm-vcpu={d}")  # cargo's - and _ are one name
    assert c.path == d and c.digest == local.tree_digest(d)


def test_crate_option_renames_the_image_and_keys_it_by_content(tmp_path: Path) -> None:
    d = _crate(tmp_path / "a")
    stock = load_recipe(AARCH64, ROOT)
    (mine,) = select_recipes(ROOT, (), (str(AARCH64),), (local.parse_crate_option(
        f"arm_vcpu={d}"),))
    assert mine.name == f"aarch64+arm_vcpu@{local.tree_digest(d)[:8]}"
    assert mine.canonical()["local"] == [["arm_vcpu", local.tree_digest(d)]]
    assert str(d) not in json.dumps(mine.canonical())  # the path is not in the key
    assert "local" not in stock.canonical()  # stock keys unchanged
    moved = tmp_path / "b"
    d.rename(moved)
    (again,) = select_recipes(ROOT, (), ("aarch64",), (local.parse_crate_option(
        f"arm_vcpu={moved}"),))
    assert again.digest() == mine.digest()


def test_a_local_crate_replaces_the_recipe_s_patches_of_that_crate(tmp_path: Path) -> None:
    d = _crate(tmp_path / "a", "ax-io")
    stock = load_recipe(RISCV, ROOT)
    assert any(p.crate == "ax-io" for p in stock.crate_patches)
    mine = local.with_locals(stock, (local.parse_crate_option(f"ax-io={d}"),))
    assert not any(p.crate == "ax-io" for p in mine.crate_patches)
    assert local.patch_lines(mine.local_crates) == [f'ax-io = {{ path = "{d}" }}']


def _recipe_with(tmp_path: Path, extra: str) -> Path:
    p = tmp_path / "mine" / "variant.toml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(AARCH64.read_text().replace('name = "aarch64"', 'name = "mine"') + extra)
    return p


def test_a_recipe_local_path_is_relative_to_the_recipe_s_directory(tmp_path: Path) -> None:
    d = _crate(tmp_path / "mine" / "trees" / "arm_vcpu")
    p = _recipe_with(tmp_path, '\n[[local]]\ncrate = "arm_vcpu"\npath = "trees/arm_vcpu"\n')
    r = load_recipe(p, ROOT)  # the other paths still resolve against images/, guest-src/
    assert r.name == "mine" and [(c.crate, c.path) for c in r.local_crates] == [("arm_vcpu", d)]
    assert r.local_crates[0].origin == f"{p}:{p.read_text().splitlines().index('[[local]]') + 1}"


@pytest.mark.parametrize(("extra", "message"), [
    ('\n[[local]]\ncrate = "arm_vcpu"\npath = "nowhere"\n', "is not a crate directory"),
    ('\n[[local]]\ncrate = "arm_vcpu"\npath = "t"\n[[local]]\ncrate = "arm_vcpu"\npath = "t"\n',
     "arm_vcpu is already taken from another [[local]]"),
    ('\n[[local]]\ncrate = "arm_vcpu"\npath = "t"\nwhy = "x"\n', "unknown key `local.why`"),
])
def test_a_bad_local_entry_names_its_line(tmp_path: Path, extra: str, message: str) -> None:
    _crate(tmp_path / "mine" / "t")
    p = _recipe_with(tmp_path, extra)
    with pytest.raises(UsageError) as err:
        load_recipe(p, ROOT)
    lines = p.read_text().splitlines()
    entry = len(lines) - lines[::-1].index("[[local]]")  # the last entry's line
    where = str(err.value).split(": ", 1)[0]
    assert where in (f"{p}:{entry}", f"{p}:{entry + 1}", f"{p}:{entry + 2}", f"{p}:{entry + 3}")
    assert message in str(err.value)


def test_an_edit_after_the_recipe_was_read_is_refused_not_built(tmp_path: Path) -> None:
    d = _crate(tmp_path / "a")
    c = local.parse_crate_option(f"arm_vcpu={d}")
    (d / "src/lib.rs").write_text("edited")
    with pytest.raises(InfraError) as err:
        local.check_unchanged((c,), "since the recipe was read")
    assert f"{d} (--crate arm_vcpu={d}) changed since the recipe was read" in str(err.value)


def test_the_manifest_lists_a_local_crate_with_path_version_and_digest(tmp_path: Path) -> None:
    d = _crate(tmp_path / "a")
    r = local.with_locals(load_recipe(AARCH64, ROOT),
                          (local.parse_crate_option(f"arm_vcpu={d}"),))
    assert modified_crates(r, {"arm_vcpu": "0.2.2"}) == [{
        "crate": "arm_vcpu", "version": "0.2.2", "how": "path",
        "sha256": local.tree_digest(d), "detail": str(d)}]


def test_cargo_not_using_the_directory_is_a_usage_error(tmp_path: Path) -> None:
    c = local.parse_crate_option(f"arm_vcpu={_crate(tmp_path / 'a')}")
    lock = '[[package]]\nname = "arm_vcpu"\nversion = "0.2.2"\nsource = "registry+x"\n'
    with pytest.raises(UsageError) as err:
        local.check_used((c,), lock, {"arm_vcpu": ["0.2.2"]})
    assert "cargo did not use" in str(err.value) and "wants arm_vcpu 0.2.2" in str(err.value)
    used = '[[package]]\nname = "arm_vcpu"\nversion = "0.2.3"\n'
    assert local.check_used((c,), used, {}) == {"arm_vcpu": "0.2.3"}
    with pytest.raises(UsageError, match=r"not in the dependency graph of axvisor 0\.5\.8"):
        local.check_in_graph((c,), '[[package]]\nname = "riscv_vcpu"\n', "axvisor 0.5.8")


def test_images_list_takes_recipe_files_and_crates_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _crate(tmp_path / "a")
    assert cli.main(["images", "list", "--recipe", str(AARCH64), "--recipe", "riscv64",
                     "--crate", f"arm_vcpu={d}"]) == 0
    out = capsys.readouterr()
    h = local.tree_digest(d)[:8]
    assert f"image aarch64+arm_vcpu@{h}: arm_vcpu from {d} (content {h})" in out.err
    assert [ln.split()[0] for ln in out.out.splitlines()] == [f"riscv64+arm_vcpu@{h}",
                                                              f"aarch64+arm_vcpu@{h}"]


def test_a_variant_recipe_joins_a_run_only_when_named() -> None:
    variant = ROOT / "tests/variants/aarch64-mmio-write-fix.toml"
    default = [r.name for r in select_recipes(ROOT, ("aarch64",), ())]
    assert "aarch64-mmio-write-fix" not in default and "aarch64" in default
    named = [r.name for r in select_recipes(ROOT, (), ("aarch64", str(variant)))]
    assert named == ["aarch64", "aarch64-mmio-write-fix"]


def test_axvisor_option_takes_the_root_package_and_copies_only_its_content(
        tmp_path: Path) -> None:
    d = _crate(tmp_path / "axv", "axvisor")
    (d / "target/release").mkdir(parents=True)
    (d / "target/release/big").write_text("output")
    (d / ".git").mkdir()
    (d / ".git/HEAD").write_text("ref")
    (own,) = local_options(None, d)
    assert (own.crate, own.origin) == ("axvisor", f"--axvisor {d}")
    assert local.patch_lines((own,)) == []  # the root is copied, not [patch]ed
    copy = local.copy_tree(d, tmp_path / "copy")
    assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file()) == \
        ["Cargo.toml", "src/lib.rs"]
    assert local.tree_digest(copy) == own.digest
