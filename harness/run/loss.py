"""Whether a console lost exit records: the judgement for images whose exit log can drop them.

axvisor 0.8's exit trace goes through ax-runtime's bounded log queues, which drop records when
they are full (images/README.md, "Every exit, or a loud report that some were lost"). Judging
such a console as if it were complete would turn a dropped record into a divergence, or a
lucky run into a pass. This module decides, from what the model predicts and what arrived,
whether records were lost; the caller turns "lost" into its own verdict, never a pass and never
a field divergence. It judges variant names only: field values are the comparison's business.

Evidence of loss, any of which suffices:
- fewer of the predicted records arrived, in order, than were predicted, and fewer records
  arrived than were predicted (a different record in the same place is a divergence, not loss);
- the start marker is missing although the guest's records (or its end marker) arrived, or the
  end marker is missing although the run went past it (the VM stopped normally);
- axvisor reported dropped log records or output bytes anywhere in the console. The report
  says how many records, not which, and it is printed where axvisor's console task was when it
  noticed, which lags the producers (seen: before the guest's first exit); so its position
  proves nothing and any report makes the console incomplete.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# What axvisor 0.8.2 prints when it knows it dropped output: the console multiplexer's report
# of the records ax-runtime 0.13.5 could not queue (src/serial/mod.rs publish_log: the log
# subscription holds 128 records, LOG_SUBSCRIPTION_CAPACITY at mod.rs:54), printed by
# src/console_mux/host_log.rs:44, and of its own full output queue (src/guest_console/host.rs:207).
_DROP_REPORTS = (
    re.compile(rb"\[Axvisor\] dropped (\d+) host log records"),
    re.compile(rb"\[Axvisor host console dropped (\d+) queued bytes\]"),
)


@dataclass(frozen=True, slots=True)
class LossReport:
    """The judgement on one console: `lost`, a lower bound on the predicted records that did
    not arrive, and the evidence in words (empty when nothing was lost)."""

    lost: bool
    missing: int
    evidence: tuple[str, ...]

    def summary(self) -> str:
        return "; ".join(self.evidence) if self.lost else "no exit record lost"


def matched_in_order(predicted: Sequence[str], observed: Sequence[str]) -> int:
    """How many predicted records arrived in their order: the longest common subsequence."""
    if not predicted or not observed:
        return 0
    prev = [0] * (len(observed) + 1)
    for p in predicted:
        cur = [0]
        for j, o in enumerate(observed):
            cur.append(prev[j] + 1 if p == o else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def drop_reports(console: bytes) -> list[str]:
    """axvisor's own reports of dropped output in `console`, as printed."""
    found = []
    for pattern in _DROP_REPORTS:
        found += [m.group(0).decode() for m in pattern.finditer(console)]
    return found


def judge(predicted: Sequence[str], observed: Sequence[str], *, start_marker: bool,
          end_marker: bool, ran_past_end: bool, reports: Sequence[str] = (),
          asynchronous: frozenset[str] = frozenset({"Nothing"})) -> LossReport:
    """Decide whether exit records were lost.

    `predicted`: variant names of the exits the model predicts between the markers, in order.
    `observed`: variant names of the records that arrived between the markers (or from the
    start of the run if the start marker is missing), markers themselves left out.
    `ran_past_end`: the run ended normally after the guest (its SystemDown stopped the VM), so
    the end marker must have been logged. `reports`: drop_reports() of the whole console.
    `asynchronous`: variants the model does not predict (set aside, as the comparison does).
    """
    relevant = [v for v in observed if v not in asynchronous]
    expected = [v for v in predicted if v not in asynchronous]
    missing = len(expected) - matched_in_order(expected, relevant)
    evidence = []
    if missing and len(relevant) < len(expected):
        evidence.append(f"{len(relevant)} of {len(expected)} predicted exit records arrived "
                        f"({missing} predicted records missing in order)")
    if not start_marker and (relevant or end_marker):
        evidence.append("the start marker is missing but later records arrived")
    if not end_marker and ran_past_end:
        evidence.append("the end marker is missing but the VM went on to stop normally")
    if reports:
        evidence.append(f"axvisor reported dropping output: {'; '.join(reports)}")
    return LossReport(lost=bool(evidence), missing=max(missing, 0), evidence=tuple(evidence))
