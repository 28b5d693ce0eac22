"""The two-vCPU images of the current line are their `-0.8` sibling's hypervisor build with
another VM config and QEMU machine (images/README.md, "Two vCPUs"): everything that reaches
cargo is equal, so the shared target directory recompiles only axvisor's own crate."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from harness.images.recipe import load_recipe
from harness.paths import repo_root

ROOT = repo_root()
# What an smp variant may change; every other canonical key (features, patches, target, std,
# log level, rustflags, env, schema, exit log, guest runtime, entry) must be the sibling's.
MAY_DIFFER = {"name", "guest"}


@pytest.mark.parametrize("arch", ["aarch64", "riscv64"])
def test_the_smp_recipe_is_the_sibling_build_with_another_vm_and_machine(arch: str) -> None:
    base = load_recipe(ROOT / "images" / "recipes" / f"{arch}-0.8.toml", ROOT)
    smp = load_recipe(ROOT / "images" / "recipes" / f"{arch}-0.8-smp.toml", ROOT)
    a, b = base.canonical(), smp.canonical()
    assert {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)} <= MAY_DIFFER
    # the guest differs in its VM config only: the same runtime at the same entry
    assert a["guest"][0] == b["guest"][0] and a["guest"][2:] == b["guest"][2:]
    assert smp.qemu_profile == f"{base.qemu_profile}-smp2"
    assert smp.own_scenarios_only and not base.own_scenarios_only


def _base(path: Path) -> dict[str, object]:
    text = path.read_text().replace("@ENTRY@", "0").replace('"@KERNEL_PATH@"', '"k"')
    return dict(tomllib.loads(text)["base"])


@pytest.mark.parametrize("arch", ["aarch64", "riscv64"])
def test_the_smp_vm_has_two_vcpus_each_pinned_to_its_own_cpu(arch: str) -> None:
    configs = ROOT / "images" / "vm-configs"
    one, two = _base(configs / f"{arch}-axvm08.toml"), _base(configs / f"{arch}-axvm08-smp.toml")
    assert (two["cpu_num"], two["phys_cpu_ids"], two["phys_cpu_sets"]) == (2, [0, 1], [1, 2])
    rest = {"cpu_num", "phys_cpu_ids", "phys_cpu_sets", "name"}
    assert {k: v for k, v in one.items() if k not in rest} == \
        {k: v for k, v in two.items() if k not in rest}
