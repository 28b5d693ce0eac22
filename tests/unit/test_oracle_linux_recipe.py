"""The Linux guest's recipes: a prebuilt guest (`[guest] kernel`, `files`) loads from the guests
directory, keys its image on the files' contents without needing them to exist, and a build
without them is infrastructure naming the set-up script, before any cargo step; the set-up's
own helper fails with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InfraError, UsageError
from harness.images.build import build_image
from harness.images.recipe import load_recipe
from harness.oracle.linux.prepare import main as prepare_main

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "images/recipes-linux/aarch64-linux.toml"


def test_a_prebuilt_guest_is_found_under_the_guests_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXHARNESS_GUESTS", str(tmp_path))
    recipe = load_recipe(LINUX, ROOT)
    assert recipe.guest.prebuilt and recipe.guest.source == tmp_path / "debian-arm64/Image"
    assert recipe.guest.files == (tmp_path / "debian-arm64/guest.dtb",
                                  tmp_path / "debian-arm64/initramfs.cpio")
    # not fetched: the key says so instead of failing; fetched: the key follows the contents
    absent = recipe.digest()
    assert f"absent:{tmp_path}/debian-arm64/Image" in str(recipe.canonical()["guest"])
    (tmp_path / "debian-arm64").mkdir()
    for name, data in (("Image", b"k"), ("guest.dtb", b"d"), ("initramfs.cpio", b"i")):
        (tmp_path / "debian-arm64" / name).write_bytes(data)
    one = recipe.digest()
    (tmp_path / "debian-arm64/guest.dtb").write_bytes(b"d2")
    assert len({absent, one, recipe.digest()}) == 3


def test_building_without_the_fetched_guest_is_infrastructure_naming_the_set_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXHARNESS_GUESTS", str(tmp_path / "none"))
    recipe = load_recipe(LINUX, ROOT)
    with pytest.raises(InfraError, match=r"prebuilt guest file .*/none/debian-arm64/Image is "
                                         r"missing; run ci/fetch-guest-kernels.sh"):
        build_image(recipe, tmp_path / "cache")
    assert not (tmp_path / "cache" / "src").exists()  # refused before anything was fetched


def test_a_guest_with_both_a_source_and_a_kernel_is_refused_at_its_line(tmp_path: Path) -> None:
    text = LINUX.read_text().replace('kernel = "debian-arm64/Image"',
                                     'kernel = "debian-arm64/Image"\nsource = "linux/init"')
    p = ROOT / "images/recipes-linux" / f"_test_{tmp_path.name}.toml"
    p.write_text(text)
    try:
        with pytest.raises(UsageError) as err:
            load_recipe(p, ROOT)
    finally:
        p.unlink()
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln == "[guest]")
    assert str(err.value) == (f"{p}:{line}: `guest`: expected exactly one of `source` (a "
                              "runtime to assemble) and `kernel` (a prebuilt guest under the "
                              "guests directory)")


def test_prepare_without_the_unpacked_busybox_is_one_line_and_exit_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert prepare_main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == f"prepare: error: {tmp_path}/busybox: cannot read: No such file or directory\n"


def test_the_riscv64_linux_image_is_the_riscv64_recipe_s_axvisor_with_another_guest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same crate, build, patches, axconfig and machine as images/recipes/riscv64.toml: the
    Linux boot judges the axvisor the suite judges; only the guest (and the name) differ."""
    monkeypatch.setenv("AXHARNESS_GUESTS", str(tmp_path))
    linux = load_recipe(ROOT / "images/recipes-linux/riscv64-linux.toml", ROOT).canonical()
    suite = load_recipe(ROOT / "images/recipes/riscv64.toml", ROOT).canonical()
    differ = sorted(k for k in linux.keys() | suite.keys() if linux.get(k) != suite.get(k))
    assert differ == ["guest", "name"]
    recipe = load_recipe(ROOT / "images/recipes-linux/riscv64-linux.toml", ROOT)
    assert recipe.guest.source == tmp_path / "debian-riscv64/Image"
    assert [f.name for f in recipe.guest.files] == ["guest.dtb", "initramfs.cpio"]
