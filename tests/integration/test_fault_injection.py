"""Fault injection: infrastructure trouble is reported as infrastructure (never a pass or a
conformance failure), broken caches are rebuilt, and a vanished QMP connection or a missing
artifacts directory do not hang or leak."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import InfraError
from harness.images.build import Image, _load_cached
from harness.images.recipe import ImageRecipe
from harness.qemu.host import HostCaps
from harness.qemu.machine import Ending, MachineError, QemuMachine
from harness.qemu.profiles import get_profile
from harness.run import axvisor_console
from harness.run.case import run_case
from harness.scenarios.registry import scenarios_for

pytestmark = [pytest.mark.integration]


def test_a_missing_qemu_binary_is_a_machine_error_naming_it(tmp_path: Path) -> None:
    profile = dataclasses.replace(get_profile("aarch64-virt-el2-tcg"),
                                  binary="qemu-system-nonexistent")
    with pytest.raises(MachineError, match="qemu-system-nonexistent not found"):
        QemuMachine(profile, tmp_path / "k", tmp_path).launch()


def test_the_host_probe_refuses_kvm_profiles_without_kvm_with_the_reason() -> None:
    caps = HostCaps(kvm="no /dev/kvm on this host", vmx="no /dev/kvm on this host", svm="x")
    why = caps.why_not(get_profile("x86_64-q35-vmx-kvm"))
    assert why == "no /dev/kvm on this host"
    assert caps.why_not(get_profile("aarch64-virt-el2-tcg")) == ""


@pytest.mark.aarch64
def test_a_corrupted_cached_image_is_not_trusted(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    recipe, image = axh_image("aarch64")
    fake_cache = tmp_path / "cache"
    (fake_cache / "images").mkdir(parents=True)
    copy = fake_cache / "images" / image.key
    import shutil

    shutil.copytree(image.dir, copy)
    assert _load_cached(recipe, image.key, fake_cache) is not None
    data = bytearray((copy / image.kernel.name).read_bytes())
    data[100] ^= 0xFF
    (copy / image.kernel.name).write_bytes(bytes(data))
    assert _load_cached(recipe, image.key, fake_cache) is None  # → rebuilt, never booted


@pytest.mark.aarch64
def test_an_unwritable_artifacts_directory_is_an_infra_error(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    recipe, image = axh_image("aarch64")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    (scenario,) = scenarios_for("aarch64", "first-guest")
    with pytest.raises(InfraError, match="cannot write the case artifacts directory"):
        run_case(image, recipe, scenario, get_profile(recipe.qemu_profile), blocker / "case")


@pytest.mark.aarch64
def test_a_vanished_qmp_connection_still_ends_the_run_without_a_leak(
        axh_image: Callable[[str], tuple[ImageRecipe, Image]], tmp_path: Path) -> None:
    recipe, image = axh_image("aarch64")
    machine = QemuMachine(get_profile(recipe.qemu_profile), image.kernel, tmp_path)
    with machine:
        assert machine.qmp is not None
        qmp = machine.qmp
        threading.Timer(0.1, qmp._drop).start()  # the socket goes away under the runner
        run = machine.run_until(axvisor_console.watch)
    assert run.ending is Ending.WATCHER
    assert not machine.leaked()
    journal = (tmp_path / "qmp.jsonl").read_text().splitlines()
    assert json.loads(journal[0])["dir"] == "greeting"


def test_requesting_kvm_for_a_tcg_image_skips_with_the_reason_never_passes() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "--accel", "kvm",
         "tests/integration/test_aarch64_first_guest.py", "--axh-results", "/tmp/axh-kvm-req"],
        cwd=root, capture_output=True, text=True, check=False, timeout=300)
    assert "aarch64 image needs tcg, --accel kvm" in res.stdout, res.stdout[-2000:]
    assert " passed" not in res.stdout.splitlines()[-1]
