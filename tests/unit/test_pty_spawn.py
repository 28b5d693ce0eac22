"""QEMU's process as posix_spawn starts it: what pexpect's fork gave it (own session, the pty as
controlling terminal, hung up when the harness's end closes, no echo, exit status and signal
reported). The time it saves (≈ 4 ms of pexpect's ≈ 7 ms fork + Python-in-the-child on an
idle core, less under load) is measured by bench/, not asserted here: too noisy on a shared host."""

from __future__ import annotations

import os
import select
import signal
import time

import pexpect

from harness.qemu.pty_spawn import PtySpawn


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _reap(child: pexpect.spawn, wait_s: float = 5.0) -> None:
    end = time.monotonic() + wait_s
    while child.isalive() and time.monotonic() < end:
        time.sleep(0.01)


def test_the_child_leads_its_own_session_with_the_pty_as_controlling_terminal() -> None:
    child = PtySpawn("sleep", ["30"], echo=False, timeout=None)
    try:
        fields = _stat(child.pid)  # state, ppid, pgrp, session, tty_nr, ...
        assert int(fields[3]) == child.pid and int(fields[2]) == child.pid
        assert int(fields[4]) != 0  # tty_nr: the terminal of its stdin, /dev/pts/N
        assert int(fields[4]) == os.stat(f"/proc/{child.pid}/fd/0").st_rdev
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        _reap(child)


def test_closing_the_harness_end_hangs_the_child_up() -> None:
    child = PtySpawn("sleep", ["30"], echo=False, timeout=None)
    os.close(child.child_fd)  # what a harness killed outright leaves behind
    _reap(child)
    assert not child.isalive() and child.signalstatus == signal.SIGHUP


def test_what_is_typed_is_not_echoed_and_the_exit_status_is_reported() -> None:
    child = PtySpawn("sh", ["-c", "read x; echo got-$x; exit 7"], echo=False, timeout=5)
    child.send(b"abc\n")
    out = b""
    while True:
        try:
            out += child.read_nonblocking(4096, timeout=5)
        except pexpect.EOF:
            break
    _reap(child)
    assert out.replace(b"\r", b"") == b"got-abc\n"  # once: the pty did not echo "abc"
    assert child.exitstatus == 7


def test_a_missing_binary_is_a_pexpect_error() -> None:
    try:
        PtySpawn("/nonexistent/qemu", [], echo=False, timeout=None)
    except pexpect.ExceptionPexpect as exc:
        assert "cannot start /nonexistent/qemu" in str(exc) or "not found" in str(exc)
    else:
        raise AssertionError("no error")


# With output_pipe (what QemuMachine uses): stdout and stderr on a pipe, stdin on the pty.

def _read_until(fd: int, want: bytes, limit_s: float = 5.0) -> bytes:
    got = b""
    end = time.monotonic() + limit_s
    while want not in got and time.monotonic() < end:
        if select.select([fd], [], [], 0.1)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            got += chunk
    return got


def test_output_on_a_pipe_input_on_the_pty_and_a_hang_up_when_the_pty_closes() -> None:
    child = PtySpawn("/bin/sh", ["-c", "echo out; echo err >&2; read x; echo got $x; "
                                 "exec sleep 30"], echo=False, timeout=None, output_pipe=True)
    try:
        assert child.output_fd >= 0
        got = _read_until(child.output_fd, b"err")
        assert b"out" in got and b"err" in got
        child.send(b"typed\n")
        assert b"got typed" in _read_until(child.output_fd, b"got typed")
        assert not select.select([child.child_fd], [], [], 0.2)[0]  # nothing on the pty
        child.ptyproc.delayafterclose = 0.0
        os.close(child.child_fd)  # what the kernel does when the harness dies
        end = time.monotonic() + 5
        while child.isalive() and time.monotonic() < end:
            time.sleep(0.05)
        assert not child.isalive()
        assert child.signalstatus == signal.SIGHUP
    finally:
        if child.isalive():
            os.killpg(child.pid, signal.SIGKILL)
        os.close(child.output_fd)


def test_without_output_pipe_everything_is_on_the_pty() -> None:
    child = PtySpawn("/bin/sh", ["-c", "echo out"], echo=False, timeout=None)
    try:
        assert child.output_fd == -1
        assert b"out" in _read_until(child.child_fd, b"out")
    finally:
        child.close(force=True)
