"""QemuMachine.run_until keeps what the guest printed before the QMP event that ends a run,
even when the pty hands it over in pieces after the event (a fake child on a pipe and a fake
QMP session stand in for QEMU: only the console bookkeeping is under test)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from harness.qemu.machine import Ending, QemuMachine
from harness.qemu.profiles import get_profile


class FakeChild:
    """The parts of pexpect.spawn that run_until uses, over a pipe."""

    def __init__(self, fd: int) -> None:
        self.child_fd = fd
        self.exitstatus: int | None = None
        self.signalstatus: int | None = None

    def isalive(self) -> bool:
        return True


class FakeQmp:
    """Hands out one SHUTDOWN event once the first piece of the console has been written."""

    def __init__(self, ready: threading.Event) -> None:
        self.ready = ready
        self.connected = True

    def poll_events(self) -> list[dict[str, Any]]:
        if not self.ready.is_set():
            return []
        return [{"event": "SHUTDOWN", "data": {"guest": True, "reason": "guest-shutdown"}}]


def test_the_console_written_just_after_the_shutdown_event_is_kept(tmp_path: Path) -> None:
    machine = QemuMachine(get_profile("riscv64-virt-h-tcg"), tmp_path / "k", tmp_path)
    read_end, write_end = os.pipe()
    first = threading.Event()

    def guest() -> None:
        os.write(write_end, b"panicked at src/devops_impl.rs:182:9:\r\n")
        first.set()
        # The rest reaches the reader in two pieces, only after the event was seen.
        time.sleep(0.02)
        os.write(write_end, b"assertion `left")
        time.sleep(0.03)
        os.write(write_end, b" == right` failed\r\n")

    machine._child = FakeChild(read_end)
    machine._console_fd = read_end  # QEMU's stdout and stderr (a pipe, as in a real machine)
    machine.qmp = FakeQmp(first)  # type: ignore[assignment]
    writer = threading.Thread(target=guest)
    writer.start()
    try:
        run = machine.run_until(lambda console, new_from: None)
    finally:
        writer.join()
        os.close(read_end)
        os.close(write_end)
        machine._child, machine._console_fd = None, -1
        machine.qmp = None
    assert run.ending is Ending.SHUTDOWN
    assert b"assertion `left == right` failed" in run.console
