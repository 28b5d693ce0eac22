"""Run one case with nothing but QEMU and Python's standard library, to the end its scenario
declares (shutdown, expected panic, hang or stuck with the scenario's watchdog), and judge it
as the suite does: `python3 run.py` in an unpacked bundle (harness.run.bundle) exits 0 for
pass or xfail, 2 for any failing verdict, 3 when QEMU is missing or was killed.

Only modules whose imports are all standard library are used here (the bundle carries exactly
them): the console watcher, the exit parser and comparison, and the exit model.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.check.compare import (
    ASYNC_VARIANTS,
    ExitDiff,
    compare_vcpus,
    differ_detail,
    fold_repeats,
    fold_repeats_per_vcpu,
    matches_json,
    missing_async,
    record_json,
)
from harness.model import schemas
from harness.model.arch import Arch
from harness.model.convert import exit_from_json
from harness.model.exits import ExitReason
from harness.model.values import ModelError
from harness.parse import parse_console
from harness.run import axvisor_console, current_line
from harness.run.kit import DeclaredEnd, Kit, KitError, KnownCover, read_kit
from harness.run.watchers import (
    PARKED,
    STUCK,
    WAIT_INPUT,
    asks_for_input,
    parked_watcher,
    silence_scale,
)

Watch = Callable[[bytes | bytearray, int], "str | None"]


@dataclass(frozen=True, slots=True)
class Run:
    ending: str  # harness.qemu.machine.Ending values: watcher, qemu-exited, timeout, watchdog…
    detail: str
    console: bytes
    duration_s: float


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: str  # harness.check.verdict.Verdict values
    detail: str
    diffs: tuple[ExitDiff, ...]
    observed: tuple[dict[str, object], ...]  # record_json of every exit, console order
    matched: tuple[dict[str, object], ...]  # observed less the unpredicted asynchronous ones
    asynchronous: int
    parse_errors: tuple[str, ...]
    panic: str | None
    reproduced: bool | None  # each vCPU's exits as the recorded run's; None: no record
    known: tuple[str, ...] = ()


def watcher(end: DeclaredEnd, send: Callable[[bytes], None] | None = None, *,
            schema: str = "", arch: str = "", scale: float = 1.0) -> Watch:
    """axvisor_console.watch, the stuck/may-stick marker with its settle time, and the
    scenario's console input typed once the guest asks for it; with the kit's `schema` and
    `arch`, a declared hang ends as the suite ends it (harness.run.watchers.parked_watcher)."""
    watch = _watcher(end, send)
    if end.expect_hang and schema:
        return parked_watcher(watch, schemas.schema(schema), arch,
                              end.watchdog_s * silence_scale(scale))
    return watch


def _watcher(end: DeclaredEnd, send: Callable[[bytes], None] | None) -> Watch:
    text = end.expect_stuck or end.may_stick
    marker = text.encode()
    state: dict[str, float | bool] = {}

    def watch(console: bytes | bytearray, new_from: int) -> str | None:
        if end.console_input and send and not state.get("sent") and asks_for_input(
                console, max(0, new_from - len(WAIT_INPUT))):
            send(end.console_input)
            state["sent"] = True
        ended = (current_line.watch if end.current_line else axvisor_console.watch)(
            console, new_from)
        if ended is not None or not text:
            return ended
        if "seen" not in state and console.find(marker, max(0, new_from - len(marker))) >= 0:
            state["seen"] = time.monotonic()
        seen = state.get("seen")
        if isinstance(seen, float) and time.monotonic() - seen >= end.stuck_settle_s:
            return f"{STUCK}no end {end.stuck_settle_s:.0f}s after {text!r}"
        return None

    return watch


def run_qemu(argv: Sequence[str], end: DeclaredEnd, *, console_log: Path | None = None,
             echo: Callable[[bytes], None] | None = None, scale: float = 1.0,
             schema: str = "", arch: str = "") -> Run:
    """QEMU with the console on a pipe, until the watcher, QEMU's exit, the wall clock or
    the no-output watchdog ends it; then its whole process group is stopped."""
    started = time.monotonic()
    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    assert proc.stdout is not None and proc.stdin is not None
    stdin = proc.stdin

    def send(data: bytes) -> None:
        with contextlib.suppress(OSError):
            stdin.write(data)
            stdin.flush()

    watch = watcher(end, send, schema=schema, arch=arch, scale=scale)
    console = bytearray()
    log = console_log.open("wb") if console_log else None
    timeout, silence = end.timeout_s * scale, end.watchdog_s * silence_scale_of(end, scale)
    last = time.monotonic()
    ending, detail = "qemu-exited", "QEMU exited"
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while True:
            chunk = os.read(proc.stdout.fileno(), 65536) if sel.select(0.05) else None
            if chunk == b"":
                break
            if chunk:
                new_from, last = len(console), time.monotonic()
                console += chunk
                if log:
                    log.write(chunk)
                if echo:
                    echo(chunk)
                reason = watch(console, new_from)
                if reason is not None:
                    ending, detail = "watcher", reason
                    break
            now = time.monotonic()
            if now - started > timeout:
                ending, detail = "timeout", f"no end after {timeout:.0f}s"
                break
            if now - last > silence:
                ending, detail = "watchdog", f"console silent for {silence:.0f}s"
                break
        if ends_on_silence(ending, detail) and (state := _process_state(proc.pid)) in "Tt":
            # no monitor here: a stopped QEMU is silent too, and only /proc tells
            ending, detail = "infra", f"{detail}, and QEMU's process was stopped ({state})"
    finally:
        sel.close()
        _stop(proc)
        if log:
            log.close()
    if ending == "qemu-exited" and proc.returncode is not None and proc.returncode < 0:
        ending = "killed"
        detail = f"QEMU was killed by {signal.Signals(-proc.returncode).name}"
    elif ending == "qemu-exited" and (m := _KILL_REPORT.search(console)):
        ending = "killed"  # QEMU catches SIGTERM, SIGINT and SIGHUP, says so and exits 0
        detail = f"QEMU was stopped by {signal.Signals(int(m[1])).name}"
    return Run(ending, detail, bytes(console), time.monotonic() - started)


_KILL_REPORT = re.compile(rb"qemu-system-\w+: terminating on signal (\d+)")


def silence_scale_of(end: DeclaredEnd, scale: float) -> float:
    """The watchdog's scale: floored where the silence it ends on can pass the case."""
    return silence_scale(scale) if end.expect_hang or end.may_stick else scale


