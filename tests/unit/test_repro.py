"""`axharness repro` without QEMU: reading a case directory, finding its image (or not needing
it), the verdict of a re-run from its console, and the standalone script (syntax, and that its
dd-based patching writes the same bytes as harness.guests.payload.patch_image)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.errors import InfraError, UsageError
from harness.images.build import PAYLOAD_MAGIC
from harness.model.convert import exit_to_json
from harness.model.exits import (
    ExitReason,
    Hypercall,
    MmioWrite,
    SystemDown,
)
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr
from harness.parse.axlog import format_log_line
from harness.parse.render import DebugForm, render_exit
from harness.report.repro_view import side_by_side, summary
from harness.run import repro
from harness.run.artifacts import CaseArtifacts, declared_end, load_case
from harness.run.kit import DeclaredEnd
from harness.run.repro_script import render_script, write_script

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

GEN = S02
KEY = "ab" * 32
STORE = MmioWrite(GuestPhysAddr(0x0800_0E00), AccessWidth.Dword, 0xDEADBEEF)
HC = Hypercall(0x4AB1, (1, 2, 3, 4, 5, 6))
PAYLOAD = """    .text
    .global _start
_start:
    movz x9, #0xe00
    str w1, [x9]
    ret
"""


def make_case(tmp_path: Path, *, expected: list[Any] | None = None,
              recorded: list[Any] | None = None, manifest: dict[str, Any] | None = None
              ) -> Path:
    d = tmp_path / "cases" / "aarch64_first-guest"
    d.mkdir(parents=True)
    m = manifest if manifest is not None else {
        "case": "aarch64/first-guest", "arch": "aarch64", "verdict": "pass",
        "image": {"recipe": "aarch64", "key": KEY, "schema": "axvcpu-0.2",
                  "patched_sha256": ""},
        "qemu": {"profile": "aarch64-virt-el2-tcg"}}
    (d / "manifest.json").write_text(json.dumps(m, indent=2))
    (d / "payload.S").write_text(PAYLOAD)
    (d / "end.json").write_text(json.dumps(DeclaredEnd(120.0, 30.0).to_json()))
    exp = expected if expected is not None else [exit_to_json(STORE), exit_to_json(SystemDown())]
    (d / "expected.json").write_text(json.dumps(exp))
    if recorded is not None:
        (d / "observed.jsonl").write_text("".join(json.dumps(o) + "\n" for o in recorded))
    return d


def make_image(cache: Path, *, offset: int = 4096, capacity: int = 256) -> Path:
    """A fake cached image: a kernel file with the payload marker, and its manifest."""
    d = cache / "images" / KEY
    d.mkdir(parents=True)
    data = bytearray(os.urandom(offset + capacity + 512))
    data[offset - 24: offset - 8] = PAYLOAD_MAGIC
    data[offset - 8: offset] = capacity.to_bytes(8, "little")
    data[offset: offset + capacity] = bytes(capacity)
    (d / "axvisor.bin").write_bytes(bytes(data))
    (d / "axvisor.elf").write_bytes(b"\x7fELF")
    (d / "manifest.json").write_text(json.dumps({
        "kernel": "axvisor.bin", "axvisor": {"version": "0.3.0-preview.2"},
        "resolved": {"axvcpu": "0.2.2"},
        "payload": {"offset": offset, "capacity": capacity, "base": 0x8020_2000},
        "outputs": {"axvisor.bin": hashlib.sha256(data).hexdigest()}}))
    return d


def console(*exits: Any, tail: str = "Welcome to AxVisor Shell!\n") -> bytes:
    log = "AXH:GUEST-START aarch64\n" + "".join(
        format_log_line(render_exit(e, GEN, "aarch64", DebugForm.PRETTY_HEX), 1000 + i)
        for i, e in enumerate(exits))
    return (log + tail).encode()


def with_lines(*exits: Any) -> list[dict[str, Any]]:
    return [{**exit_to_json(e), "line": 10 * i + 1} for i, e in enumerate(exits)]


# -- reading a case directory ---------------------------------------------------------------------

def test_a_case_directory_is_read_into_typed_artifacts(tmp_path: Path) -> None:
    d = make_case(tmp_path, recorded=with_lines(STORE, SystemDown()))
    art = load_case(d)
    assert (art.case_id, art.arch, art.image_key, art.profile) == (
        "aarch64/first-guest", "aarch64", KEY, "aarch64-virt-el2-tcg")
    assert art.schema is GEN and art.payload_asm == PAYLOAD
    assert art.expected is not None and art.expected[0]["variant"] == "MmioWrite"
    assert art.recorded is not None and len(art.recorded) == 2


def test_the_manifest_file_itself_is_accepted_for_its_directory(tmp_path: Path) -> None:
    d = make_case(tmp_path)
    assert load_case(d / "manifest.json").casedir == d.resolve()


def test_a_directory_without_manifest_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"manifest\.json: missing"):
        load_case(tmp_path)


def test_a_broken_manifest_is_reported_with_line_and_column(tmp_path: Path) -> None:
    d = make_case(tmp_path)
    (d / "manifest.json").write_text('{\n  "case": "x",\n  oops\n}')
    with pytest.raises(UsageError, match=r"manifest\.json:3:3: not valid JSON"):
        load_case(d)


def test_a_case_that_never_booted_has_nothing_to_reproduce(tmp_path: Path) -> None:
    d = make_case(tmp_path, manifest={"case": "x86_64-vmx/a", "arch": "x86_64",
                                      "verdict": "skip", "image": {"recipe": "x86_64-vmx"},
                                      "qemu": {"profile": "x86_64-q35-vmx-kvm"}})
    with pytest.raises(UsageError, match=r"verdict skip: it never booted"):
        load_case(d)


def test_a_bad_observed_record_names_its_line(tmp_path: Path) -> None:
    d = make_case(tmp_path)
    (d / "observed.jsonl").write_text(json.dumps(exit_to_json(STORE)) + "\n{broken\n")
    with pytest.raises(UsageError, match=r"observed\.jsonl:2:2: not valid JSON"):
        load_case(d)


def test_a_binary_payload_is_one_line_naming_it_and_the_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = make_case(tmp_path)
    (d / "payload.S").write_bytes(b"    .text\n    str w1, [x9]\xff\x00\n")
    with pytest.raises(UsageError, match=r"payload\.S:2:17: not UTF-8"):
        load_case(d)
    assert main(["repro", str(d)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "payload.S:2:17" in err and "Traceback" not in err


def test_a_binary_observed_record_names_its_line(tmp_path: Path) -> None:
    d = make_case(tmp_path)
    (d / "observed.jsonl").write_bytes(json.dumps(exit_to_json(STORE)).encode() + b"\n\x89PNG\n")
    with pytest.raises(UsageError, match=r"observed\.jsonl:2:1: not UTF-8"):
        load_case(d)


@pytest.mark.parametrize("name", ["manifest.json", "expected.json", "observed.jsonl"])
def test_deeply_nested_json_in_a_case_directory_is_one_line_naming_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    d = make_case(tmp_path, recorded=with_lines(STORE))
    first = json.dumps(exit_to_json(STORE)) + "\n" if name == "observed.jsonl" else ""
    (d / name).write_text(first + "[" * 50_000 + "]" * 50_000)
    assert main(["repro", str(d)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{name}:" in err and "nested" in err, err
    assert "Traceback" not in err


def test_the_cli_reports_a_bad_case_directory_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repro", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nowhere" in err and "Traceback" not in err


# -- the image ------------------------------------------------------------------------------------

def test_a_missing_image_says_how_to_rebuild_it(tmp_path: Path) -> None:
    art = load_case(make_case(tmp_path))
    with pytest.raises(InfraError) as exc:
        repro.find_image(art, tmp_path / "empty-cache")
    msg = str(exc.value)
    assert KEY[:12] in msg and "axharness images build --recipe" in msg
    assert "aarch64.toml" in msg and "\n" not in msg


def test_the_cli_exits_3_for_a_missing_image(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    d = make_case(tmp_path)
    assert main(["repro", str(d), "--cache-dir", str(tmp_path / "empty")]) == 3
    assert "images build --recipe" in capsys.readouterr().err


def test_the_rebuild_hint_keeps_the_cache_dir(tmp_path: Path) -> None:
    """The image is rebuilt where repro will look for it, not in the default cache."""
    art = load_case(make_case(tmp_path))
    cache = tmp_path / "my cache"
    with pytest.raises(InfraError, match=r"images build --recipe \S+ --cache-dir '.*my cache'"):
        repro.find_image(art, cache)
    make_image(cache)
    with (cache / "images" / KEY / "axvisor.bin").open("r+b") as f:
        f.write(b"tampered")
    with pytest.raises(InfraError, match=r"--force --recipe \S+ --cache-dir '.*my cache'"):
        repro.find_image(art, cache)


def test_a_cached_kernel_that_changed_is_refused(tmp_path: Path) -> None:
    art = load_case(make_case(tmp_path))
    img = make_image(tmp_path / "cache")
    with (img / "axvisor.bin").open("r+b") as f:
        f.write(b"tampered")
    with pytest.raises(InfraError, match=r"not the file its manifest records.*--force"):
        repro.find_image(art, tmp_path / "cache")


def test_the_image_is_described_by_its_manifest(tmp_path: Path) -> None:
    art = load_case(make_case(tmp_path))
    make_image(tmp_path / "cache", offset=8192, capacity=128)
    image = repro.find_image(art, tmp_path / "cache")
    assert (image.payload_offset, image.payload_capacity, image.payload_base) == (
        8192, 128, 0x8020_2000)
    assert image.kernel.name == "axvisor.bin" and image.qemu_profile == "aarch64-virt-el2-tcg"


# -- judging a run --------------------------------------------------------------------------------

def test_a_run_with_the_recorded_exits_is_reproduced(tmp_path: Path) -> None:
    art = load_case(make_case(tmp_path, recorded=with_lines(STORE, SystemDown())))
    res = repro.judge(art, "watcher", "end", console(STORE, SystemDown()))
    assert res.reproduced is True and res.diffs == () and repro.exit_code(res) == 0


def test_a_run_with_other_exits_than_recorded_is_not_reproduced(tmp_path: Path) -> None:
    art = load_case(make_case(tmp_path, recorded=with_lines(STORE, SystemDown())))
    res = repro.judge(art, "watcher", "end", console(STORE, HC, SystemDown()))
    assert res.reproduced is False and repro.exit_code(res) == 2


def test_a_reproduced_divergence_exits_0_because_it_reproduced(tmp_path: Path) -> None:
    other = MmioWrite(GuestPhysAddr(0x0800_0E00), AccessWidth.Dword, 0x1)
    art = load_case(make_case(tmp_path, recorded=with_lines(other, SystemDown())))
    res = repro.judge(art, "watcher", "end", console(other, SystemDown()))
    assert res.diffs and res.reproduced is True and repro.exit_code(res) == 0


def test_without_a_record_the_model_decides_the_exit_code(tmp_path: Path) -> None:
    art = load_case(make_case(tmp_path))
    assert repro.exit_code(repro.judge(art, "watcher", "end", console(STORE, SystemDown()))) == 0
    assert repro.exit_code(repro.judge(art, "watcher", "end", console(SystemDown()))) == 2


def test_side_by_side_marks_each_row(tmp_path: Path) -> None:
    art = load_case(make_case(tmp_path, expected=[
        exit_to_json(STORE), exit_to_json(HC), exit_to_json(SystemDown())]))
    other = MmioWrite(GuestPhysAddr(0x0800_0E00), AccessWidth.Dword, 0x1)
    res = repro.judge(art, "watcher", "end", console(other, HC))
    rows = side_by_side(art, res).splitlines()[1:]
    assert rows[0].startswith("#0") and "≠ data" in rows[0] and "data: 0xdeadbeef" in rows[0]
    assert "Hypercall { nr: 0x4ab1" in rows[1] and "  =" in rows[1]
    assert rows[2].startswith("#2") and rows[2].endswith("≠ missing")


def test_two_vcpus_are_judged_and_shown_per_vcpu_whatever_their_interleaving(
        tmp_path: Path) -> None:
    m = {"case": "aarch64-smp/s", "arch": "aarch64", "verdict": "pass",
         "image": {"recipe": "aarch64-smp", "key": KEY, "generation": "G0_2",
                   "patched_sha256": "", "phys_cpu_ids": [0, 1]},
         "qemu": {"profile": "aarch64-virt-el2-tcg-smp2"}}
    expected = [exit_to_json(HC), exit_to_json(SystemDown()), {**exit_to_json(STORE), "vcpu": 1}]
    recorded = [{**exit_to_json(HC), "line": 1}, {**exit_to_json(STORE), "line": 5, "vcpu": 1},
                {**exit_to_json(SystemDown()), "line": 9}]
    art = load_case(make_case(tmp_path, expected=expected, recorded=recorded, manifest=m))
    # this run: vCPU 1's store comes after vCPU 0's SystemDown, and on CPU 1
    order: list[tuple[int, ExitReason]] = [(0, HC), (0, SystemDown()), (1, STORE)]
    log = "AXH:GUEST-START aarch64\n" + "".join(
        format_log_line(render_exit(e, GEN, "aarch64", DebugForm.PRETTY_HEX), 1000 + i,
                        cpu=cpu)
        for i, (cpu, e) in enumerate(order))
    res = repro.judge(art, "watcher", "end", (log + "Welcome to AxVisor Shell!\n").encode())
    assert res.diffs == () and res.reproduced is True
    rows = side_by_side(art, res).splitlines()[1:]
    assert [r.split("  ")[0] for r in rows] == ["vCPU 0 #0", "vCPU 0 #1", "vCPU 1 #0"]
    assert all(r.rstrip().split("  (")[0].endswith("=") for r in rows)


def test_the_summary_flags_a_kernel_that_differs_from_the_recorded_one(tmp_path: Path) -> None:
    art = load_case(make_case(tmp_path))
    res = repro.judge(art, "watcher", "end", console(STORE, SystemDown()))
    kernel = repro.PatchedKernel(tmp_path / "k", "1" * 64, "2" * 64)
    assert kernel.identical is False
    assert any("differs from the recorded one" in ln for ln in summary(art, res, kernel))


# -- the script -----------------------------------------------------------------------------------

def _script(tmp_path: Path) -> tuple[Path, CaseArtifacts]:
    art = load_case(make_case(tmp_path, recorded=with_lines(STORE, SystemDown())))
    make_image(tmp_path / "cache")
    image = repro.find_image(art, tmp_path / "cache")
    out = tmp_path / "repro.sh"
    write_script(out, render_script(art, image, declared_end(art)[0]))
    return out, art


def test_the_script_is_valid_bash_and_executable(tmp_path: Path) -> None:
    out, _ = _script(tmp_path)
    assert os.access(out, os.X_OK)
    res = subprocess.run(["bash", "-n", str(out)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


def test_the_script_holds_the_payload_and_a_runner_with_the_qemu_line(tmp_path: Path) -> None:
    out, _ = _script(tmp_path)
    text = out.read_text()
    assert PAYLOAD in text and "axharness images build --recipe" in text
    assert f"--cache-dir {tmp_path / 'cache'}" in text
    exec_line = next(ln for ln in text.splitlines() if ln.startswith("exec "))
    assert exec_line.startswith('exec python3 "$work/kit/run.py"')
    assert "#   #0 MmioWrite { addr: 0x8000e00, width: Dword, data: 0xdeadbeef }" in text
    archive = text.split("<<'AXH_KIT_EOF'\n", 1)[1].split("AXH_KIT_EOF\n", 1)[0]
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(archive))) as tar:
        kit = json.loads(tar.extractfile("case.json").read())  # type: ignore[union-attr]
        names = tar.getnames()
    assert kit["argv"][0] == "qemu-system-aarch64" and "-qmp" not in kit["argv"]
    assert "-S" not in kit["argv"] and kit["argv"][kit["argv"].index("-kernel") + 1] == "@KERNEL@"
    assert "run.py" in names and "lib/harness/run/standalone.py" in names


def test_a_payload_containing_the_heredoc_delimiter_does_not_end_it_early(
        tmp_path: Path) -> None:
    _, art = _script(tmp_path)
    image = repro.find_image(art, tmp_path / "cache")
    tricky = replace(art, payload_asm=PAYLOAD + "AXH_PAYLOAD_EOF\n")
    text = render_script(tricky, image, declared_end(tricky)[0])
    assert "<<'AXH_PAYLOAD_EOF_'" in text
    body = text.split("<<'AXH_PAYLOAD_EOF_'\n", 1)[1].split("\nAXH_PAYLOAD_EOF_\n", 1)[0]
    assert body + "\n" == tricky.payload_asm


def test_the_script_refuses_an_image_that_is_not_the_recorded_one(tmp_path: Path) -> None:
    out, _ = _script(tmp_path)
    other = tmp_path / "other-image"
    shutil.copytree(tmp_path / "cache" / "images" / KEY, other)
    (other / "axvisor.bin").write_bytes(b"something else")
    res = subprocess.run(["bash", str(out)], env={**os.environ, "AXH_IMAGE_DIR": str(other),
                                                  "AXH_PATCH_ONLY": "1"},
                         capture_output=True, text=True, check=False)
    assert res.returncode == 3 and "sha256 differs" in res.stderr


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-as") is None,
                    reason="needs binutils-aarch64-linux-gnu")
def test_the_script_patches_the_same_bytes_as_the_harness(tmp_path: Path) -> None:
    out, art = _script(tmp_path)
    image = repro.find_image(art, tmp_path / "cache")
    (tmp_path / "h").mkdir()
    ours = repro.patch_kernel(art, image, tmp_path / "h")
    work = tmp_path / "w"
    res = subprocess.run(["bash", str(out)], env={**os.environ, "AXH_WORK": str(work),
                                                  "AXH_PATCH_ONLY": "1"},
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert f"sha256 {ours.sha256}" in res.stdout
    assert (work / "axvisor.bin").read_bytes() == ours.path.read_bytes()
    assert ours.path.read_bytes() != image.kernel.read_bytes()


# -- anywhere: the case directory alone, cmdline.sh, the bundle -----------------------------------

def _case_with_kernel(tmp_path: Path) -> Path:
    """A case directory that kept its patched kernel and ELF, as the suite leaves a failure."""
    kernel = b"\x00patched kernel bytes"
    m = {"case": "aarch64/first-guest", "arch": "aarch64", "verdict": "pass",
         "image": {"recipe": "aarch64", "key": KEY, "generation": "G0_2",
                   "patched_sha256": hashlib.sha256(kernel).hexdigest()},
         "qemu": {"profile": "aarch64-virt-el2-tcg"}}
    d = make_case(tmp_path, manifest=m, recorded=with_lines(STORE, SystemDown()))
    (d / "axvisor.bin").write_bytes(kernel)
    (d / "axvisor.elf").write_bytes(b"\x7fELF symbols")
    return d


def test_the_case_directory_own_kernel_needs_no_image_cache(tmp_path: Path) -> None:
    d = _case_with_kernel(tmp_path)
    got = repro.inputs(load_case(d), tmp_path / "no-cache", tmp_path / "run")
    assert got.kernel.path == d.resolve() / "axvisor.bin" and got.kernel.identical is True
    assert got.elf == d.resolve() / "axvisor.elf"
    (d / "axvisor.bin").write_bytes(b"something else")  # not the kernel the case ran on
    with pytest.raises(InfraError, match="not in the cache"):
        repro.inputs(load_case(d), tmp_path / "no-cache", tmp_path / "run")


FAKE_QEMU = """#!/bin/sh
echo "pwd=$(pwd)"
echo "argv=$*"
"""


def _fake_bin(tmp_path: Path, script: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "qemu-system-aarch64").write_text(script)
    (bin_dir / "qemu-system-aarch64").chmod(0o755)
    return bin_dir


def test_cmdline_sh_runs_as_written_from_a_copy_of_the_case_directory(tmp_path: Path) -> None:
    from harness.qemu.machine import cmdline_script
    from harness.qemu.profiles import get_profile

    d = _case_with_kernel(tmp_path)
    (d / "cmdline.sh").write_text(cmdline_script(get_profile("aarch64-virt-el2-tcg"),
                                                 d / "axvisor.bin", d))
    moved = shutil.copytree(d, tmp_path / "elsewhere" / "case")
    shutil.rmtree(d)
    env = {"PATH": f"{_fake_bin(tmp_path, FAKE_QEMU)}:/usr/bin:/bin"}
    res = subprocess.run(["sh", str(moved / "cmdline.sh")], capture_output=True, text=True,
                         env=env, cwd="/", check=False)
    assert res.returncode == 0, res.stderr
    assert f"pwd={moved}" in res.stdout and "-kernel axvisor.bin " in res.stdout
    assert "-qmp" not in res.stdout and " -S" not in res.stdout
    (moved / "axvisor.bin").unlink()
    res = subprocess.run(["sh", str(moved / "cmdline.sh")], capture_output=True, text=True,
                         env=env, cwd="/", check=False)
    assert res.returncode == 3 and "axharness repro" in res.stderr


def test_the_harness_machine_line_is_the_pure_one_plus_qmp_and_pause(tmp_path: Path) -> None:
    from harness.qemu.machine import QemuMachine, machine_argv
    from harness.qemu.profiles import get_profile

    profile = get_profile("aarch64-virt-el2-tcg")
    m = QemuMachine(profile, tmp_path / "k", tmp_path)
    try:
        assert m.argv() == machine_argv(profile, str(tmp_path / "k"), qmp=m.qmp_socket,
                                        paused=True)
    finally:
        m.stop()
    plain = machine_argv(profile, "k")
    assert "-qmp" not in plain and "-S" not in plain and plain[0] == "qemu-system-aarch64"


def test_a_bundle_runs_to_a_verdict_with_python_alone(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """Unpacked in an empty directory and run by an isolated interpreter (no site-packages,
    no harness on its path); the QEMU here is a stand-in printing the recorded console."""
    import tarfile

    d = _case_with_kernel(tmp_path)
    out = tmp_path / "b.tar.gz"
    assert main(["repro", str(d), "--bundle", str(out), "--cache-dir", str(tmp_path / "none")]
                ) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    with tarfile.open(out) as tar:
        tar.extractall(empty, filter="data")
    top = empty / d.name
    assert {"run.py", "case.json", "axvisor.bin", "axvisor.elf", "cmdline.sh", "README.txt",
            "expected.json", "observed.jsonl", "payload.S"} <= {p.name for p in top.iterdir()}
    log = console(STORE, SystemDown()).decode()
    script = f"#!{sys.executable} -I\nimport sys\nsys.stdout.write({log!r})\nsys.stdout.flush()\n"
    script += "import time\ntime.sleep(30)\n"
    env = {"PATH": str(_fake_bin(tmp_path, script))}
    res = subprocess.run([sys.executable, "-I", "-S", str(top / "run.py")], capture_output=True,
                         text=True, env=env, cwd=empty, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "verdict: pass" in res.stdout and "recorded verdict: pass (same)" in res.stdout
    assert "reproduced" in res.stdout
