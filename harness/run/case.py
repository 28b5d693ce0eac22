"""One case: a scenario's payload in a copy of an image, booted in QEMU, judged against the
reference model. Everything a human needs to re-run or debug it lands in the case directory."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import signals
from harness.check.compare import (
    ASYNC_VARIANTS,
    ExitDiff,
    compare_vcpus,
    differ_detail,
    fold_repeats,
    fold_repeats_per_vcpu,
    missing_async,
    record_json,
)
from harness.check.scope import KnownNote, image_record
from harness.check.verdict import Verdict
from harness.errors import HarnessError, InfraError
from harness.guests.payload import build_payload, patch_image
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.model import schemas
from harness.model.arch import Arch
from harness.model.predict import ContractNote
from harness.model.values import ModelError
from harness.parse import parse_console
from harness.persist.snapshot import Restore, Snapshots, loader_records
from harness.qemu.machine import Ending, QemuMachine, silence_doubt
from harness.qemu.profiles import MachineProfile
from harness.run import axvisor_console, current_line
from harness.run.current_line import RUNTIME_END, judge_loss, marker_problems
from harness.run.expect import expected_exits, expected_json
from harness.run.keep import keep_for_repro
from harness.run.slots import IdleLender
from harness.run.watchers import (
    HANG_TIMEOUT_SCALE,
    PARKED,
    STUCK,
    console_watcher,
    parked_watcher,
    silence_scale,
    typing_watcher,
)
from harness.scenarios.actions import Spin
from harness.scenarios.catalogue import Scenario


@dataclass(frozen=True, slots=True)
class CaseResult:
    case_id: str
    scenario: str
    arch: str
    verdict: Verdict
    detail: str
    expected: tuple[dict[str, Any], ...]
    observed: tuple[dict[str, Any], ...]  # exit_to_json + "line"
    diffs: tuple[ExitDiff, ...]
    duration_s: float
    artifacts: Path
    image: dict[str, Any]
    qemu: dict[str, Any]
    known: tuple[str, ...] = ()  # ids of known divergences that matched
    asynchronous: int = 0  # unpredicted Nothing/interrupt/timer exits set aside
    parse_errors: tuple[str, ...] = ()
    diagnostics: dict[str, Any] = field(default_factory=dict)
    known_notes: tuple[KnownNote, ...] = ()  # entries evaluated without an xfail (check.known)
    oracle: dict[str, Any] = field(default_factory=dict)  # --trap-log: harness.oracle.in_case
    # Where the image's exit contract differs from the reference generation's for this
    # scenario's traps (harness.model.predict.translate): the [[change]] entries applied.
    contract_notes: tuple[str, ...] = ()
    # Started from a snapshot instead of a boot (harness.persist.snapshot): what it was.
    restored: dict[str, Any] = field(default_factory=dict)
    # The run missed what its scenario declares beyond the exits (its end, a required
    # asynchronous exit, the runtime's markers): a divergence no known entry explains, whatever
    # exit diffs come with it (check.known.apply_known).
    end_failed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "scenario": self.scenario,
            "arch": self.arch,
            "verdict": self.verdict.value,
            "detail": self.detail,
            "expected": list(self.expected),
            "observed": list(self.observed),
            "diffs": [{"index": d.index, "kind": d.kind, "variant": d.variant,
                       "text": d.describe(),
                       "fields": [{"field": f.field, "expected": f.expected,
                                   "observed": f.observed} for f in d.fields],
                       # the whole diff, so a merge of shards rebuilds it exactly
                       "expected": d.expected, "observed": d.observed,
                       "observed_line": d.observed_line, "vcpu": d.vcpu}
                      for d in self.diffs],
            "known_divergences": list(self.known),
            **({"known_notes": [n.to_json() for n in self.known_notes]}
               if self.known_notes else {}),
            "asynchronous_exits": self.asynchronous,
            "parse_errors": list(self.parse_errors),
            "duration_s": round(self.duration_s, 3),
            "artifacts": str(self.artifacts),
            "image": self.image,
            "qemu": self.qemu,
            **({"oracle": self.oracle} if self.oracle else {}),
            **({"contract_notes": list(self.contract_notes)} if self.contract_notes else {}),
            **({"restored": self.restored} if self.restored else {}),
            **({"end_failed": True} if self.end_failed else {}),
        }


def case_id(recipe: ImageRecipe, scenario: Scenario) -> str:
    """`<recipe>/<scenario>`: an architecture can have several images (x86 SVM and VMX)."""
    return f"{recipe.name}/{scenario.name}"


@functools.cache
def qemu_version(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        return "absent"
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def run_case(image: Image, recipe: ImageRecipe, scenario: Scenario, profile: MachineProfile,
             casedir: Path, *, timeout_scale: float = 1.0, trap_log: bool = False,
             snapshots: Snapshots | None = None) -> CaseResult:
    """One case. With `trap_log`, QEMU also logs every trap (harness.oracle.capture) and the
    syndrome oracle's judgement goes into the manifest as a second opinion, never into the
    verdict (harness.oracle.in_case). With `snapshots`, the machine starts from the image's
    saved loader instead of a boot where it can (harness.persist.snapshot); the judgement is
    the same, the loader's own exits set aside."""
    started = time.monotonic()
    scenario = scenario.for_image(recipe.name)  # its declared end on this image's line
    shutil.rmtree(casedir, ignore_errors=True)  # a case directory holds one run, never a mix
    try:
        casedir.mkdir(parents=True)
        (casedir / ".writable").write_text("")
    except OSError as exc:
        raise InfraError(f"cannot write the case artifacts directory {casedir}: {exc}") from exc
    schema = schemas.of_image(image.schema, image.axvcpu_version)
    image_info: dict[str, Any] = {"recipe": image.recipe, "key": image.key,
                                  "axvisor": image.axvisor_version, "axvcpu": image.axvcpu_version,
                                  "schema": schema.id, "exit_log": image.exit_log,
                                  "phys_cpu_ids": list(recipe.guest.phys_cpu_ids),
                                  "backend": recipe.backend,
                                  **image_record(image.manifest(), image.arch)}
    qemu_info: dict[str, Any] = {"profile": profile.name, "binary": profile.binary,
                                 "version": qemu_version(profile.binary),
                                 "accel": profile.accel, "cpu": profile.cpu,
                                 "machine": profile.machine}

    oracle: dict[str, Any] = {}
    restored: dict[str, Any] = {}
    notes: list[ContractNote] = []
    undecided: dict[tuple[int, int], frozenset[str]] = {}

    def result(verdict: Verdict, detail: str, **kw: Any) -> CaseResult:
        if oracle.get("note"):
            detail = f"{detail}; {oracle['note']}"
        kw.setdefault("oracle", oracle)
        kw.setdefault("contract_notes", tuple(str(n) for n in notes))
        kw.setdefault("restored", restored)
        res = CaseResult(case_id=case_id(recipe, scenario), scenario=scenario.name,
                         arch=scenario.arch,
                         verdict=verdict, detail=detail, duration_s=time.monotonic() - started,
                         artifacts=casedir, image=image_info, qemu=qemu_info,
                         expected=kw.pop("expected", ()), observed=kw.pop("observed", ()),
                         diffs=kw.pop("diffs", ()), **kw)
        (casedir / "manifest.json").write_text(json.dumps(res.to_json(), indent=2, default=str))
        return res

    line08 = current_line.is_current_line(image.axvisor_version)
    markers = current_line.markers_of(recipe.guest.source) \
        if recipe.guest.source.is_file() else None
    stop = signals.current()
    if stop.requested:
        return result(Verdict.INTERRUPTED, f"interrupted by {stop.name} before QEMU started")
    payload = build_payload(image, scenario.actions, recipe.guest.source, recipe.guest.entry,
                            recipe.backend)
    (casedir / "payload.S").write_text(payload.asm)
    kernel = casedir / image.kernel.name
    image_info["patched_sha256"] = patch_image(image, payload, kernel)
    reached: set[str] = set()
    try:
        expected = expected_exits(
            image, payload, schema, recipe.backend, notes=notes, undecided=undecided,
            reached=reached,
            last_action=len(scenario.actions) - 1 if scenario.ends_at_last_action else None,
            spin_at=next((i for i, a in enumerate(scenario.actions) if isinstance(a, Spin)),
                         None))
    except ModelError as exc:
        return result(Verdict.ERROR, f"the reference model cannot predict this scenario: {exc}")
    exp_json = expected_json(expected, undecided)
    (casedir / "expected.json").write_text(json.dumps(list(exp_json), indent=2))

    if scenario.expect_hang or scenario.may_stick:  # a silent console is an accepted end
        timeout_scale = HANG_TIMEOUT_SCALE * silence_scale(timeout_scale)
    qemu_extra: tuple[str, ...] = ()
    if trap_log:
        from harness.oracle.capture import TRAP_LOG_DIR, trap_log_args  # imports this module
        (casedir / TRAP_LOG_DIR).mkdir()
        qemu_extra = trap_log_args(casedir / TRAP_LOG_DIR, Arch(image.arch))
    rest = snapshots.restore_for(image, recipe, profile, scenario, payload) \
        if snapshots is not None and not trap_log else None
    if isinstance(rest, Restore):
        restored.update(snapshot_s=round(rest.snapshot.boot_s + rest.snapshot.save_s, 3))
    machine = QemuMachine(profile, kernel, casedir, timeout_scale=timeout_scale, stop=stop,
                          extra_args=qemu_extra,
                          incoming=rest.incoming if isinstance(rest, Restore) else None)
    keep_for_repro(image, scenario, casedir, machine, current_line=line08,  # runs anywhere
                   markers=(markers.start, markers.end) if markers else (),
                   end_marker_due=RUNTIME_END in reached)
    diagnostics: dict[str, Any] = {}
    try:
        with machine:
            qemu_info["cmdline"] = (casedir / "cmdline.sh").read_text().splitlines()[-1]
            watch = console_watcher(scenario, base=current_line.watch if line08
                                    else axvisor_console.watch)
            lender: IdleLender | None = None
            if scenario.expect_hang:
                hang = parked_watcher(watch, schema, image.arch, machine.watchdog_s)
                watch = hang
                if machine.pid is not None:  # its quiet window need not hold a job slot
                    lender = IdleLender(machine.pid, hang.quiet_s)
            run = machine.run_until(typing_watcher(watch, scenario, machine.send_console),
                                    tick=lender)
            if lender is not None and lender.gave_back_after_s is not None:
                qemu_info["job_slot_given_back_after_s"] = lender.gave_back_after_s
            parked = run.ending is Ending.WATCHER and run.detail.startswith(PARKED)
            silent = parked or (run.ending is Ending.WATCHER and run.detail.startswith(STUCK))
            if run.ending in (Ending.TIMEOUT, Ending.WATCHDOG) or silent:
                diagnostics = machine.diagnostics()
                (casedir / "diagnostics.json").write_text(
                    json.dumps(diagnostics, indent=2, default=str))
    except HarnessError as exc:
        return result(Verdict.INFRA, str(exc), expected=exp_json)
    finally:
        if isinstance(rest, Restore):
            rest.close()
    if machine.leaked():
        return result(Verdict.ERROR, f"QEMU process group {machine.pid} survived teardown",
                      expected=exp_json)
    # Neither says anything about axvisor: judged before any of the scenario's declared ends.
    if run.ending is Ending.KILLED:
        return result(Verdict.INFRA, f"{run.detail} after {run.duration_s:.1f}s: the run was "
                      "cut short, not a verdict about axvisor", expected=exp_json)
    if diagnostics and (doubt := silence_doubt(diagnostics)):
        # A parked vCPU or a spinning guest leaves QEMU's monitor answering and its VM
        # running; without that, the silence is QEMU's (stopped, frozen, lost), not axvisor's.
        return result(Verdict.INFRA, f"{run.detail}, and {doubt}: not a verdict about "
                      "axvisor", expected=exp_json, diagnostics=diagnostics)
    if run.ending is Ending.INTERRUPTED:
        return result(Verdict.INTERRUPTED, f"{run.detail} after {run.duration_s:.1f}s",
                      expected=exp_json)
    qemu_info["run_seconds"] = round(run.duration_s, 3)

    console = run.console
    stuck = run.ending is Ending.WATCHER and run.detail.startswith(STUCK)
    stuck_text = scenario.expect_stuck or scenario.may_stick
    if stuck_text and run.ending is Ending.WATCHDOG and \
            axvisor_console.logged(run.console, stuck_text):
        stuck = True  # stayed up without a word after the marker: the same documented end
    parsed = parse_console(console, schema, image.arch, str(casedir / "console.log"))
    if stuck and parsed.errors:  # the harness stopped a machine still logging: its last
        # record may be cut (only then: a complete last record is the case's to judge)
        console = axvisor_console.without_last_record(console)
        parsed = parse_console(console, schema, image.arch, str(casedir / "console.log"))
    if trap_log:
        from harness.oracle.in_case import judge_case
        oracle.update(judge_case(image, recipe, scenario, casedir, run.console, payload,
                                 run.ending, run.detail, schema))
    pinned = recipe.guest.vcpu_of_cpu
    loader = loader_records(parsed.records, rest.prefix_lines, rest.crc) \
        if isinstance(rest, Restore) else frozenset()
    if loader:  # the saved loader's, not the case's: a standalone boot has none of them
        restored["loader_exit_lines"] = sorted(r.first_line for r in parsed.records
                                               if id(r) in loader)
    records, folded = [r for r in parsed.records if id(r) not in loader], 0
    split = current_line.split_markers(records, markers, pinned, ASYNC_VARIANTS) \
        if markers is not None else None
    runtime = {id(r) for r in records} - {id(r) for r in split.records} if split else set()
    observed = tuple({**record_json(r, pinned), **({"runtime": "marker"} if id(r) in runtime
                                                  else {})} for r in records)
    (casedir / "observed.jsonl").write_text("".join(json.dumps(o) + "\n" for o in observed))
    if split is not None:  # the runtime's start/end hypercalls: set aside, not the scenario's
        records = list(split.records)
    if scenario.last_exit_repeats:
        records, folded = fold_repeats(records)
    elif scenario.may_repeat_last_exit:
        records, folded = fold_repeats_per_vcpu(records, pinned)
    diffs, asynchronous = compare_vcpus(expected, records, Arch(image.arch), pinned, undecided)
    common: dict[str, Any] = {"asynchronous": len(asynchronous), "expected": exp_json,
                              "observed": observed, "diffs": diffs,
                              "parse_errors": tuple(str(e) for e in parsed.errors),
                              "diagnostics": diagnostics}
    hung = (run.ending in (Ending.TIMEOUT, Ending.WATCHDOG) or parked) and not stuck
    panic = axvisor_console.panic_text(run.console)
    # A panic is judged first: axvisor may power off after it, whatever the ending.
    if panic is not None and (not scenario.expect_panic or scenario.expect_panic not in panic):
        return result(Verdict.CRASH, f"hypervisor panic: {panic}", **common)
    if hung and not scenario.expect_hang:
        return result(Verdict.TIMEOUT, run.detail, **common)
    if scenario.expect_hang and not hung:
        return result(Verdict.DIVERGENCE, "expected the vCPU to stay blocked, but the run "
                      f"ended: {run.detail}", end_failed=True, **common)
    if scenario.expect_stuck and not stuck:
        return result(Verdict.DIVERGENCE, "expected axvisor to stay running after "
                      f"{scenario.expect_stuck!r} (a known upstream bug), but the run ended: "
                      f"{run.detail}; if the bug is fixed, drop expect_stuck", end_failed=True,
                      **common)
    if scenario.expect_vm_error and not axvisor_console.logged(run.console,
                                                               scenario.expect_vm_error):
        return result(Verdict.DIVERGENCE, "expected axvisor to stop the VM on the error "
                      f"{scenario.expect_vm_error!r}, which it did not log; the run ended: "
                      f"{run.detail}", end_failed=True, **common)
    if panic is None and scenario.expect_panic:
        return result(Verdict.DIVERGENCE, f"expected axvisor to panic with "
                      f"{scenario.expect_panic!r}, but the run ended: {run.detail}",
                      end_failed=True, **common)
    if run.ending is not Ending.WATCHER and panic is None and not hung and not stuck:
        return result(Verdict.CRASH, f"run ended by {run.ending.value}: {run.detail}", **common)
    if image.exit_log == "lossy-trace":  # records may have been dropped: judged first
        lost = judge_loss(expected, records, split, run.console, ended_normally=not (
            hung or stuck or panic is not None or scenario.ends_at_last_action))
        if lost.lost:
            return result(Verdict.LOST, f"exit records lost on the way to the console: "
                          f"{lost.summary()}", **common)
    if parsed.errors:
        return result(Verdict.ERROR, f"{len(parsed.errors)} console record(s) did not parse; "
                      f"first: {parsed.errors[0]}", **common)
    if split is not None and (problems := marker_problems(split, bool(records),
                                                          RUNTIME_END in reached)):
        return result(Verdict.DIVERGENCE, f"the runtime's marker hypercalls: "
                      f"{'; '.join(problems)}", end_failed=True, **common)
    # The marker locates hangs; it is not the evidence that the guest ran (its exits are).
    # With two CPUs logging at trace level a guest character can land inside a log record's
    # prefix, which garbles the marker beyond recovery (seen on aarch64-smp and riscv64-smp).
    marker_seen = split.start if split is not None else \
        axvisor_console.guest_printed(run.console, "AXH:GUEST-START")
    if not marker_seen and not observed:
        return result(Verdict.CRASH, "the guest never printed its start marker and no exit "
                      "was logged", **common)
    if absent := missing_async(scenario.expect_async, asynchronous):  # before the diffs:
        return result(Verdict.DIVERGENCE, absent + (f"; and {differ_detail(diffs)}" if diffs
                                                    else ""), end_failed=True, **common)
    if diffs:  # known entries may explain these (check.known.apply_known)
        return result(Verdict.DIVERGENCE, differ_detail(diffs), **common)
    extra = f" (+{len(asynchronous)} asynchronous)" if asynchronous else ""
    extra += f" (the last exit repeated {folded} more times)" if folded else ""
    extra += "" if marker_seen else " (start marker garbled by interleaved log output)"
    if (hung and scenario.expect_hang) or (stuck and scenario.expect_stuck):
        extra += f" (then {run.detail})"  # the declared end, with the evidence it rests on
    extra += (f" (the VM did not stop after {scenario.may_stick!r}: the upstream race this "
              "scenario allows for)") if scenario.may_stick and stuck else ""
    vcpus = f" on {len(expected)} vCPUs" if len(expected) > 1 else ""
    return result(Verdict.PASS, f"{len(exp_json)} exit(s) as predicted{vcpus}{extra}", **common)
