"""`axharness repro CASE_DIR --bundle OUT.tar.gz`: one case as one self-contained file.

The archive holds the patched kernel, the ELF with axvisor's symbols, the exact QEMU line
(cmdline.sh, and in case.json), the expected and recorded exits, the scenario's declared end,
and run.py, which runs the case to that end and exits 0/2/3 with the suite's verdict
(harness.run.standalone). run.py needs only QEMU and Python ≥ 3.10: the harness modules it
uses are in lib/, found by importing the runner in a fresh interpreter that has nothing but
the standard library and the harness, so a runner that grows a third-party import fails here,
not on the other machine.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import harness
from harness.errors import InfraError, UsageError
from harness.qemu.machine import cmdline_script
from harness.qemu.profiles import get_profile
from harness.run.artifacts import CaseArtifacts
from harness.run.kit import Kit

RUNNER = "harness.run.standalone"
RUN_PY = '''#!/usr/bin/env python3
"""Runs axharness case {case} to its declared end and prints the verdict: exit 0 pass or
xfail, 2 any failing verdict, 3 QEMU missing. Needs QEMU and Python >= 3.10 only; the harness
modules it uses are in lib/ (written by `axharness repro --bundle`; see README.txt)."""
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
if (here / "lib" / "harness").is_dir():
    sys.path.insert(0, str(here / "lib"))
if sys.version_info < (3, 10):
    sys.exit("run.py needs Python >= 3.10")
from harness.run.standalone import main  # noqa: E402

sys.exit(main(["--kit", str(here / "case.json"), *sys.argv[1:]]))
'''


def vendored_files() -> dict[str, bytes]:
    """lib/ of a bundle: path under lib/ → source of each harness module the runner imports."""
    root = Path(harness.__file__).resolve().parent.parent
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import " + RUNNER + "; "
            "print('\\n'.join(sorted(m.__file__ for n, m in sys.modules.items() "
            "if (n == 'harness' or n.startswith('harness.')) and m.__file__)))")
    res = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(root)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["?"])[-1]
        raise InfraError(f"{RUNNER} does not import with the standard library alone: {last}")
    out = {}
    for name in res.stdout.split():
        path = Path(name)
        out[str(path.relative_to(root))] = path.read_bytes()
    # The exit schemas the parser and the model read (harness.model.schemas.schema_dir).
    for path in sorted((root / "schemas").glob("*.toml")):
        out[str(path.relative_to(root))] = path.read_bytes()
    return out


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def kit_members(kit: Kit) -> dict[str, tuple[bytes, int]]:
    """run.py, case.json and lib/: what runs a kit, without its kernel."""
    out = {"run.py": (RUN_PY.format(case=kit.case_id).encode(), 0o755),
           "case.json": (json.dumps(kit.to_json(), indent=2).encode() + b"\n", 0o644)}
    out.update({f"lib/{k}": (v, 0o644) for k, v in vendored_files().items()})
    return out


def kit_archive(kit: Kit) -> bytes:
    """kit_members as a .tar.gz (what `repro --script` embeds)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, (data, mode) in kit_members(kit).items():
            _add(tar, name, data, mode)
    return buf.getvalue()


def readme(art: CaseArtifacts, kit: Kit, qemu_version: str) -> str:
    elf = kit.elf or kit.kernel
    return f"""axharness case {art.case_id} (recorded verdict: {art.verdict}), packed by
`axharness repro --bundle` at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}.

Run it to its declared end ({kit.end.describe()}) and get the verdict:
    python3 run.py                 exit 0 pass/xfail, 2 any failing verdict, 3 no QEMU
    python3 run.py --echo          the same, streaming the serial console
    python3 run.py --gdb 1234      paused with a gdbstub; then, in another terminal:
        gdb-multiarch {elf} -ex 'target remote :1234' -ex continue
Options: --timeout-scale F (a slow host), --qemu BIN, --out DIR (console.log goes there).
Needs only {kit.argv[0]} (the case ran under {qemu_version or 'an unrecorded QEMU'}) and
Python >= 3.10; lib/ holds the harness modules run.py uses.

By hand: sh cmdline.sh runs the same QEMU line with the console on the terminal (axvisor ends
in its shell; Ctrl-C quits QEMU).

Files: {kit.kernel} (the patched kernel the case booted, sha256 {kit.patched_sha256 or '?'}),
{'axvisor.elf (axvisor with symbols), ' if kit.elf and kit.elf != kit.kernel else ''}case.json
(QEMU line, declared end, expected and recorded exits, known divergences that explained the
recorded run), payload.S (the guest code), expected.json, observed.jsonl, manifest.json (the
case's own record).
"""


@dataclass(frozen=True, slots=True)
class Bundle:
    path: Path
    size: int
    members: tuple[str, ...]


def write_bundle(art: CaseArtifacts, kit: Kit, kernel: Path, elf: Path | None, out: Path,
                 qemu_version: str = "") -> Bundle:
    """OUT.tar.gz with one top directory named after the case."""
    top = art.casedir.name
    members: dict[str, tuple[bytes, int]] = dict(kit_members(kit))
    members[kit.kernel] = (kernel.read_bytes(), 0o644)
    if elf is not None and kit.elf and kit.elf != kit.kernel:
        members[kit.elf] = (elf.read_bytes(), 0o644)
    profile = get_profile(art.profile)
    members["cmdline.sh"] = (cmdline_script(profile, Path(kit.kernel), Path(".")).encode(),
                             0o755)
    members["README.txt"] = (readme(art, kit, qemu_version).encode(), 0o644)
    for name in ("payload.S", "expected.json", "observed.jsonl", "manifest.json"):
        if (art.casedir / name).is_file():
            members[name] = ((art.casedir / name).read_bytes(), 0o644)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(out, "w:gz") as tar:
            for name, (data, mode) in sorted(members.items()):
                _add(tar, f"{top}/{name}", data, mode)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write: {exc.strerror or exc}") from None
    return Bundle(out, out.stat().st_size, tuple(sorted(members)))
