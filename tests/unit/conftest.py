"""Fixtures shared by unit tests of more than one module."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.oracle.gdbstub import frame

Script = Callable[[str], str | None]


@pytest.fixture
def fake_gdbstub(tmp_path: Path) -> Callable[[Script], Path]:
    """A fake gdbstub for unit tests of the gdb remote protocol's users: a unix socket that
    acks every packet and answers it with `answer(body)` (None: close the connection)."""

    def start(answer: Script) -> Path:
        path = tmp_path / "gdb.sock"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        server.listen(1)

        def serve() -> None:
            conn, _ = server.accept()
            buf = b""
            with conn:
                while True:
                    while b"#" not in buf or len(buf) < buf.index(b"#") + 3:
                        chunk = conn.recv(4096)
                        if not chunk:
                            return
                        buf += chunk
                    buf = buf.lstrip(b"+")
                    start, end = buf.index(b"$"), buf.index(b"#")
                    body, buf = buf[start + 1:end].decode(), buf[end + 3:]
                    reply = answer(body)
                    if reply is None:
                        return
                    conn.sendall(b"+" + frame(reply))
            server.close()

        threading.Thread(target=serve, daemon=True).start()
        return path

    return start
