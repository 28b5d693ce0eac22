"""The builder's std-build support and its checks after a build, without cargo: the derived
target spec, the empty libraries, the cargo command line, patches per crate, and what the
resolved lock and the binary must say about exits."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from harness.errors import InfraError
from harness.images import prepare, std_target
from harness.images.recipe import load_recipe
from harness.images.std_target import StdSpec, derive_spec
from harness.images.toolchain import detect

ROOT = Path(__file__).resolve().parents[2]
CURRENT = ROOT / "images/recipes/aarch64-0.8.toml"
SPEC = StdSpec(base="b", overrides=(("os", "linux"), ("tls-model", "local-exec")),
               remove=("code-model",), empty_libs=("c", "unwind"))


def test_the_derived_spec_sets_and_removes_keys_and_says_std() -> None:
    base = {"arch": "riscv64", "code-model": "medium", "tls-model": "x",
            "metadata": {"std": False, "tier": 2}}
    spec = derive_spec(base, SPEC)
    assert spec == {"arch": "riscv64", "os": "linux", "tls-model": "local-exec",
                    "metadata": {"std": True, "tier": 2}}
    assert base["code-model"] == "medium"  # the input is not modified


def test_removing_a_key_the_base_lacks_is_an_infrastructure_error() -> None:
    with pytest.raises(InfraError, match="no spec key"):
        derive_spec({"arch": "x"}, SPEC)


def test_prepare_writes_rustc_s_spec_with_the_overrides_and_empty_archives(
        tmp_path: Path) -> None:
    tc = detect()
    std = StdSpec(base="riscv64gc-unknown-none-elf", overrides=(("env", "musl"),), remove=(),
                  empty_libs=("c", "unwind"))
    spec_path, libs = std_target.prepare(tc.rustc, std, "riscv64gc-unknown-linux-musl",
                                         tmp_path)
    assert spec_path.name == "riscv64gc-unknown-linux-musl.json"
    spec = json.loads(spec_path.read_text())
    builtin = std_target.builtin_spec(tc.rustc, "riscv64gc-unknown-none-elf")
    assert spec["env"] == "musl" and spec["data-layout"] == builtin["data-layout"]
    assert sorted(p.name for p in libs.iterdir()) == ["libc.a", "libunwind.a"]
    assert (libs / "libc.a").read_bytes() == b"!<arch>\n"  # ar's global header, no member
    mtime = spec_path.stat().st_mtime_ns
    std_target.prepare(tc.rustc, std, "riscv64gc-unknown-linux-musl", tmp_path)
    assert spec_path.stat().st_mtime_ns == mtime  # unchanged spec: cargo's fingerprint holds


def test_a_std_recipe_builds_for_its_json_target_with_the_empty_libraries(
        tmp_path: Path) -> None:
    recipe = load_recipe(CURRENT, ROOT)
    tc = detect()
    build = prepare.cargo_build(recipe, tc, tmp_path / "target", tmp_path)
    spec = tmp_path / "std" / recipe.target / f"{recipe.target}.json"
    i = build.argv.index("--target")
    assert build.argv[i + 1] == str(spec) and spec.is_file()
    assert {"-Zjson-target-spec", "-Zbuild-std=std,panic_abort"} <= set(build.argv)
    assert "profile.release.lto=false" in build.argv
    assert 'profile.release.panic="abort"' in build.argv
    assert f"-Lnative={spec.parent / 'empty-libs'}" in build.env["RUSTFLAGS"].split()
    assert "-Clink-args=-Tlinker.x" in build.env["RUSTFLAGS"].split()
    assert Path(build.env["LIBCLANG_PATH"]).is_dir()
    assert build.elf == tmp_path / "target" / recipe.target / "release" / "axvisor"


def test_a_core_alloc_recipe_keeps_its_command_line(tmp_path: Path) -> None:
    recipe = load_recipe(ROOT / "images/recipes/riscv64.toml", ROOT)
    build = prepare.cargo_build(recipe, detect(), tmp_path / "t", tmp_path)
    assert build.argv[3:6] == ["--target", "riscv64gc-unknown-none-elf",
                               "-Zbuild-std=core,alloc"]
    assert "LIBCLANG_PATH" not in build.env and not (tmp_path / "std").exists()
    assert build.env["RUSTFLAGS"] == " ".join(recipe.rustflags)


def _crate(downloads: Path, name: str, version: str) -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"fn main() {}\n"
        info = tarfile.TarInfo(f"{name}-{version}/src/lib.rs")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    downloads.mkdir(parents=True, exist_ok=True)
    (downloads / f"{name}-{version}.crate").write_bytes(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


def test_several_patches_of_one_crate_are_applied_in_order_to_one_tree(tmp_path: Path) -> None:
    recipe = load_recipe(CURRENT, ROOT)
    lock = tmp_path / "Cargo.lock"
    entries = []
    for crate, version in sorted({(p.crate, p.version) for p in recipe.crate_patches}):
        checksum = _crate(tmp_path / "downloads", crate, version)
        entries.append(f'[[package]]\nname = "{crate}"\nversion = "{version}"\n'
                       f'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
                       f'checksum = "{checksum}"\n')
    lock.write_text("\n".join(entries))
    applied: list[tuple[str, str]] = []
    lines = prepare.patch_lines(recipe, lock, tmp_path,
                                lambda patch, tree: applied.append((patch.name, tree.name)))
    assert [line.split(" = ")[0] for line in lines] == \
        ["ax-io", "ax-std", "ax-mm", "axvm", "ax-runtime"]  # one line per crate
    assert applied == [
        ("ax-io-0.7.2-rustc-1.96-borrowed-buf.patch", "ax-io-0.7.2"),
        ("ax-std-0.7.5-rustc-1.96-libc.patch", "ax-std-0.7.5"),
        ("ax-mm-0.8.4-log-after-map.patch", "ax-mm-0.8.4"),
        ("axvm-0.8.5-rustc-1.96.patch", "axvm-0.8.5"),  # both axvm patches, in recipe order
        ("axvm-0.8.5-sync-exit-record.patch", "axvm-0.8.5"),
        ("ax-runtime-0.13.5-sync-record.patch", "ax-runtime-0.13.5"),
    ]
    one = next(p for p in recipe.crate_patches if p.crate == "ax-io")
    tag = hashlib.sha256(one.patch.read_bytes()).hexdigest()[:12]
    assert f'patched/ax-io-0.7.2-{tag}/ax-io-0.7.2"' in lines[0]  # a lone patch: old name
    applied.clear()
    prepare.patch_lines(recipe, lock, tmp_path, lambda p, t: applied.append((p.name, t.name)))
    assert applied == []  # the trees are reused


def test_the_lock_must_resolve_exactly_the_schema_s_crate_version() -> None:
    recipe = load_recipe(CURRENT, ROOT)
    prepare.check_exit_crate(recipe, {"axvm": ["0.8.5"], "axvcpu": []})
    for found in ([], ["0.8.4"], ["0.8.5", "0.2.3"]):
        with pytest.raises(InfraError, match=r"resolved axvm .*pinned to axvm 0\.8\.5"):
            prepare.check_exit_crate(recipe, {"axvm": found})
    old = load_recipe(ROOT / "images/recipes/aarch64.toml", ROOT)
    prepare.check_exit_crate(old, {"axvcpu": ["0.2.2"]})
    with pytest.raises(InfraError, match=r"resolved axvcpu 0\.5\.9"):
        prepare.check_exit_crate(old, {"axvcpu": ["0.5.9"]})


def test_the_binary_must_agree_with_the_recipe_s_exit_log(tmp_path: Path) -> None:
    sync = load_recipe(CURRENT, ROOT)
    lossy = load_recipe(ROOT / "images/recipes-lossy/aarch64-0.8-lossy.toml", ROOT)
    with_tag, without = tmp_path / "a", tmp_path / "b"
    with_tag.write_bytes(b"\0\0AXH-EXIT vm={} vcpu={} \0")
    without.write_bytes(b"\0\0trace\0")
    prepare.check_exit_log(sync, with_tag)
    prepare.check_exit_log(lossy, without)
    with pytest.raises(InfraError, match="lacks the 'AXH-EXIT vm=' record writer"):
        prepare.check_exit_log(sync, without)
    with pytest.raises(InfraError, match=r"exit_log is 'lossy-trace' but .* contains"):
        prepare.check_exit_log(lossy, with_tag)
