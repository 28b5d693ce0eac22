"""Cases over persistent boots: each program either joins the current boot (policy allows it)
or runs standalone (run_case, unchanged). A program judged anything but accepted (pass, or a
known divergence) in a shared boot is re-run on a fresh standalone boot, whose result is the
one returned: a shared boot can only ever confirm the standalone verdict, never replace it.
Each case gets the artifacts a standalone case has (console.log = its slice, expected.json,
observed.jsonl, payload.S, manifest.json) plus persistent.json naming the boot and offsets."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import signals
from harness.check.scope import image_record
from harness.errors import HarnessError, InfraError
from harness.guests.payload import BuiltPayload, build_payload
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.model import schemas
from harness.persist import policy
from harness.persist.frame import encode
from harness.persist.judge import judge_slice
from harness.persist.loader import SLOTS
from harness.persist.session import Boot, SliceRun
from harness.qemu.machine import cmdline_script
from harness.qemu.profiles import MachineProfile
from harness.run import current_line
from harness.run.case import CaseResult, case_id, qemu_version
from harness.run.current_line import is_current_line
from harness.run.keep import keep_kit
from harness.scenarios.catalogue import Scenario


@dataclass(frozen=True, slots=True)
class _Queued:
    """A program written to a boot's mailbox and not judged yet."""

    scenario: Scenario
    casedir: Path
    payload: BuiltPayload
    boot: Boot | None  # None: not queued (its boot failed first); it runs on its own boot
    queued_at: float
    n: int  # the program number the boot gave it (-1: not queued)
    crc: int  # its frame's CRC: its slice must carry both


Standalone = Callable[[Scenario, Path], CaseResult]
Accept = Callable[[Scenario, CaseResult], bool]  # pass, or xfail once known divergences apply


