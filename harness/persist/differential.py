"""What must not depend on the mode a program ran in (persistent or one boot per program):
the differential test and bench/bench_persist.py compare programs through this view."""

from __future__ import annotations

import re
from typing import Any

from harness.check.compare import ASYNC_VARIANTS, matches_json
from harness.run.case import CaseResult

_LINE = re.compile(r" \(console line \d+\)")

View = tuple[str, list[dict[str, Any]], list[str], tuple[str, ...]]


def program_view(case: CaseResult) -> View:
    """The verdict; the program's synchronous exits (value, order, vCPU; not the console line,
    not the loader's boundary hypercalls, not the runtime's power-off after the program, not
    the asynchronous exits, whose number differs from run to run in either mode); the diff
    texts without console line numbers; the known divergences that explained them."""
    obs = [{k: v for k, v in o.items() if k != "line"} for o in case.observed
           if not o.get("runtime") and o["variant"] not in ASYNC_VARIANTS]
    standalone = "persistent" not in case.qemu and not case.detail.startswith("hypervisor panic")
    if standalone and obs and case.expected and matches_json(obs[-1], case.expected[-1]):
        obs = obs[:-1]  # the runtime's power-off after the program: SystemDown, or on the
        # 0.8 line's aarch64 schema the PSCI SYSTEM_OFF Hypercall
    return (case.verdict.value, obs, [_LINE.sub("", d.describe()) for d in case.diffs],
            case.known)


def differences(persistent: CaseResult, standalone: CaseResult) -> list[str]:
    """Which parts of the view differ (empty: the same program result in both modes)."""
    a, b = program_view(persistent), program_view(standalone)
    names = ("verdict", "exits", "diffs", "known")
    return [n for n, x, y in zip(names, a, b, strict=True) if x != y]
