"""My tree, on real builds and real QEMU: arm_vcpu 0.2.2's published source copied to a temporary
directory and built into the aarch64 image with `--crate arm_vcpu=DIR`.

The stock source gives one image; a one-line edit (MmioWrite.data truncated to the access
width, src/exception.rs:189) gives a new key, and mmio-store-b then passes, with the known
divergence that quotes arm_vcpu 0.2.2 reported not applicable (the image's arm_vcpu is
local); reverting the edit finds the first image again in the cache, never a stale one.

Builds two images (≈ 50 s each on 2 cores with the aarch64 dependency build in the cache; the
first is a cache hit on later runs)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.images.cache import cache_root
from harness.images.crates_io import unpack_crate
from harness.images.local import tree_digest
from harness.paths import repo_root

pytestmark = [pytest.mark.integration, pytest.mark.aarch64]

AARCH64 = "images/recipes/aarch64.toml"
LINE = "            data: context_frame.gpr(reg) as u64,\n"
FIXED = "            data: context_frame.gpr(reg) as u64 & (u64::MAX >> (64 - 8 * access_width)),\n"
ENTRY = "a64-mmio-write-data-whole-register"


def _build(d: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str, float, str]:
    """(image name, key, seconds, stderr) of `images build --recipe aarch64.toml --crate`."""
    started = time.monotonic()
    assert main(["images", "build", "--recipe", str(repo_root() / AARCH64),
                 "--crate", f"arm_vcpu={d}"]) == 0
    seconds = time.monotonic() - started
    out = capsys.readouterr()
    m = re.fullmatch(r"(\S+): \S+ \(schema axvcpu-0.2, key ([0-9a-f]{12})\)\n", out.out)
    assert m, out.out
    return m[1], m[2], seconds, out.err


def test_edit_rebuilds_the_fix_passes_and_a_revert_finds_the_first_image(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crate = cache_root() / "downloads" / "arm_vcpu-0.2.2.crate"
    if not crate.is_file():  # the stock aarch64 build downloads it
        assert main(["images", "build", "--recipe", "aarch64"]) == 0
    d = unpack_crate(crate, tmp_path / "src")

    name1, key1, _, err1 = _build(d, capsys)
    digest = tree_digest(d)
    assert name1 == f"aarch64+arm_vcpu@{digest[:8]}"
    assert f"image {name1}: arm_vcpu from {d} (content {digest[:8]})" in err1
    manifest = json.loads(next((cache_root() / "images").glob(f"{key1}*/manifest.json"))
                          .read_text())
    # the directory is the one the image was first built from (the content is what counts)
    (mod,) = manifest["modified_crates"]
    assert (mod["crate"], mod["version"], mod["how"], mod["sha256"]) == \
        ("arm_vcpu", "0.2.2", "path", digest) and Path(mod["detail"]).is_absolute()

    src = d / "src/exception.rs"
    text = src.read_text()
    assert text.splitlines(keepends=True)[188] == LINE  # line 189 of the published source
    # a token unique to this run makes it a real rebuild each time (the measured one)
    src.write_text(text.replace(LINE, FIXED.replace(",\n", f", // {time.time_ns()}\n"), 1))
    (d / "target").mkdir()  # what a developer's own `cargo build` leaves: not content
    (d / "target" / "junk").write_text("x")
    name2, key2, seconds, err2 = _build(d, capsys)
    with capsys.disabled():
        print(f"\nrebuild after a one-line edit: {seconds:.1f}s")
    assert key2 != key1 and name2 != name1
    assert "build log: " in err2.splitlines()[1]  # said at the start, not only on failure

    results = tmp_path / "results"
    assert main(["run", "--recipe", str(repo_root() / AARCH64), "--crate", f"arm_vcpu={d}",
                 "--scenario", "mmio-store-b", "--results", str(results), "-j", "1"]) == 0
    assert f"image {name2}: arm_vcpu from {d} (content " in capsys.readouterr().err
    (case,) = json.loads((results / "results.json").read_text())["cases"]
    assert case["case"] == f"{name2}/mmio-store-b" and case["verdict"] == "pass", case["detail"]
    (note,) = case["known_notes"]
    assert note["entry"] == ENTRY and note["status"] == "not-applicable"
    assert note["why"].startswith(f"arm_vcpu modified in image {name2} (local (/")
    assert note["why"].endswith(f", sha256 {tree_digest(d)[:12]}))")
    assert (results / "cases" / f"{name2.replace('+', '_').replace('@', '_')}_mmio-store-b"
            ).is_dir()

    src.write_text(text)  # the revert: the first key again, from the cache
    name3, key3, seconds, err3 = _build(d, capsys)
    assert (name3, key3) == (name1, key1) and "building image" not in err3
    assert seconds < 1.0, seconds


PYTEST_FILE = '''
import pytest
from harness.images.local import parse_crate_option, with_locals
from harness.images.recipe import load_recipe
from harness.paths import repo_root

RECIPE = with_locals(load_recipe(repo_root() / "images/recipes/aarch64.toml", repo_root()),
                     (parse_crate_option("arm_vcpu=@DIR@"),))


@pytest.fixture(scope="session")
def axh_recipes():
    return {RECIPE.name: RECIPE}


@pytest.mark.parametrize("n", [1, 2, 3])
def test_needs_the_image(axh_image, n):
    axh_image(RECIPE.name)
'''


def test_in_pytest_a_failed_build_shows_progress_and_is_reported_once(tmp_path: Path) -> None:
    """Three tests need an image whose local arm_vcpu does not compile: the build runs once,
    its progress and log path reach the terminal (the process's stderr, not a test's captured
    output), the first test fails with the build's error and the others with one line naming
    the build log; no traceback, exit 3 (infrastructure only)."""
    import subprocess
    import sys

    crate = cache_root() / "downloads" / "arm_vcpu-0.2.2.crate"
    if not crate.is_file():
        assert main(["images", "build", "--recipe", "aarch64"]) == 0
    d = unpack_crate(crate, tmp_path / "src")
    with (d / "src/lib.rs").open("a") as f:
        f.write(f'\ncompile_error!("broken on purpose {tmp_path.name}");\n')
    test = tmp_path / "test_broken.py"
    test.write_text(PYTEST_FILE.replace("@DIR@", str(d)))
    res = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                          "--basetemp", str(tmp_path / "bt"), "-o", "addopts=", str(test)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=900,
                         check=False)
    print(res.stdout[-3000:], res.stderr[-3000:])
    assert res.returncode == 3
    assert res.stderr.count("axharness: building image aarch64+arm_vcpu@") == 1
    log = re.search(r"; build log: (\S+\.log)\n", res.stderr)
    assert log and Path(log[1]).is_file()
    assert "broken on purpose" in Path(log[1]).read_text()
    assert "building image" not in res.stdout  # not swallowed into captured output
    failures = [ln for ln in res.stdout.splitlines() if ln.startswith("infrastructure: ")]
    assert len(failures) == 3, res.stdout
    assert "did not build: `" in failures[0] and log[1] in res.stdout
    for line in failures[1:]:
        assert line.endswith(f"did not build (reported with the first test that needed it; "
                             f"build log: {log[1]})")
    assert "Traceback" not in res.stdout and "3 failed" in res.stdout