@dataclass
class Stats:
    """Counts a benchmark or a report shows: how much actually shared a boot."""

    boots: int = 0  # persistent boots started
    shared: int = 0  # programs judged inside a shared boot
    standalone: int = 0  # programs the policy sent to their own boot
    reruns: int = 0  # shared-boot programs re-run standalone (not accepted there)
    rerun_agreed: int = 0  # ... whose standalone verdict was the same anyway
    fallbacks: int = 0  # boots that did not come up (the program ran standalone)
    restored: int = 0  # cases that must run alone, started from a snapshot (persist.snapshot)
    restore_reruns: int = 0  # ... re-run on a real boot (not pass/xfail when restored)
    restore_rerun_agreed: int = 0  # ... whose boot's verdict was the same anyway
    why_standalone: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def standalone_because(self, why: str) -> None:
        with self.lock:
            self.standalone += 1
            key = why.split(":")[0][:60]
            self.why_standalone[key] = self.why_standalone.get(key, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {"boots": self.boots, "shared": self.shared, "standalone": self.standalone,
                "reruns": self.reruns, "rerun_agreed": self.rerun_agreed,
                "fallbacks": self.fallbacks, "why_standalone": dict(self.why_standalone),
                "restored": self.restored, "restore_reruns": self.restore_reruns,
                "restore_rerun_agreed": self.restore_rerun_agreed}


class PersistentRunner:
    """One worker's sequence of boots on one image (not thread-safe: one per thread)."""

    def __init__(self, image: Image, recipe: ImageRecipe, profile: MachineProfile,
                 workdir: Path, standalone: Standalone, accept: Accept, *,
                 timeout_scale: float = 1.0, every: int = policy.EVERY,
                 stats: Stats | None = None, keep_boots: bool = False, worker: int = 0,
                 kit: bool = True) -> None:
        """`kit`: give each shared-boot case a standalone repro kit (the suite's cases; a
        fuzz program that is kept is re-run standalone anyway, which writes its own)."""
        self.image, self.recipe, self.profile = image, recipe, profile
        self.workdir = workdir
        self.standalone, self.accept = standalone, accept
        self.timeout_scale, self.every = timeout_scale, every
        self.stats = stats if stats is not None else Stats()
        self.keep_boots = keep_boots
        self.kit = kit
        self.worker = worker
        self.schema = schemas.of_image(image.schema, image.axvcpu_version)
        self.allowed = policy.image_allows(image)
        self._boot: Boot | None = None
        self._boots = 0
        self._in_boot = 0

    # -- boots ----------------------------------------------------------------------------
    def close(self) -> None:
        boot, self._boot = self._boot, None
        if boot is not None:
            boot.close()
            if not self.keep_boots:
                boot.kernel.unlink(missing_ok=True)

    def _boot_for_next(self) -> Boot | None:
        if self._boot is not None and (self._boot.dead or self._in_boot >= self.every):
            self.close()
        if self._boot is None and signals.current().requested:
            return None  # no new QEMU after SIGINT/SIGTERM: the standalone path says so
        if self._boot is None:
            rundir = self.workdir / f"boot-{self.worker}-{self._boots:05d}"
            self._boots += 1
            shutil.rmtree(rundir, ignore_errors=True)
            boot = Boot(self.image, self.recipe.guest.source, self.profile, rundir,
                        timeout_scale=self.timeout_scale, stop=signals.current())
            try:
                boot.start()
            except HarnessError:
                boot.close()
                self.stats.add("fallbacks")
                return None
            self.stats.add("boots")
            self._boot, self._in_boot = boot, 0
        return self._boot

    # -- cases ----------------------------------------------------------------------------
    def run(self, scenario: Scenario, casedir: Path) -> CaseResult:
        """One case, waited for."""
        (res,) = self.run_stream([(scenario, casedir)])
        return res

    def run_stream(self, items: Iterable[tuple[Scenario, Path]]
                   ) -> Generator[CaseResult, None, None]:
        """Every case of `items`, results in the same order. Up to SLOTS shared programs are
        queued in the boot's mailbox: once the oldest is done the next one is queued before
        the oldest is judged, so the guest runs programs while the harness judges. Anything
        that ends the boot's use (a program not accepted, a dead boot, a standalone case)
        first settles every program queued before it; a program queued behind one that was
        not accepted runs again, on a fresh boot."""
        flight: deque[_Queued] = deque()
        try:
            yield from self._stream(items, flight)
        except GeneratorExit:  # the caller stopped reading: nothing may stay queued
            if flight:
                self.close()
            raise
        except BaseException:  # a program left queued would be collected as the next one's
            self.close()
            raise

    def _stream(self, items: Iterable[tuple[Scenario, Path]], flight: deque[_Queued]
                ) -> Iterator[CaseResult]:
        for scenario, casedir in items:
            scenario = scenario.for_image(self.recipe.name)
            why = self.allowed.why or policy.scenario_allows(scenario).why
            if why:
                yield from self._settle(flight)
                self.stats.standalone_because(why)
                yield self.standalone(scenario, casedir)
                continue
            payload = build_payload(self.image, scenario.actions, self.recipe.guest.source,
                                    self.recipe.guest.entry, self.recipe.backend)
            if self._boot is not None and (self._boot.dead or
                                           self._in_boot + len(flight) >= self.every):
                yield from self._settle(flight)  # this boot is done: settle, then a new one
            boot = self._boot_for_next()
            why = policy.fits(len(payload.code), boot.loader.program_max).why if boot else ""
            if boot is None or why:  # no boot came up, or the program does not fit its loader
                yield from self._settle(flight)
                if why:
                    self.stats.standalone_because(why)
                yield self.standalone(scenario, casedir)
                continue
            done: tuple[_Queued, SliceRun | None] | None = None
            if len(flight) >= SLOTS:  # the oldest must be done before its slot is reused
                oldest = flight.popleft()
                done = (oldest, self._collect(oldest))
            frame = encode(payload.code)
            if self._boot is boot:  # alive: an oldest that was never queued stops nothing
                try:
                    n = boot.submit(frame)
                    flight.append(_Queued(scenario, casedir, payload, boot, time.monotonic(),
                                          n, frame.crc))
                except HarnessError:
                    self.close()  # what is queued in it runs again on a fresh boot
                    self.stats.add("fallbacks")
                    flight.append(_Queued(scenario, casedir, payload, None, 0.0, -1, frame.crc))
            else:  # the boot failed while collecting: this program was never queued
                flight.append(_Queued(scenario, casedir, payload, None, 0.0, -1, frame.crc))
            if done is not None:
                yield self._judge(*done)
            if any(x.boot is None or x.boot is not self._boot for x in flight):
                yield from self._settle(flight)  # given up or never queued: settle now
        yield from self._settle(flight)

    def _collect(self, q: _Queued) -> SliceRun | None:
        """The slice of a queued program; None when its boot failed (then given up)."""
        if q.boot is None or q.boot is not self._boot:
            return None
        try:
            return q.boot.collect()
        except HarnessError:
            self.close()
            self.stats.add("fallbacks")
            return None

    def _settle(self, flight: deque[_Queued]) -> Iterator[CaseResult]:
        """Collect and judge every queued program, oldest first. One queued in a boot that
        was given up since (or never queued) runs again, on a fresh boot."""
        while flight:
            q = flight.popleft()
            if q.boot is None:  # its submit failed, or it was never tried: a boot of its own
                yield self.standalone(q.scenario, q.casedir)
                continue
            if q.boot is not self._boot:  # queued in a boot given up since: a fresh boot
                rest = [(x.scenario, x.casedir) for x in flight]
                flight.clear()
                yield from self._stream([(q.scenario, q.casedir), *rest], flight)
                return
            yield self._judge(q, self._collect(q))

    def _judge(self, q: _Queued, sl: SliceRun | None) -> CaseResult:
        """The case of a collected program: accepted in the shared boot, or re-run on a
        boot of its own (whose verdict is the one returned)."""
        if sl is None or q.boot is None:
            return self.standalone(q.scenario, q.casedir)
        if (sl.n, sl.crc) != (q.n, q.crc):  # never expected: the slice is another program's
            self.close()
            self.stats.add("fallbacks")
            return self.standalone(q.scenario, q.casedir)
        self._in_boot += 1
        res = self._result(q.scenario, q.payload, sl, q.boot, q.casedir, q.queued_at)
        if self.accept(q.scenario, res):
            self.stats.add("shared")
            return res
        # Not accepted here: the standalone boot decides, and this boot is not reused. The
        # attempt is kept with the boot (a results' cases/ holds case directories only).
        self.close()
        self.stats.add("reruns")
        attempt = q.boot.rundir / "not-accepted" / q.casedir.name
        shutil.rmtree(attempt, ignore_errors=True)
        attempt.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(q.casedir), attempt)
        again = self.standalone(q.scenario, q.casedir)
        if again.verdict is res.verdict:
            self.stats.add("rerun_agreed")
        return again

    def _standalone_kit(self, scenario: Scenario, casedir: Path) -> None:
        """What a standalone case keeps to be re-run by `axharness repro DIR` (one boot of
        its own, the patched kernel rebuilt from payload.S): cmdline.sh, end.json, the ELF."""
        kernel = casedir / self.image.kernel.name
        script = casedir / "cmdline.sh"
        script.write_text(cmdline_script(self.profile, kernel, casedir))
        script.chmod(0o755)
        timeout_s, watchdog_s = self.profile.scaled(self.timeout_scale)
        line08 = is_current_line(self.image.axvisor_version)
        markers = current_line.markers_of(self.recipe.guest.source) \
            if line08 and self.recipe.guest.source.is_file() else None
        keep_kit(self.image, scenario, casedir, timeout_s, watchdog_s, current_line=line08,
                 markers=(markers.start, markers.end) if markers else ())

    def _result(self, scenario: Scenario, payload: BuiltPayload, sl: SliceRun, boot: Boot,
                casedir: Path, started: float) -> CaseResult:
        shutil.rmtree(casedir, ignore_errors=True)
        try:
            casedir.mkdir(parents=True)
        except OSError as exc:
            raise InfraError(f"cannot write the case artifacts directory {casedir}: {exc}") \
                from exc
        image, recipe = self.image, self.recipe
        (casedir / "payload.S").write_text(payload.asm)
        (casedir / "console.log").write_bytes(sl.console)
        if self.kit:
            self._standalone_kit(scenario, casedir)
        j = judge_slice(image, scenario, payload, self.schema, recipe.backend,
                        recipe.guest.vcpu_of_cpu, sl.console, sl.n, sl.crc, sl.ended,
                        str(casedir / "console.log"))
        (casedir / "expected.json").write_text(json.dumps(list(j.expected), indent=2))
        (casedir / "observed.jsonl").write_text("".join(json.dumps(o) + "\n"
                                                        for o in j.observed))
        (casedir / "persistent.json").write_text(json.dumps({
            "boot": str(boot.rundir), "boot_console": str(boot.rundir / "console.log"),
            "program": sl.n, "crc32": f"{sl.crc:08x}", "console_offsets": [sl.start, sl.end],
            "ended": sl.ended or "AXH:DONE", "badframe": sl.badframe,
            "boundaries": list(j.boundaries), "runtime_exits_after": j.runtime_after,
            "slice_seconds": round(sl.duration_s, 4)}, indent=2) + "\n")
        image_info: dict[str, Any] = {
            "recipe": image.recipe, "key": image.key, "axvisor": image.axvisor_version,
            "axvcpu": image.axvcpu_version, "schema": self.schema.id,
            "exit_log": image.exit_log, "phys_cpu_ids": list(recipe.guest.phys_cpu_ids),
            "backend": recipe.backend, **image_record(image.manifest(), image.arch)}
        qemu_info: dict[str, Any] = {
            "profile": self.profile.name, "binary": self.profile.binary,
            "version": qemu_version(self.profile.binary), "accel": self.profile.accel,
            "cpu": self.profile.cpu, "machine": self.profile.machine,
            "persistent": {"boot": str(boot.rundir), "program": sl.n},
            "run_seconds": round(sl.duration_s, 3)}
        res = CaseResult(case_id=case_id(recipe, scenario), scenario=scenario.name,
                         arch=scenario.arch, verdict=j.verdict, detail=j.detail,
                         expected=j.expected, observed=j.observed, diffs=j.diffs,
                         duration_s=time.monotonic() - started, artifacts=casedir,
                         image=image_info, qemu=qemu_info, asynchronous=j.asynchronous,
                         parse_errors=j.parse_errors, contract_notes=j.contract_notes)
        return res  # manifest.json: the caller's, once known divergences apply (fuzz, suite)
