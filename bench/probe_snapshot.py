"""Feasibility probe for the next step of persistent mode (not used by the harness): restore a
booted VM from a snapshot instead of booting it, for the cases that must run alone.

One persistent boot runs to its loader's READY; QMP `migrate` with `x-ignore-shared` writes the
device state to a file (the RAM is the shared RAM file and is not migrated; a hard link keeps
it); then, three times: copy the RAM file (sparse), start QEMU with `-incoming defer`,
`migrate-incoming` the state, write one program into the copy's mailbox, `cont`, and wait for
the program's end (AXH:DONE, or on the 0.8 line its end boundary record). Prints and writes
the times next to the boot's own: bench/results/snapshot-probe.json.

Usage: .venv/bin/python bench/probe_snapshot.py [--recipe aarch64 --recipe riscv64 ...]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import mmap
import os
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from qemu.qmp.legacy import QEMUMonitorProtocol

from harness.guests.payload import build_payload
from harness.images.build import build_image
from harness.images.cache import cache_root
from harness.images.recipe import find_recipes, load_recipe
from harness.paths import repo_root
from harness.persist import mailbox as mailbox_mod
from harness.persist.frame import NR_END, encode, loader_record
from harness.persist.session import Boot
from harness.qemu.profiles import get_profile
from harness.scenarios.actions import Hypercall
from harness.scenarios.catalogue import Scenario

SHM = Path("/dev/shm")


def _connect(sock: Path) -> QEMUMonitorProtocol:
    end = time.monotonic() + 10
    while True:
        try:
            q = QEMUMonitorProtocol(str(sock))
            q.connect()
            return q
        except Exception:  # the socket file exists before QEMU listens on it
            if time.monotonic() > end:
                raise
            time.sleep(0.002)


def probe(name: str) -> dict[str, Any]:
    root = repo_root()
    recipes = {r.name: r for r in (load_recipe(p, root) for p in find_recipes(root))}
    recipe = recipes[name]
    image = build_image(recipe, cache_root(), progress=lambda *a, **k: None)
    work = Path(tempfile.mkdtemp(prefix="axh-snapshot-probe-"))
    template = SHM / f"{work.name}-ram"
    locate = mailbox_mod.Mailbox.locate

    def keep_ram(self: mailbox_mod.Mailbox, hint: tuple[int, ...] = ()) -> tuple[int, ...]:
        if not template.exists():
            os.link(self.path, template)  # the harness unlinks its RAM file once mapped
        return locate(self, hint)

    mailbox_mod.Mailbox.locate = keep_ram  # type: ignore[method-assign]
    try:
        t0 = time.monotonic()
        boot = Boot(image, recipe.guest.source, get_profile(recipe.qemu_profile), work / "b")
        boot.start()
        boot_s = time.monotonic() - t0
    finally:
        mailbox_mod.Mailbox.locate = locate  # type: ignore[method-assign]
    qmp = boot.machine.qmp
    assert qmp is not None
    qmp.command("migrate-set-capabilities",
                capabilities=[{"capability": "x-ignore-shared", "state": True}])
    state = work / "state.bin"
    t1 = time.monotonic()
    qmp.command("migrate", uri=f"file:{state}")
    while qmp.command("query-migrate").get("status") not in ("completed", "failed"):
        time.sleep(0.002)
    save_s = time.monotonic() - t1
    argv, pages, ram_path = boot.machine.argv(), boot.mailbox._pages, str(boot.mailbox.path)
    text = boot.text
    boot.close()
    sc = Scenario("hc", recipe.arch, "", (Hypercall(0x1234_5678, (1, 2, 3, 4, 5, 6)),))
    frame = encode(build_payload(image, sc.actions, recipe.guest.source,
                                 recipe.guest.entry).code)
    done = loader_record(NR_END, 0)
    runs = []
    for i in range(3):
        t = time.monotonic()
        ram = SHM / f"{work.name}-ram.{i}"
        subprocess.run(["cp", "--sparse=always", str(template), str(ram)], check=True)
        copy_s = time.monotonic() - t
        sock = work / f"qmp{i}.sock"
        a = [x.replace(ram_path, str(ram)) for x in argv]
        a[a.index("-qmp") + 1] = f"unix:{sock},server=on,wait=off"
        p = subprocess.Popen([*a, "-incoming", "defer"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        assert p.stdout is not None
        while not sock.exists():
            time.sleep(0.001)
        q = _connect(sock)
        q.cmd("migrate-set-capabilities",
              capabilities=[{"capability": "x-ignore-shared", "state": True}])
        q.cmd("migrate-incoming", uri=f"file:{state}")
        while cast(dict[str, Any], q.cmd("query-migrate")).get("status") not in (
                "completed", "failed"):
            time.sleep(0.002)
        restore_s = time.monotonic() - t
        fd = os.open(ram, os.O_RDWR)
        m = mmap.mmap(fd, 0)
        data = struct.pack("<QQ", len(frame.code), frame.crc) + frame.code
        m[pages[0] + 16: pages[0] + 16 + len(data)] = data
        m[pages[0] + 8: pages[0] + 16] = struct.pack("<Q", 0)
        t2 = time.monotonic()
        q.cmd("cont")
        flags = fcntl.fcntl(p.stdout, fcntl.F_GETFL)
        fcntl.fcntl(p.stdout, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        out = b""
        finished = False
        while not finished and time.monotonic() - t2 < 5:
            try:
                out += os.read(p.stdout.fileno(), 65536)
            except BlockingIOError:
                time.sleep(0.001)
            finished = (b"AXH:DONE 00000000" in out) if text else bool(done.search(out))
        runs.append({"ram_copy_s": round(copy_s, 4), "restore_total_s": round(restore_s, 4),
                     "program_s": round(time.monotonic() - t2, 4),
                     "program_ran": b"0x12345678" in out, "program_ended": finished})
        q.close()
        os.killpg(p.pid, 9)
        p.wait()
        m.close()
        os.close(fd)
        ram.unlink()
    template.unlink()
    return {"boot_to_loader_s": round(boot_s, 3), "save_s": round(save_s, 4),
            "state_bytes": state.stat().st_size, "restores": runs}


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
