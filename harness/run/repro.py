"""Re-running one case from its artifacts directory, without the suite, the scenario catalogue
or the reference model: a failing case must stay debuggable after the code that produced it
has moved on.

What a case directory holds is enough: manifest.json names the image by its cache key and the
QEMU profile, payload.S is the guest code, expected.json the model's prediction at the time and
observed.jsonl what axvisor reported. The patched kernel of a passing case is deleted by the
suite; it is rebuilt here from the cached image and payload.S, and its sha256 checked against
the one the case recorded.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from harness.check.compare import ExitDiff, compare_vcpus, record_json
from harness.errors import InfraError, UsageError
from harness.guests.binutils import assemble, flat_binary_commands, tool_names
from harness.guests.payload import BuiltPayload, patch_image
from harness.images.build import PAYLOAD_MAGIC, Image, read_image, sha256_file
from harness.images.recipe import find_recipes
from harness.model.exits import ExitReason, Generation, exit_from_json
from harness.model.values import ModelError
from harness.parse import parse_log
from harness.paths import repo_root
from harness.qemu.machine import QemuMachine
from harness.qemu.profiles import MachineProfile, get_profile
from harness.run import axvisor_console
from harness.textfile import parse_json, read_json, read_text

ESCAPE = "\x1d"  # Ctrl-]: leaves an interactive console (pexpect's default, telnet's too)


# -- the case directory ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CaseArtifacts:
    """What a case directory says about the run it holds."""

    casedir: Path
    case_id: str
    arch: str
    verdict: str  # as recorded (after known divergences)
    recipe: str
    image_key: str
    profile: str
    generation: Generation
    payload_asm: str
    patched_sha256: str  # "" when the case did not record one
    expected: tuple[dict[str, Any], ...] | None  # None: the model could not predict
    recorded: tuple[dict[str, Any], ...] | None  # observed.jsonl; None: the run never got there
    vcpu_of_cpu: dict[int, int] = field(default_factory=dict)  # vCPU pinning


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise UsageError(f"{path}: missing; is {path.parent} a case directory "
                         "(results/cases/<id>/)?")
    return read_json(path)


def _field(doc: Any, path: Path, *keys: str) -> str:
    cur = doc
    for k in keys:
        cur = cur.get(k) if isinstance(cur, dict) else None
    if not isinstance(cur, str) or not cur:
        raise UsageError(f"{path}: no {'.'.join(keys)}")
    return cur


def _exit_list(value: Any, path: Path) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list) or not all(
            isinstance(e, dict) and isinstance(e.get("variant"), str) for e in value):
        raise UsageError(f"{path}: expected a list of exits ({{\"variant\": …, \"fields\": …}})")
    return tuple(value)


def _read_jsonl(path: Path) -> tuple[dict[str, Any], ...]:
    out = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        obj = parse_json(line, path, n)
        if not isinstance(obj, dict) or not isinstance(obj.get("variant"), str):
            raise UsageError(f"{path}:{n}: not an exit record")
        out.append(obj)
    return tuple(out)


def load_case(casedir: Path) -> CaseArtifacts:
    """Read a case directory; every problem is one line naming the file at fault."""
    if casedir.name == "manifest.json" and casedir.is_file():
        casedir = casedir.parent
    if not casedir.is_dir():
        raise UsageError(f"{casedir}: not a directory (expected results/cases/<id>/)")
    mf = casedir / "manifest.json"
    m = _read_json(mf)
    if not isinstance(m, dict):
        raise UsageError(f"{mf}: expected an object")
    case_id = _field(m, mf, "case")
    verdict = m.get("verdict", "?")
    if not isinstance(m.get("image"), dict) or "key" not in m["image"]:
        raise UsageError(f"{mf}: case {case_id} records no image (verdict {verdict}: it never "
                         "booted), so there is nothing to reproduce")
    gen_name = _field(m, mf, "image", "generation")
    try:
        generation = Generation[gen_name]
    except KeyError:
        raise UsageError(f"{mf}: unknown image.generation {gen_name!r} (known: "
                         f"{', '.join(g.name for g in Generation)})") from None
    asm = read_text(casedir / "payload.S")
    exp_path = casedir / "expected.json"
    expected = _exit_list(_read_json(exp_path), exp_path) if exp_path.is_file() else None
    obs_path = casedir / "observed.jsonl"
    recorded = _read_jsonl(obs_path) if obs_path.is_file() else None
    sha = m["image"].get("patched_sha256", "")
    ids = m["image"].get("phys_cpu_ids", [0])
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise UsageError(f"{mf}: image.phys_cpu_ids: expected a list of CPU numbers")
    return CaseArtifacts(
        casedir=casedir.resolve(), case_id=case_id, arch=_field(m, mf, "arch"),
        verdict=str(verdict), recipe=_field(m, mf, "image", "recipe"),
        image_key=_field(m, mf, "image", "key"), profile=_field(m, mf, "qemu", "profile"),
        generation=generation, payload_asm=asm,
        patched_sha256=sha if isinstance(sha, str) else "", expected=expected,
        recorded=recorded, vcpu_of_cpu={cpu: v for v, cpu in enumerate(ids)})


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


# -- running --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RowMark:
    same: bool
    note: str  # "" when same


@dataclass(frozen=True, slots=True)
class ReproResult:
    ending: str
    detail: str
    console: bytes
    observed: tuple[dict[str, Any], ...]  # exit_to_json + "line", in console order
    matched: tuple[dict[str, Any], ...]  # observed minus unpredicted asynchronous exits
    asynchronous: int
    parse_errors: tuple[str, ...]
    diffs: tuple[ExitDiff, ...] | None  # against expected.json; None without one
    reproduced: bool | None  # same exits as observed.jsonl; None without one
    panic: str | None


def gdb_instructions(image: Image, machine: QemuMachine) -> str:
    """How to attach: gdb ≥ 9 takes a unix socket path directly after `target remote`."""
    gdb = "gdb-multiarch"
    lines = [f"QEMU is paused at the first instruction, gdbstub on {machine.gdb_socket}.",
             "Attach from another terminal:",
             f"  {gdb} {shlex.quote(str(image.elf))} "
             f"-ex {shlex.quote(f'target remote {machine.gdb_socket}')}",
             "then `continue` in gdb. `kill` in gdb (or Ctrl-] here) ends the run."]
    if shutil.which(gdb) is None:
        lines.append(f"({gdb} is not installed here: `apt-get install gdb-multiarch`; a "
                     "native gdb lacks the guest architecture.)")
    return "\n".join(lines)


def _printing_watcher(out: BinaryIO | None) -> Callable[[bytearray, int], str | None]:
    def watch(console: bytearray, new_from: int) -> str | None:
        if out is not None:
            out.write(console[new_from:])
            out.flush()
        return axvisor_console.watch(console, new_from)

    return watch


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


def boot(art: CaseArtifacts, image: Image, kernel: Path, rundir: Path, *,
         mode: str = "batch", timeout_scale: float = 1.0, out: BinaryIO | None = None,
         say: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
         tty: bool | None = None) -> tuple[str, str, bytes]:
    """Boot the patched kernel: (ending, detail, console). Modes: "batch" streams the console
    to `out` until the run ends as in the suite; "interactive" hands it to the user; "gdb"
    starts paused with a gdbstub and waits for the user (on the console if `tty`, default:
    stdin is a terminal; else until the run ends as in batch mode)."""
    if mode not in ("batch", "interactive", "gdb"):
        raise ValueError(f"unknown repro mode {mode!r}")
    profile: MachineProfile = get_profile(art.profile)
    gdb = mode == "gdb"
    machine = QemuMachine(profile, kernel, rundir, timeout_scale=timeout_scale, gdb=gdb,
                          paused=gdb)
    if tty is None:
        tty = sys.stdin.isatty()
    with machine:
        if gdb:
            say(gdb_instructions(image, machine))
            machine.timeout_s = machine.watchdog_s = float("inf")  # the user sets the pace
        if mode == "interactive" or (gdb and tty):
            if not gdb:
                say("console is yours; Ctrl-] leaves (axvisor ends in its shell)")
            console = _interact(machine)
            ending, detail = "user", "console handed back"
            (rundir / "console.log").write_bytes(console)
        else:
            res = machine.run_until(_printing_watcher(out))
            console, ending, detail = res.console, res.ending.value, res.detail
    if out is not None and not console.endswith(b"\n"):
        out.write(b"\n")
    return ending, detail, console


def _without_line(e: dict[str, Any]) -> dict[str, Any]:
    return {"variant": e.get("variant"), "fields": e.get("fields", {})}


def _per_vcpu(exits: tuple[dict[str, Any], ...]) -> dict[int, list[dict[str, Any]]]:
    return {v: [_without_line(e) for e in es] for v, es in _grouped(exits).items()}


def _expected_exits(art: CaseArtifacts) -> dict[int, tuple[ExitReason, ...]] | None:
    """expected.json by vCPU (an entry's `vcpu` key; absent: vCPU 0)."""
    if art.expected is None:
        return None
    out: dict[int, list[ExitReason]] = {0: []}
    try:
        for e in art.expected:
            vcpu = e.get("vcpu", 0)
            if not isinstance(vcpu, int):
                raise ModelError(f"`vcpu` must be an integer, got {vcpu!r}")
            out.setdefault(vcpu, []).append(exit_from_json(
                {k: v for k, v in e.items() if k != "vcpu"}, art.generation))
    except ModelError as exc:
        raise UsageError(f"{art.casedir / 'expected.json'}: {exc}") from None
    return {v: tuple(exits) for v, exits in out.items()}


def judge(art: CaseArtifacts, ending: str, detail: str, console: bytes) -> ReproResult:
    """Parse the console; compare with expected.json (the model) and observed.jsonl (the
    recorded run)."""
    parsed = parse_log(console, art.generation, source_name="console")

    observed = tuple(record_json(r, art.vcpu_of_cpu) for r in parsed.records)
    expected = _expected_exits(art)
    diffs_all, asynchronous = compare_vcpus(expected or {}, parsed.records,
                                            vcpu_of_cpu=art.vcpu_of_cpu)
    diffs = diffs_all if expected is not None else None
    unpredicted = {id(r) for r in asynchronous}
    matched = tuple(record_json(r, art.vcpu_of_cpu) for r in parsed.records
                    if id(r) not in unpredicted)
    reproduced = None
    if art.recorded is not None:  # each vCPU's exits in order; their interleaving may differ
        reproduced = _per_vcpu(art.recorded) == _per_vcpu(observed)
    return ReproResult(ending, detail, console, observed, matched, len(asynchronous),
                       tuple(str(e) for e in parsed.errors), diffs, reproduced,
                       axvisor_console.panic_text(console))


# -- presenting -----------------------------------------------------------------------------------

def _fmt_value(v: object) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return hex(v)
    if isinstance(v, list):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    return str(v)


def format_exit(e: dict[str, Any] | None) -> str:
    """An exit in the JSON form, written the way axvm's Debug output reads."""
    if e is None:
        return "—"
    fields = e.get("fields") or {}
    inner = ", ".join(f"{k}: {_fmt_value(v)}" for k, v in fields.items())
    return f"{e.get('variant')} {{ {inner} }}" if inner else str(e.get("variant"))


def _mark(exp: dict[str, Any] | None, obs: dict[str, Any] | None) -> RowMark:
    if exp is None:
        return RowMark(False, "unexpected")
    if obs is None:
        return RowMark(False, "missing")
    if exp.get("variant") != obs.get("variant"):
        return RowMark(False, "variant")
    ef, of = exp.get("fields") or {}, obs.get("fields") or {}
    changed = sorted(k for k in set(ef) | set(of) if ef.get(k) != of.get(k))
    return RowMark(not changed, ", ".join(changed))


def _grouped(exits: tuple[dict[str, Any], ...]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for e in exits:
        out.setdefault(int(e.get("vcpu", 0)), []).append(e)
    return out or {0: []}


def side_by_side(art: CaseArtifacts, res: ReproResult) -> str:
    """expected.json next to this run's exits, row by row (asynchronous exits set aside)."""
    kept = _grouped(res.matched)
    expected = _grouped(art.expected or ())
    several = len(set(kept) | set(expected)) > 1
    rows = []
    for v in sorted(set(kept) | set(expected)):
        exps, obss = expected.get(v, []), kept.get(v, [])
        for i in range(max(len(exps), len(obss))):
            exp = exps[i] if i < len(exps) else None
            obs = obss[i] if i < len(obss) else None
            mark = _mark(exp, obs) if art.expected is not None else RowMark(True, "")
            line = f"console line {obs['line']}" if obs is not None and "line" in obs else ""
            rows.append((f"vCPU {v} #{i}" if several else f"#{i}", format_exit(exp),
                         format_exit(obs), "=" if mark.same else f"≠ {mark.note}", line))
    head = ("", "expected.json" if art.expected is not None else "(no expected.json)",
            "this run", "", "")
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(3)]
    out = [f"{head[0]:{widths[0]}}  {head[1]:{widths[1]}}  {head[2]}"]
    for r in rows:
        out.append(f"{r[0]:{widths[0]}}  {r[1]:{widths[1]}}  {r[2]:{widths[2]}}  {r[3]}"
                   f"{'  (' + r[4] + ')' if r[4] else ''}".rstrip())
    if res.asynchronous:
        out.append(f"(+{res.asynchronous} asynchronous exit(s) set aside)")
    return "\n".join(out)


def summary(art: CaseArtifacts, res: ReproResult, kernel: PatchedKernel) -> list[str]:
    lines = [f"run ended: {res.ending} ({res.detail})"]
    if res.panic:
        lines.append(f"hypervisor panic: {res.panic}")
    for e in res.parse_errors[:3]:
        lines.append(f"parse error: {e}")
    if res.diffs is None:
        lines.append("model: no expected.json in the case directory")
    elif res.diffs:
        lines.append(f"model: {len(res.diffs)} difference(s); first: {res.diffs[0].describe()}")
    else:
        lines.append("model: every exit as expected.json predicts")
    if res.reproduced is None:
        lines.append("recorded run: no observed.jsonl to compare with")
    else:
        n = len(art.recorded or ())
        lines.append(f"recorded run (verdict {art.verdict}): "
                     + (f"same {n} exit(s) — reproduced" if res.reproduced
                        else f"DIFFERENT exits (recorded {n}, now {len(res.observed)})"))
    if kernel.identical is False:
        lines.append(f"note: the patched kernel differs from the recorded one "
                     f"({kernel.sha256[:12]} vs {kernel.recorded_sha256[:12]}: other binutils?)")
    return lines


# -- the standalone script ------------------------------------------------------------------------

def _qemu_argv(profile: MachineProfile, kernel: str) -> list[str]:
    """The case's QEMU line without the harness's QMP socket and -S (the script runs QEMU
    straight away); taken from QemuMachine so it follows any change there."""
    machine = QemuMachine(profile, Path(kernel), Path(os.devnull))
    try:
        argv = machine.argv()
    finally:
        machine.stop()  # removes the socket directory the constructor made
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "-qmp":
            skip = True
        elif a != "-S":
            out.append(a)
    return out


def render_script(art: CaseArtifacts, image: Image) -> str:
    """A bash script that rebuilds the patched kernel from the cached image and payload.S
    (plain binutils, dd and sha256sum: no harness needed) and boots it."""
    profile = get_profile(art.profile)
    kernel_token = "@AXH_KERNEL@"
    qemu = " ".join('"$work/$kernel_name"' if a == kernel_token else shlex.quote(a)
                    for a in _qemu_argv(profile, kernel_token))
    delim = "AXH_PAYLOAD_EOF"
    while delim in art.payload_asm.splitlines():
        delim += "_"
    q = shlex.quote
    build = "\n".join(" ".join(a if a.startswith(("$", '"$', "-Ttext=")) else q(a) for a in cmd)
                      for cmd in flat_binary_commands(
                          art.arch, tool_names(art.arch), '"$work/payload.S"',
                          '"$work/payload.o"', '"$work/payload.elf"', '"$work/payload.bin"',
                          '"$payload_base"'))
    expected = [f"#   #{i} {format_exit(e)}" for i, e in enumerate(art.expected or ())] \
        or ["#   (none recorded)"]
    recorded = [f"#   #{i} {format_exit(e)}" for i, e in enumerate(art.recorded or ())] \
        or ["#   (none recorded)"]
    payload_body = art.payload_asm if art.payload_asm.endswith("\n") else art.payload_asm + "\n"
    cache = image.dir.parent.parent  # find_image reads <cache>/images/<key>
    return f"""#!/usr/bin/env bash
# Re-runs axharness case {art.case_id} (recorded verdict: {art.verdict}) without the harness.
# Written by `axharness repro --script` from {art.casedir}
# at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}.
#
# Needs {" ".join(tool_names(art.arch))}, {profile.binary}, coreutils. Environment:
#   AXH_IMAGE_DIR=DIR  the image directory (default: the cache entry the case ran on)
#   AXH_WORK=DIR       where the payload and the patched kernel go (default: a new temp dir)
#   AXH_GDB=1          start paused with a gdbstub on tcp::1234
#   AXH_PATCH_ONLY=1   stop once the patched kernel is written
# axvisor ends in its shell instead of powering off: Ctrl-C ends QEMU.
#
# Expected exits (expected.json, the reference model's prediction):
{chr(10).join(expected)}
# Exits the recorded run observed (observed.jsonl):
{chr(10).join(recorded)}
set -euo pipefail

image_dir=${{AXH_IMAGE_DIR:-{q(str(image.dir))}}}
kernel_name={q(image.kernel.name)}
image_sha256={q(sha256_file(image.kernel))}
payload_base=0x{image.payload_base:x}
payload_offset={image.payload_offset}
payload_capacity={image.payload_capacity}
patched_sha256={q(art.patched_sha256)}
rebuild={q(rebuild_command(art, cache))}

if [ ! -f "$image_dir/$kernel_name" ]; then
    echo "image not found: $image_dir/$kernel_name" >&2
    echo "rebuild it with: $rebuild" >&2
    echo "(the same image comes out only with the same recipe and toolchain)" >&2
    exit 3
fi
if ! echo "$image_sha256  $image_dir/$kernel_name" | sha256sum --check --status -; then
    echo "$image_dir/$kernel_name is not the image the case ran on (sha256 differs);" >&2
    echo "rebuild it with: $rebuild" >&2
    exit 3
fi

work=${{AXH_WORK:-$(mktemp -d -t axh-repro.XXXXXX)}}
mkdir -p "$work"
cat > "$work/payload.S" <<'{delim}'
{payload_body}{delim}

# Assemble and link at the payload base (as harness.guests.binutils does), flatten.
{build}
size=$(stat -c %s "$work/payload.bin")
if [ "$size" -gt "$payload_capacity" ]; then
    echo "payload is $size bytes, the image's hole holds $payload_capacity" >&2
    exit 1
fi

# Patch a copy: the hole follows the 16-byte marker {PAYLOAD_MAGIC.decode()} and its
# 8-byte capacity.
cp "$image_dir/$kernel_name" "$work/$kernel_name"
chmod u+w "$work/$kernel_name"
marker=$(dd if="$work/$kernel_name" iflag=skip_bytes,count_bytes skip=$((payload_offset - 24)) \\
    count=16 status=none)
if [ "$marker" != {PAYLOAD_MAGIC.decode()} ]; then
    echo "$work/$kernel_name: payload marker not at offset $((payload_offset - 24))" >&2
    exit 3
fi
dd if="$work/payload.bin" of="$work/$kernel_name" oflag=seek_bytes seek="$payload_offset" \\
    conv=notrunc status=none
actual=$(sha256sum "$work/$kernel_name" | cut -d' ' -f1)
echo "patched kernel: $work/$kernel_name sha256 $actual"
if [ -n "$patched_sha256" ] && [ "$actual" != "$patched_sha256" ]; then
    echo "warning: the case ran on sha256 $patched_sha256 (other binutils?)" >&2
fi
if [ -n "${{AXH_PATCH_ONLY:-}}" ]; then
    exit 0
fi

gdb_args=()
if [ -n "${{AXH_GDB:-}}" ]; then
    gdb_args=(-S -gdb tcp::1234)
    echo "paused; attach with: gdb-multiarch $image_dir/axvisor.elf -ex 'target remote :1234'" >&2
fi
exec {qemu} "${{gdb_args[@]}}"
"""


def write_script(path: Path, text: str) -> None:
    try:
        path.write_text(text)
        path.chmod(0o755)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None


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

