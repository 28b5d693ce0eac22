"""Typed exceptions shared across the harness; the CLI maps each to an exit code and one line."""

from __future__ import annotations

import signal


class HarnessError(Exception):
    """Base of every error the harness reports to a user without a traceback."""

    kind = "error"
    exit_code = 2


class UsageError(HarnessError):
    """The user asked for something malformed: bad option, unreadable file, bad recipe value."""

    kind = "usage error"
    exit_code = 1


class InfraError(HarnessError):
    """The machine cannot do what was asked: no QEMU, no toolchain, build failed, no KVM."""

    kind = "infrastructure error"
    exit_code = 3


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the command. A KeyboardInterrupt, so `except Exception` never
    swallows it; the exit status is the shell's 128 + signal number (130, 143)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal_name(signum)}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def signal_name(signum: int) -> str:
    """`SIGTERM` for 15; the bare number for a signal Python does not name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
