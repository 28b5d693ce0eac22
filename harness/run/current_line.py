"""What a run on the current axvisor line (0.6 and later: a std program with its shell running
from boot) looks like on the console, where it differs from axvisor_console's reading of
0.3.0-preview.2 / 0.5.8: where a VM run ends, and the guest runtime's marker hypercalls.

On this line the shell prompt appears while the VM still runs, so "the shell is there" is no
end; axvm logs `a VM exited, current running VM count: 0` once the last vCPU of the last VM has
stopped (axvm 0.8.5 src/runtime/mod.rs:79, debug level, which the images log). The guest's
UART is emulated and its text held by the console multiplexer, so the runtime marks the start
and end of the guest program with hypercalls (guest-src/<arch>/runtime-axvm08.S): exits of
their own, which the comparison sets aside as the runtime's (`split_markers`) after checking
they came where the runtime makes them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.model.exits import ExitReason, Hypercall
from harness.parse.axlog import ExitRecord
from harness.run import axvisor_console, loss
from harness.run.loss import LossReport

VM_STOPPED = b"a VM exited, current running VM count: 0"
_EQU = re.compile(r"^\s*\.equ\s+(AXH_MARKER_START|AXH_MARKER_END),\s*(0x[0-9a-fA-F]+|\d+)",
                  re.MULTILINE)


def is_current_line(axvisor_version: str) -> bool:
    """Whether an axvisor version is of the std line (0.6 and later)."""
    m = re.match(r"v?(\d+)\.(\d+)", axvisor_version)
    return m is not None and (int(m.group(1)), int(m.group(2))) >= (0, 6)


def watch(console: bytes | bytearray, new_from: int = 0) -> str | None:
    """Console watcher for QemuMachine.run_until on this line: a panic as axvisor_console
    reads it, else 'end' once the last VM has stopped."""
    ended = axvisor_console.watch(console, new_from)
    if ended is not None and ended.startswith("panic"):
        return ended
    region = max(0, new_from - len(VM_STOPPED))
    return "end" if console.find(VM_STOPPED, region) >= 0 else None


@dataclass(frozen=True, slots=True)
class Markers:
    """The hypercall numbers a guest runtime marks its program's start and end with."""

    start: int
    end: int


@functools.lru_cache(maxsize=8)
def markers_of(runtime_source: Path) -> Markers | None:
    """The runtime's markers, read from its own `.equ` lines (None: a runtime that prints
    text markers instead)."""
    found = dict(_EQU.findall(runtime_source.read_text()))
    if set(found) != {"AXH_MARKER_START", "AXH_MARKER_END"}:
        return None
    return Markers(int(found["AXH_MARKER_START"], 0), int(found["AXH_MARKER_END"], 0))


@dataclass(frozen=True, slots=True)
class MarkerSplit:
    """The records without the runtime's markers, and what the markers showed: the start
    marker came (first of vCPU 0's records), the end marker came (after every other record
    of vCPU 0 but asynchronous ones and the power-off that follows it), and any misplaced."""

    records: tuple[ExitRecord, ...]
    start: bool
    end: bool
    problems: tuple[str, ...]


def split_markers(records: Sequence[ExitRecord], markers: Markers,
                  vcpu_of: Mapping[int, int], asynchronous: frozenset[str]) -> MarkerSplit:
    """Set the runtime's marker records aside (explicitly: they are the runtime's, not the
    scenario's) and check where they came; `vcpu_of` is the vCPU pinning (CPU → vCPU)."""
    from harness.check.compare import vcpu_of as which

    kept: list[ExitRecord] = []
    problems: list[str] = []
    start = end = False
    after_end: list[str] = []
    for rec in records:
        e = rec.exit
        is_marker = isinstance(e, Hypercall) and e.nr in (markers.start, markers.end)
        if not is_marker:
            kept.append(rec)
            if end and which(rec, vcpu_of) == 0 and e.VARIANT not in asynchronous:
                after_end.append(e.VARIANT)
            continue
        assert isinstance(e, Hypercall)
        where = f"console line {rec.first_line}"
        if which(rec, vcpu_of) != 0:
            problems.append(f"a runtime marker hypercall on vCPU {which(rec, vcpu_of)} "
                            f"({where}): the runtime makes them on vCPU 0 only")
        elif e.nr == markers.start:
            sync_before = [r for r in kept if which(r, vcpu_of) == 0
                           and r.exit.VARIANT not in asynchronous]
            if start or end or sync_before:
                problems.append(f"the start marker hypercall ({where}) came after other "
                                "exits of vCPU 0 or twice")
            start = True
        else:
            if end:
                problems.append(f"the end marker hypercall came twice ({where})")
            end = True
    if len(after_end) > 1:  # only the runtime's own power-off may follow the end marker
        problems.append(f"exits after the end marker hypercall: {', '.join(after_end)}")
    return MarkerSplit(tuple(kept), start, end, tuple(problems))


# The runtime's own power-off, right after its end marker (guest-src/*/runtime-axvm08.S).
RUNTIME_END = "axh_rt_trap_system_off"


def marker_problems(split: MarkerSplit, exits_seen: bool, end_reached: bool
                    ) -> tuple[str, ...]:
    """What is wrong with the markers of a run: where they came (split_markers), and one that
    never came although the guest passed it (the start one before any exit; the end one when
    the model has the guest reach the runtime's power-off, `end_reached`): axvisor dropped or
    mis-reported a hypercall of the guest."""
    lacking = []
    if exits_seen and not split.start:
        lacking.append("the start marker hypercall never came")
    if end_reached and not split.end:
        lacking.append("the end marker hypercall never came, though the guest went on to "
                       "the runtime's power-off")
    return (*split.problems, *lacking)


def judge_loss(expected: Mapping[int, Sequence[ExitReason]], records: Sequence[ExitRecord],
               split: MarkerSplit | None, console: bytes, *, ended_normally: bool
               ) -> LossReport:
    """harness.run.loss's judgement of a run on an image whose exit log can drop records:
    the predicted kinds against the records that arrived (markers set aside), the markers,
    and axvisor's own drop reports."""
    predicted = [e.VARIANT for _, exits in sorted(expected.items()) for e in exits]
    return loss.judge(predicted, [r.exit.VARIANT for r in records],
                      start_marker=split.start if split is not None else True,
                      end_marker=split.end if split is not None else True,
                      ran_past_end=ended_normally and split is not None,
                      reports=loss.drop_reports(console))
