"""Verdicts of a case, as kvm-unit-tests-style outcomes with a documented meaning."""

from __future__ import annotations

import enum


class Verdict(enum.Enum):
    PASS = "pass"  # every observed exit equals the model's prediction
    DIVERGENCE = "divergence"  # axvisor disagrees with the model (field-by-field diff)
    XFAIL = "xfail"  # diverges exactly as a reviewed, unexpired known divergence says
    CRASH = "crash"  # hypervisor panic, or QEMU died
    TIMEOUT = "timeout"  # wall clock or no-output watchdog
    SKIP = "skip"  # cannot run on this host (reason given)
    ERROR = "error"  # the harness could not judge: parse error, model gap, stale known entry
    INFRA = "infra"  # infrastructure: QEMU/toolchain missing, image build failed
    INTERRUPTED = "interrupted"  # SIGINT/SIGTERM stopped the run before this case was judged
    # An image whose exit log can drop records (exit_log = "lossy-trace") dropped some in this
    # run (harness.run.loss): the console cannot be judged, which is neither a pass nor a
    # divergence of the exits that did arrive.
    LOST = "lost"

    @property
    def is_failure(self) -> bool:
        """Fails a CI run: everything but pass, expected failure and skip."""
        return self not in (Verdict.PASS, Verdict.XFAIL, Verdict.SKIP)
