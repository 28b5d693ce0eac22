"""Re-running one case from its artifacts directory, without the suite, the scenario catalogue
or the reference model: a failing case must stay debuggable after the code that produced it
has moved on, and on another machine.

The case directory is enough (harness.run.artifacts): it keeps the patched kernel of a case
that failed, axvisor's ELF for gdb and the scenario's declared end (harness.run.keep). Only
when the kernel is gone (the suite deletes it for a case that passed) is it rebuilt from the
cached image and payload.S, and its sha256 checked against the one the case recorded. The run
is judged as the suite judges (harness.run.standalone) and compared with the recorded exits.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from harness.check.compare import ExitDiff
from harness.errors import InfraError, UsageError
from harness.guests.binutils import assemble
from harness.guests.payload import BuiltPayload, patch_image
from harness.images.build import Image, read_image
from harness.images.recipe import find_recipes
from harness.model.values import ModelError
from harness.paths import repo_root
from harness.qemu.machine import QemuMachine, silence_doubt
from harness.qemu.profiles import get_profile
from harness.run.artifacts import (
    CaseArtifacts,
    declared_end,
    kernel_in_case,
    kit_of,
    known_covers,
    symbols_in_case,
)
from harness.run.kit import DeclaredEnd
from harness.run.standalone import Run, ends_on_silence, silence_scale_of, watcher
from harness.run.standalone import judge as judge_run

ESCAPE = "\x1d"  # Ctrl-]: leaves an interactive console (pexpect's default, telnet's too)


# -- the image ------------------------------------------------------------------------------------

def recipe_file(name: str) -> Path:
    """The recipe file whose [recipe] name is `name` (for rebuild hints)."""
    try:
        root = repo_root()
    except UsageError:
        return Path("images/recipes") / f"{name}.toml"
    for path in find_recipes(root):
        try:
            if tomllib.loads(path.read_text()).get("recipe", {}).get("name") == name:
                return path
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue  # a broken recipe is not the one: the hint falls back to the usual name
    return root / "images" / "recipes" / f"{name}.toml"


def rebuild_command(art: CaseArtifacts, cache: Path, *, force: bool = False) -> str:
    """The build of the case's image into `cache`, where repro looks for it."""
    return (f"axharness images build {'--force ' if force else ''}"
            f"--recipe {shlex.quote(str(recipe_file(art.recipe)))} "
            f"--cache-dir {shlex.quote(str(cache))}")


def find_image(art: CaseArtifacts, cache: Path) -> Image:
    """The cached image the case ran on, checked against its manifest's hashes."""
    d = cache / "images" / art.image_key
    mf = d / "manifest.json"
    if not mf.is_file():
        raise InfraError(
            f"image {art.image_key[:12]} of {art.case_id} is not in the cache {cache}; "
            f"rebuild it with `{rebuild_command(art, cache)}` (same key only if the recipe "
            "and toolchain are unchanged)")
    try:
        image = read_image(d, art.image_key, art.recipe, art.arch, art.profile)
    except InfraError as exc:
        raise InfraError(f"{exc}; rebuild with `{rebuild_command(art, cache, force=True)}`"
                         ) from None
    return image


# -- the patched kernel ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PatchedKernel:
    path: Path
    sha256: str
    recorded_sha256: str  # what the case ran on ("" if unknown)
    source: str = "rebuilt from the cached image"

    @property
    def identical(self) -> bool | None:
        """Same bytes as the recorded run; None when the case recorded no hash."""
        return self.sha256 == self.recorded_sha256 if self.recorded_sha256 else None


def patch_kernel(art: CaseArtifacts, image: Image, dest_dir: Path) -> PatchedKernel:
    """payload.S assembled at the image's payload base, written into a copy of the image."""
    code = assemble(image.arch, art.payload_asm, image.payload_base, name="payload.S")
    if len(code) > image.payload_capacity:
        raise UsageError(f"{art.casedir / 'payload.S'}: assembles to {len(code)} bytes, the "
                         f"image's payload hole holds {image.payload_capacity}")
    dest = dest_dir / image.kernel.name
    sha = patch_image(image, BuiltPayload(art.payload_asm, code, ()), dest)
    return PatchedKernel(dest, sha, art.patched_sha256)


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a re-run boots: the patched kernel, and the ELF with symbols (for gdb)."""

    kernel: PatchedKernel
    elf: Path | None


def inputs(art: CaseArtifacts, cache: Path, rundir: Path) -> Inputs:
    """The case directory's own kernel and ELF when it has them (no image cache needed);
    otherwise the kernel rebuilt from the cached image, and the image's ELF."""
    kernel = kernel_in_case(art)
    if kernel is not None:
        return Inputs(PatchedKernel(kernel, art.patched_sha256, art.patched_sha256,
                                    "the case directory's own"),
                      symbols_in_case(art) or (kernel if kernel.suffix == ".elf" else None))
    image = find_image(art, cache)
    return Inputs(patch_kernel(art, image, rundir), image.elf)


# -- running --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReproResult:
    ending: str
    detail: str
    console: bytes
    verdict: str  # what the suite would say of this run (harness.run.standalone.judge)
    verdict_detail: str
    known: tuple[str, ...]  # known divergences that explain it (xfail)
    observed: tuple[dict[str, Any], ...]  # exit_to_json + "line", in console order
    matched: tuple[dict[str, Any], ...]  # observed minus unpredicted asynchronous exits
    asynchronous: int
    parse_errors: tuple[str, ...]
    diffs: tuple[ExitDiff, ...] | None  # against expected.json; None without one
    reproduced: bool | None  # same exits as observed.jsonl; None without one
    panic: str | None


