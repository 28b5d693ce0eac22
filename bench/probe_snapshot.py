"""What a snapshot costs and saves, through the suite's own code path (harness.persist.snapshot).

Per image: `snapshot.take` boots the persistent-mode loader to its ready point and saves it
(times and device-state size recorded); then, three times, `snapshot.restore` puts one
program (a hypercall with six arguments) into a copy of that machine, a QemuMachine starts
from it, and the run goes to axvisor's normal end (the loader returns to the runtime, which
powers off). Recorded per restore: QEMU up with the state loaded (`restore_s`, process start
included), the program to the end (`run_s`), and whether the program's hypercall is in the
restored console. Writes bench/results/snapshot-probe.json.

Usage: .venv/bin/python bench/probe_snapshot.py [--recipe aarch64 --recipe riscv64 ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.guests.payload import build_payload
from harness.images.build import build_image
from harness.images.cache import cache_root
from harness.images.recipe import find_recipes, load_recipe
from harness.paths import repo_root
from harness.persist import snapshot
from harness.qemu.machine import QemuMachine
from harness.qemu.profiles import get_profile
from harness.run import axvisor_console, current_line
from harness.scenarios.actions import Hypercall

NR, ARGS = 0x1234_5678, (1, 2, 3, 4, 5, 6)
RESTORES = 3


def probe(name: str) -> dict[str, Any]:
    root = repo_root()
    recipe = next(r for r in (load_recipe(p, root) for p in find_recipes(root))
                  if r.name == name)
    image = build_image(recipe, cache_root(), progress=lambda *a, **k: None)
    profile = get_profile(recipe.qemu_profile)
    work = Path(tempfile.mkdtemp(prefix="axh-snapshot-probe-"))
    snap = snapshot.take(image, recipe.guest.source, profile, work / "snap")
    payload = build_payload(image, (Hypercall(NR, ARGS),), recipe.guest.source,
                            recipe.guest.entry, recipe.backend)
    watch = current_line.watch if current_line.is_current_line(image.axvisor_version) \
        else axvisor_console.watch
    runs = []
    for i in range(RESTORES):
        rest = snapshot.restore(snap, payload)
        t0 = time.monotonic()
        machine = QemuMachine(profile, snap.kernel, work / f"run{i}", incoming=rest.incoming)
        try:
            with machine:
                restore_s = time.monotonic() - t0
                run = machine.run_until(watch)
        finally:
            rest.close()
        after = run.console[len(snap.console):].decode(errors="replace")
        runs.append({"restore_s": round(restore_s, 4), "run_s": round(run.duration_s, 4),
                     "ending": run.ending.name, "program_ran": hex(NR) in after})
    return {"boot_to_loader_s": round(snap.boot_s, 3), "save_s": round(snap.save_s, 4),
            "state_bytes": snap.state.stat().st_size, "restores": runs}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--recipe", action="append")
    args = ap.parse_args()
    out = {r: probe(r) for r in args.recipe or ["aarch64", "riscv64", "aarch64-0.8",
                                                  "riscv64-0.8"]}
    path = repo_root() / "bench" / "results" / "snapshot-probe.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
