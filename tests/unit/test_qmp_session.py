"""QMP connection: a socket that exists before QEMU listens on it is retried, and a socket
nobody ever serves ends in a QmpError naming it, never in an exception from qemu.qmp."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.qemu.qmp_session import QmpError, QmpSession


def test_a_socket_nobody_listens_on_is_a_qmp_error_after_the_deadline(tmp_path: Path) -> None:
    path = tmp_path / "q.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))  # bound, never listening: connect() is refused, as in QEMU's start-up
    try:
        session = QmpSession(path, tmp_path / "qmp.jsonl")
        with pytest.raises(QmpError, match=r"did not answer within 0\.3s"):
            session.connect(deadline_s=0.3)
        session.close()
    finally:
        sock.close()


def test_a_missing_socket_is_a_qmp_error_naming_it(tmp_path: Path) -> None:
    session = QmpSession(tmp_path / "absent.sock", tmp_path / "qmp.jsonl")
    with pytest.raises(QmpError, match=r"absent\.sock"):
        session.connect(deadline_s=0.1)
    session.close()
