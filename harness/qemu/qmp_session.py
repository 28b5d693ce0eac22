"""A synchronous QMP session (qemu.qmp's legacy wrapper) that journals every message.

The harness listens and QEMU connects (`-qmp unix:PATH,server=off`), as QEMU's own
python/qemu/machine hands QEMU a ready socket: no polling for a socket file QEMU creates.

Every command, reply and event goes to qmp.jsonl with a timestamp, so a failed run can be
read back message by message.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from qemu.qmp import QMPError
from qemu.qmp.legacy import QEMUMonitorProtocol

from harness.errors import InfraError


class QmpError(InfraError):
    """QMP could not be reached or answered with an error."""


class QmpUnresponsive(QmpError):
    """QEMU did not answer a command in time: its main loop is stuck, whatever the guest does."""


# A command QEMU does not answer within this time means its main loop is stuck (a vCPU thread
# holding the big lock, a stopped process): waiting longer would turn a hung machine into a
# hung harness. Real replies take milliseconds, `info registers -a` under load well under 1 s.
COMMAND_TIMEOUT_S = 10.0


class QmpSession:
    def __init__(self, socket_path: Path, journal: Path,
                 command_timeout_s: float = COMMAND_TIMEOUT_S) -> None:
        self.command_timeout_s = command_timeout_s
        self.socket_path = socket_path
        self._journal: BinaryIO = journal.open("wb")
        self._qmp: QEMUMonitorProtocol | None = None
        self._listener: socket.socket | None = None
        self.events: list[dict[str, Any]] = []
        # Why the connection went away under the harness ("" while it holds, or when the
        # harness closed it): a run that ends on silence after this cannot show QEMU was alive.
        self.lost = ""

    def _log(self, direction: str, message: Any) -> None:
        record = {"t": round(time.time(), 6), "dir": direction, "msg": message}
        self._journal.write(json.dumps(record, default=str).encode() + b"\n")
        self._journal.flush()

    def listen(self) -> None:
        """Bind and listen on the socket before QEMU starts (`-qmp unix:PATH,server=off`:
        QEMU connects to the harness), so nothing has to wait for QEMU to create a socket."""
        self.socket_path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(self.socket_path))
            sock.listen(1)
        except OSError as exc:
            sock.close()
            raise QmpError(f"cannot listen on QMP socket {self.socket_path}: {exc}") from None
        self._listener = sock

    def accept(self, deadline_s: float = 10.0,
               alive: Callable[[], bool] = lambda: True) -> None:
        """Take QEMU's connection and negotiate. Wakes as soon as QEMU connects; `alive` is
        asked between waits so a QEMU that died during start-up fails at once, not at the
        deadline."""
        listener = self._listener
        if listener is None:
            raise QmpError(f"QMP socket {self.socket_path}: accept() before listen()")
        end = time.monotonic() + deadline_s
        try:
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    raise QmpError(f"QEMU did not connect to QMP socket {self.socket_path} "
                                   f"within {deadline_s}s")
                ready, _, _ = select.select([listener], [], [], min(left, 0.1))
                if ready:
                    conn, _ = listener.accept()
                    break
                if not alive():
                    raise QmpError(f"QEMU exited before connecting to QMP socket "
                                   f"{self.socket_path}")
        finally:
            self._listener = None
            listener.close()
            self.socket_path.unlink(missing_ok=True)
        conn.settimeout(None)  # asyncio takes it over non-blocking
        qmp = QEMUMonitorProtocol(conn)
        try:
            greeting = qmp.connect(negotiate=True)
        except (OSError, EOFError, QMPError) as exc:
            with contextlib.suppress(Exception):
                qmp.close()
            raise QmpError(f"QMP on {self.socket_path}: no greeting from QEMU: {exc!r}") from None
        qmp.settimeout(self.command_timeout_s)
        self._qmp = qmp
        self._log("greeting", greeting)

    @property
    def connected(self) -> bool:
        return self._qmp is not None

    def command(self, name: str, **args: Any) -> Any:
        if self._qmp is None:
            raise QmpError(f"QMP not connected (command {name})")
        self._log("command", {"execute": name, "arguments": args})
        try:
            reply = self._qmp.cmd_raw(name, args or None)
        except TimeoutError as exc:  # asyncio.wait_for's, after settimeout()
            self._log("error", f"no reply within {self.command_timeout_s}s")
            self._drop(f"no reply to {name} within {self.command_timeout_s:.0f}s")
            raise QmpUnresponsive(f"QEMU did not answer QMP {name} within "
                                  f"{self.command_timeout_s:.0f}s") from exc
        except (OSError, EOFError, Exception) as exc:  # the socket can vanish at any time
            self._log("error", repr(exc))
            self._drop(f"{name}: {exc!r}")
            raise QmpError(f"QMP command {name} failed: {exc!r}") from exc
        self._log("reply", reply)
        if "error" in reply:
            raise QmpError(f"QMP command {name} returned an error: {reply['error']}")
        return reply.get("return")

    def poll_events(self) -> list[dict[str, Any]]:
        """Events that arrived since the last poll (non-blocking)."""
        if self._qmp is None:
            return []
        got: list[dict[str, Any]] = []
        try:
            while True:
                event = self._qmp.pull_event(wait=False)
                if event is None:
                    break
                self._log("event", event)
                got.append(event)
        except (OSError, EOFError, Exception) as exc:
            self._log("error", repr(exc))
            self._drop(f"reading events: {exc!r}")
        self.events.extend(got)
        return got

    def _drop(self, why: str = "") -> None:
        if why and self._qmp is not None and not self.lost:
            self.lost = why
        qmp, self._qmp = self._qmp, None
        if qmp is not None:
            with contextlib.suppress(Exception):  # the socket may already be gone
                qmp.close()

    def close(self) -> None:
        self._drop()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            self.socket_path.unlink(missing_ok=True)
        self._journal.close()
