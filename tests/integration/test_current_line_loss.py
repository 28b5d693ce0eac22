"""Lost exit records on the unpatched current line (mode b) are reported as lost.

Building the lossy images (images/recipes-lossy/) for every CI run would add two full builds,
so these tests judge real consoles saved from those images instead (current_line_data/, see
images/README.md "Mode b"): a guest wrote 76 bytes to its emulated UART (76 MmioWrite exits)
between the runtime's marker hypercalls. The records are read with a local pattern for
axvm 0.8.5's trace record (`axvm::architecture::ops:225] {exit:#x?}`), not with harness.parse.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from harness.run import loss

pytestmark = [pytest.mark.integration]

DATA = Path(__file__).parent / "current_line_data"
WRITES = 76
MARKERS = {0x4158_4801: "start", 0x4158_4802: "end"}
TRACE = re.compile(rb"axvm::architecture::ops:\d+\] \x1b\[\d+m(\w+)"
                   rb"(?: \{\r*\n\s+nr: (0x[0-9a-f]+))?")


def judge(name: str) -> tuple[loss.LossReport, int]:
    console = gzip.decompress((DATA / name).read_bytes())
    records = [(m.group(1).decode(), int(m.group(2), 16) if m.group(2) else None)
               for m in TRACE.finditer(console)]
    markers = {MARKERS[nr] for v, nr in records if v == "Hypercall" and nr in MARKERS}
    writes = [v for v, _ in records if v == "MmioWrite"]
    report = loss.judge(["MmioWrite"] * WRITES, writes, start_marker="start" in markers,
                        end_marker="end" in markers,
                        ran_past_end=b"current running VM count: 0" in console,
                        reports=loss.drop_reports(console))
    return report, len(writes)


def test_a_complete_lossy_console_is_judged_complete() -> None:
    report, arrived = judge("aarch64-0.8-lossy-76-uart-writes-complete.log.gz")
    assert arrived == WRITES
    assert not report.lost and report.summary() == "no exit record lost"


def test_missing_records_are_lost_with_axvisor_s_drop_report() -> None:
    report, arrived = judge("aarch64-0.8-lossy-76-uart-writes-31-arrived.log.gz")
    assert arrived == 31
    assert report.lost and report.missing == WRITES - 31
    assert "31 of 76 predicted exit records arrived" in report.summary()
    assert "[Axvisor] dropped 137 host log records" in report.summary()


def test_a_lost_end_marker_is_lost_even_though_the_vm_stopped() -> None:
    report, arrived = judge("riscv64-0.8-lossy-76-uart-writes-24-arrived.log.gz")
    assert arrived == 24 and report.lost
    assert "end marker is missing" in report.summary()