def gdb_instructions(elf: Path | None, machine: QemuMachine) -> str:
    """How to attach: gdb ≥ 9 takes a unix socket path directly after `target remote`."""
    gdb = "gdb-multiarch"
    lines = [f"QEMU is paused at the first instruction, gdbstub on {machine.gdb_socket}.",
             "Attach from another terminal:",
             f"  {gdb} {shlex.quote(str(elf)) if elf else '(no ELF: symbols unavailable)'} "
             f"-ex {shlex.quote(f'target remote {machine.gdb_socket}')}",
             "then `continue` in gdb. `kill` in gdb (or Ctrl-] here) ends the run."]
    if shutil.which(gdb) is None:
        lines.append(f"({gdb} is not installed here: `apt-get install gdb-multiarch`; a "
                     "native gdb lacks the guest architecture.)")
    return "\n".join(lines)


def _printing(watch: Callable[[bytearray, int], str | None], out: BinaryIO | None
              ) -> Callable[[bytearray, int], str | None]:
    def printing(console: bytearray, new_from: int) -> str | None:
        if out is not None:
            out.write(console[new_from:])
            out.flush()
        return watch(console, new_from)

    return printing


def _interact(machine: QemuMachine) -> bytes:
    """Hand the console to the user until Ctrl-] or QEMU exits; return what it printed."""
    captured = bytearray()

    def keep(data: bytes) -> bytes:
        captured.extend(data)
        return data

    child = machine._child
    if child is None:
        return b""
    with contextlib.suppress(OSError):  # QEMU closing the pty under us ends the run too
        child.interact(escape_character=ESCAPE, output_filter=keep)
    return bytes(captured)


def boot(art: CaseArtifacts, kernel: Path, rundir: Path, *, elf: Path | None = None,
         end: DeclaredEnd | None = None, mode: str = "batch", timeout_scale: float = 1.0,
         out: BinaryIO | None = None,
         say: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
         tty: bool | None = None) -> tuple[str, str, bytes]:
    """Boot the patched kernel: (ending, detail, console). Modes: "batch" streams the console
    to `out` until the scenario's declared end, with its watchdogs; "interactive" hands it to
    the user; "gdb" starts paused with a gdbstub and waits for the user (on the console if
    `tty`, default: stdin is a terminal; else until the run ends as in batch mode)."""
    if mode not in ("batch", "interactive", "gdb"):
        raise ValueError(f"unknown repro mode {mode!r}")
    end = end or declared_end(art)[0]
    gdb = mode == "gdb"
    if tty is None:
        tty = sys.stdin.isatty()
    handed = mode == "interactive" or (gdb and tty)  # the user gets the pty itself
    machine = QemuMachine(get_profile(art.profile), kernel, rundir, gdb=gdb, paused=gdb,
                          console_pipe=not handed)
    machine.timeout_s = end.timeout_s * timeout_scale
    machine.watchdog_s = end.watchdog_s * silence_scale_of(end, timeout_scale)
    with machine:
        if gdb:
            say(gdb_instructions(elf, machine))
            machine.timeout_s = machine.watchdog_s = float("inf")  # the user sets the pace
        if handed:
            if not gdb:
                say("console is yours; Ctrl-] leaves (axvisor ends in its shell)")
            console = _interact(machine)
            ending, detail = "user", "console handed back"
            (rundir / "console.log").write_bytes(console)
        else:
            res = machine.run_until(_printing(watcher(
                end, machine.send_console, schema=art.schema.id, arch=art.arch,
                scale=timeout_scale), out))
            console, ending, detail = res.console, res.ending.value, res.detail
            if ends_on_silence(ending, detail) and (doubt := silence_doubt(
                    machine.diagnostics())):  # as the suite: QEMU's silence, not axvisor's
                ending, detail = "infra", f"{detail}, and {doubt}"
    if out is not None and not console.endswith(b"\n"):
        out.write(b"\n")
    return ending, detail, console


def judge(art: CaseArtifacts, ending: str, detail: str, console: bytes,
          end: DeclaredEnd | None = None) -> ReproResult:
    """The suite's verdict of this run, its exits against expected.json (the model) and
    observed.jsonl (the recorded run)."""
    end = end or declared_end(art)[0]
    kit = kit_of(art, "", "", end, known_covers(art.known))
    try:
        j = judge_run(kit, Run(ending, detail, console, 0.0))
    except ModelError as exc:
        raise UsageError(f"{art.casedir / 'expected.json'}: {exc}") from None
    return ReproResult(ending, detail, console, j.verdict, j.detail, j.known, j.observed,
                       j.matched, j.asynchronous, j.parse_errors,
                       j.diffs if art.expected is not None else None, j.reproduced, j.panic)


def prepare_rundir(art: CaseArtifacts) -> Path:
    """casedir/repro/, emptied: the case's own artifacts stay as the suite left them."""
    rundir = art.casedir / "repro"
    try:
        shutil.rmtree(rundir, ignore_errors=True)
        rundir.mkdir(parents=True)
    except OSError as exc:
        raise UsageError(f"{rundir}: cannot create: {exc.strerror or exc}") from None
    return rundir


def exit_code(res: ReproResult) -> int:
    """0 when the run reproduced the recorded exits (or, with no record, matched the model)."""
    if res.reproduced is not None:
        return 0 if res.reproduced else 2
    return 0 if res.diffs == () else 2


__all__ = ["CaseArtifacts", "Inputs", "PatchedKernel", "ReproResult", "boot", "exit_code",
           "find_image", "gdb_instructions", "inputs", "judge", "patch_kernel",
           "prepare_rundir", "rebuild_command", "recipe_file"]