def ends_on_silence(ending: str, detail: str) -> bool:
    """Whether a run ended on silence or time (a timeout, the watchdog, a parked vCPU's quiet
    window, a stuck VM's settle time): true of a stopped QEMU too, so such an end needs QEMU
    shown alive before it says anything about axvisor."""
    return ending in ("timeout", "watchdog") or (
        ending == "watcher" and detail.startswith((PARKED, STUCK)))


def _process_state(pid: int) -> str:
    """The state letter of /proc/<pid>/stat ("?" where there is none)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "?"
    return stat[stat.rfind(")") + 2:][:1] or "?"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, to QEMU's process group; bounded."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=3)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def expected_exits(kit: Kit) -> dict[int, tuple[ExitReason, ...]] | None:
    if kit.expected is None:
        return None
    schema = schemas.schema(kit.schema)
    out: dict[int, list[ExitReason]] = {0: []}
    for e in kit.expected:
        out.setdefault(int(e.get("vcpu", 0)), []).append(
            exit_from_json({k: v for k, v in e.items() if k != "vcpu"}, schema, kit.arch))
    return {v: tuple(x) for v, x in out.items()}


def undecided_of(kit: Kit) -> dict[tuple[int, int], frozenset[str]]:
    """(vCPU, position) → the attributes expected.json marks as left open by the model."""
    out: dict[tuple[int, int], frozenset[str]] = {}
    seen: dict[int, int] = {}
    for e in kit.expected or ():
        v = int(e.get("vcpu", 0))
        i = seen[v] = seen.get(v, -1) + 1
        if e.get("undecided"):
            out[(v, i)] = frozenset(str(f) for f in e["undecided"])
    return out


def explained(diffs: Sequence[ExitDiff], known: Sequence[KnownCover]) -> tuple[str, ...]:
    """Ids of the entries explaining every diff (one covering it, or several of its variant
    whose fields together include the differing ones); () when some diff is unexplained."""
    ids: set[str] = set()
    for d in diffs:
        differing = {f.field for f in d.fields}
        one = [k for k in known if k.kind == d.kind and k.variant == d.variant
               and differing <= set(k.fields)]
        parts = [k for k in known if d.kind == "fields" and k.kind == "fields"
                 and k.variant == d.variant and differing & set(k.fields)]
        if one:
            ids.add(one[0].id)
        elif parts and differing <= {f for k in parts for f in k.fields}:
            ids.update(k.id for k in parts)
        else:
            return ()
    return tuple(sorted(ids))


def _by_vcpu(exits: Sequence[dict[str, object]]) -> dict[int, list[dict[str, object]]]:
    out: dict[int, list[dict[str, object]]] = {}
    for e in exits:
        vcpu = e.get("vcpu", 0)
        out.setdefault(vcpu if isinstance(vcpu, int) else 0, []).append(e)
    return out


def _values(exits: Sequence[dict[str, object]]) -> list[tuple[object, object]]:
    return [(e.get("variant"), e.get("fields", {})) for e in exits]


def _synchronous(exits: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """Without the asynchronous exits, whose number differs from run to run (a slice's timer
    interrupts fall where the shared boot's waits were)."""
    return [e for e in exits if e.get("variant") not in ASYNC_VARIANTS]


def _same_exits(recorded: Sequence[dict[str, object]], observed: Sequence[dict[str, object]],
                slice_of: Sequence[dict[str, object]] | None, runtime_after: int = -1) -> bool:
    """Each vCPU's exits as recorded. A shared-boot slice (`slice_of`: the expected exits)
    lacks what the runtime does after the program: this run may go on past the recorded
    exits, by exactly the last exits the model predicts (the runtime's power-off), in the
    fields the model decided, and by `runtime_after` exits in all when the case says how many
    (else a program exit the slice missed could pass for the runtime's)."""
    was, now = _by_vcpu(recorded), _by_vcpu(observed)
    if slice_of is None:
        return {v: _values(e) for v, e in was.items()} == {v: _values(e) for v, e in now.items()}
    if runtime_after >= 0 and len(observed) - len(recorded) != runtime_after:
        return False
    end = _by_vcpu(slice_of)
    for v in set(was) | set(now):
        rec, got = was.get(v, []), now.get(v, [])
        tail = got[len(rec):]
        want = end.get(v, [])[-len(tail):] if tail else []
        if _values(got[:len(rec)]) != _values(rec) or len(want) != len(tail) or \
                not all(matches_json(o, e) for o, e in zip(tail, want, strict=True)):
            return False
    return True


def judge(kit: Kit, run: Run) -> Judgement:
    """The suite's verdict for this run (harness.run.case's order of checks)."""
    end, pinned = kit.end, dict(kit.vcpu_of_cpu)
    stuck_text = end.expect_stuck or end.may_stick
    stuck = (run.ending == "watcher" and run.detail.startswith(STUCK)) or bool(
        stuck_text and run.ending == "watchdog"
        and axvisor_console.logged(run.console, stuck_text))
    console = run.console
    parsed = parse_console(console, schemas.schema(kit.schema), kit.arch, "console.log")
    if stuck and parsed.errors:  # as the suite: only a cut last record is set aside
        console = axvisor_console.without_last_record(console)
        parsed = parse_console(console, schemas.schema(kit.schema), kit.arch, "console.log")
    observed = tuple(record_json(r, pinned) for r in parsed.records)
    records, folded = list(parsed.records), 0
    split = current_line.split_markers(records, current_line.Markers(*end.markers), pinned,
                                       ASYNC_VARIANTS) if len(end.markers) == 2 else None
    if split is not None:  # the runtime's hypercalls, set aside as the suite does
        records = list(split.records)
    if end.last_exit_repeats:
        records, folded = fold_repeats(records)
    elif end.may_repeat_last_exit:
        records, folded = fold_repeats_per_vcpu(records, pinned)
    expected = expected_exits(kit)
    diffs, asynchronous = compare_vcpus(expected or {}, records, Arch(kit.arch), pinned,
                                        undecided_of(kit))
    if kit.recorded is None:
        reproduced = None
    elif kit.recorded_slice:  # a shared-boot slice: the program's own synchronous exits
        kept = {id(r) for r in split.records} if split is not None else None
        mine = [record_json(r, pinned) for r in parsed.records
                if kept is None or id(r) in kept]  # without the runtime's marker hypercalls
        reproduced = _same_exits(_synchronous(kit.recorded), _synchronous(mine),
                                 kit.expected or (), kit.runtime_after)
    elif kit.recorded_restored:
        reproduced = _same_exits(_synchronous(kit.recorded), _synchronous(observed), None)
    else:
        reproduced = _same_exits(kit.recorded, observed, None)
    unpredicted = {id(r) for r in asynchronous}
    matched = tuple(record_json(r, pinned) for r in parsed.records if id(r) not in unpredicted)
    panic = axvisor_console.panic_text(run.console)

    def verdict(v: str, detail: str, known: tuple[str, ...] = ()) -> Judgement:
        return Judgement(v, detail, diffs, observed, matched, len(asynchronous),
                         tuple(str(e) for e in parsed.errors), panic, reproduced, known)

    if run.ending == "killed":
        return verdict("infra", f"{run.detail}: the run was cut short")
    if run.ending == "infra":
        return verdict("infra", f"{run.detail}: not a verdict about axvisor")
    parked = run.ending == "watcher" and run.detail.startswith(PARKED)
    hung = (run.ending in ("timeout", "watchdog") or parked) and not stuck
    if panic is not None and (not end.expect_panic or end.expect_panic not in panic):
        return verdict("crash", f"hypervisor panic: {panic}")
    if hung and not end.expect_hang:
        return verdict("timeout", run.detail)
    if end.expect_hang and not hung:
        return verdict("divergence", f"expected the vCPU to stay blocked, but the run ended: "
                       f"{run.detail}")
    if end.expect_stuck and not stuck:
        return verdict("divergence", f"expected axvisor to stay running after "
                       f"{end.expect_stuck!r}, but the run ended: {run.detail}")
    if end.expect_vm_error and not axvisor_console.logged(run.console, end.expect_vm_error):
        return verdict("divergence", f"expected axvisor to stop the VM on the error "
                       f"{end.expect_vm_error!r}, which it did not log")
    if panic is None and end.expect_panic:
        return verdict("divergence", f"expected axvisor to panic with {end.expect_panic!r}, "
                       f"but the run ended: {run.detail}")
    if run.ending != "watcher" and panic is None and not hung and not stuck:
        return verdict("crash", f"run ended by {run.ending}: {run.detail}")
    if parsed.errors:
        return verdict("error", f"{len(parsed.errors)} console record(s) did not parse; "
                       f"first: {parsed.errors[0]}")
    if expected is None:
        return verdict("error", "no expected exits recorded for this case")
    if split is not None and (problems := current_line.marker_problems(
            split, bool(records), end.end_marker_due)):
        return verdict("divergence", f"the runtime's marker hypercalls: "
                       f"{'; '.join(problems)}")
    marker = split.start if split is not None else \
        axvisor_console.guest_printed(run.console, "AXH:GUEST-START")
    if not marker and not observed:
        return verdict("crash", "the guest never printed its start marker and no exit was "
                       "logged")
    if absent := missing_async(end.expect_async, asynchronous):  # the suite's order
        return verdict("divergence", absent + (f"; and {differ_detail(diffs)}" if diffs
                                               else ""))
    if diffs:
        detail = differ_detail(diffs)
        ids = explained(diffs, kit.known)
        return verdict("xfail", detail, ids) if ids else verdict("divergence", detail)
    extra = f" (the last exit repeated {folded} more times)" if folded else ""
    return verdict("pass", f"{sum(len(v) for v in expected.values())} exit(s) as predicted"
                   f"{extra}")


EXIT_CODES = {"pass": 0, "xfail": 0, "infra": 3}


def _echo(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="run.py", description="Run this case to its declared "
                                "end and judge it: exit 0 pass/xfail, 2 failed, 3 no QEMU.")
    p.add_argument("--kit", type=Path, required=True, help=argparse.SUPPRESS)
    p.add_argument("--qemu", default="", help="QEMU binary (default: the recorded one on PATH)")
    p.add_argument("--out", type=Path, help="where console.log goes (default: ./run)")
    p.add_argument("--timeout-scale", type=float, default=1.0, help="multiply the watchdogs")
    p.add_argument("--echo", action="store_true", help="stream the console to stdout")
    p.add_argument("--gdb", type=int, metavar="PORT",
                   help="start paused with a gdbstub on this TCP port (no watchdogs)")
    args = p.parse_args(argv)
    try:
        kit = read_kit(args.kit)
        here = args.kit.resolve().parent
        binary = args.qemu or kit.argv[0]
        if shutil.which(binary) is None:
            print(f"run.py: {binary} not found on PATH (install QEMU or pass --qemu)",
                  file=sys.stderr)
            return 3
        qemu = kit.qemu_argv(here / kit.kernel, binary)
        end, scale = kit.end, args.timeout_scale
        if args.gdb is not None:
            qemu += ["-S", "-gdb", f"tcp::{args.gdb}"]
            scale = 1e6
            elf = here / (kit.elf or kit.kernel)
            print(f"paused; attach: gdb-multiarch {elf} -ex 'target remote :{args.gdb}' "
                  "-ex continue", file=sys.stderr)
        out = (args.out or here / "run").resolve()
        out.mkdir(parents=True, exist_ok=True)
        (out / "cmdline.txt").write_text(" ".join(qemu) + "\n")
        print(f"case {kit.case_id}: running to its declared end ({end.describe()})",
              file=sys.stderr)
        run = run_qemu(qemu, end, console_log=out / "console.log", scale=scale,
                       echo=_echo if args.echo else None, schema=kit.schema, arch=kit.arch)
        res = judge(kit, run)
    except (KitError, ModelError, ValueError, OSError) as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        return 1
    print(f"run ended: {run.ending} ({run.detail}) after {run.duration_s:.1f}s")
    known = f" (known divergence {', '.join(res.known)})" if res.known else ""
    print(f"verdict: {res.verdict}{known}: {res.detail}")
    same = "same" if res.verdict == kit.recorded_verdict else "DIFFERENT"
    print(f"recorded verdict: {kit.recorded_verdict} ({same})")
    if res.reproduced is not None:
        print("recorded run: " + ("same exits — reproduced" if res.reproduced else
                                  "DIFFERENT exits"))
    print(f"console: {out / 'console.log'}")
    return EXIT_CODES.get(res.verdict, 2)
