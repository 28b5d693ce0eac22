"""Typed exceptions shared across the harness; the CLI maps each to an exit code and one line."""

from __future__ import annotations


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
