"""`axharness run -j 1` on real QEMU: a declared hang whose QEMU is idle in its quiet window gives
its job slot back (harness.run.slots), so the next case starts; the verdicts are unchanged."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.pytest_plugin import AxhOptions

pytestmark = [pytest.mark.integration, pytest.mark.riscv64]

ROOT = Path(__file__).resolve().parents[2]


def test_an_idle_parked_vcpu_lets_the_next_case_start(
        axh_options: AxhOptions, axh_image: Callable[[str], tuple[ImageRecipe, Image]],
        tmp_path: Path) -> None:
    """riscv64-0.8's stopped and suspended harts leave QEMU idle (0.0 cores measured): with
    one job slot, each gives it back during its 6 s window and the next case runs beside it."""
    axh_image("riscv64-0.8")
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "harness", "run", "-j", "1",
                          "--recipe", "riscv64-0.8", "--scenario", "hsm-hart-s*",
                          "--results", str(out), "--cache-dir", str(axh_options.cache)],
                         cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    data = json.loads((out / "results.json").read_text())
    cases = {c["case"]: c for c in data["cases"]}
    assert {c: v["verdict"] for c, v in cases.items()} == {
        "riscv64-0.8/hsm-hart-start-absent": "pass", "riscv64-0.8/hsm-hart-stop": "pass",
        "riscv64-0.8/hsm-hart-suspend": "pass"}
    for hang in ("riscv64-0.8/hsm-hart-stop", "riscv64-0.8/hsm-hart-suspend"):
        given = cases[hang]["qemu"].get("job_slot_given_back_after_s")
        assert given is not None and given < cases[hang]["duration_s"], cases[hang]["qemu"]
        # a pass that rests on a silence says so, and how long it lasted
        assert re.search(r"\(then (parked: no exit and no guest output|console silent) for 6s\)$",
                         cases[hang]["detail"]), cases[hang]["detail"]
    assert "job_slot_given_back_after_s" not in cases["riscv64-0.8/hsm-hart-start-absent"]["qemu"]
    # one slot, yet the cases overlapped: their durations add up to more than the whole run
    assert sum(c["duration_s"] for c in cases.values()) > data["wall_seconds"]
