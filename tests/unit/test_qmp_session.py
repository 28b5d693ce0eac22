"""QMP connection: the harness listens before QEMU starts and QEMU connects to it
(`server=off`), so the session is up as soon as QEMU speaks; a QEMU that never connects or
dies first ends in a QmpError naming the socket, never in an exception from qemu.qmp."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from harness.qemu.profiles import get_profile
from harness.qemu.qmp_session import QmpError, QmpSession

GREETING = {"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10},
                                "package": ""}, "capabilities": []}}


def fake_qemu(path: Path, delay_s: float, served: list[str]) -> None:
    """What QEMU with `-qmp unix:PATH,server=off` does: connect, greet, answer the
    capabilities negotiation and one command (QMP messages need no line end: parsed as a
    JSON stream, as QEMU does)."""
    time.sleep(delay_s)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(path))
        s.sendall(json.dumps(GREETING).encode() + b"\r\n")
        buf, decoder = "", json.JSONDecoder()
        while len(served) < 2:
            chunk = s.recv(4096)
            if not chunk:
                return
            buf += chunk.decode()
            while buf.strip():
                try:
                    msg, end = decoder.raw_decode(buf.lstrip())
                except ValueError:
                    break
                buf = buf.lstrip()[end:]
                served.append(msg["execute"])
                reply = {"return": {}} | ({"id": msg["id"]} if "id" in msg else {})
                s.sendall(json.dumps(reply).encode() + b"\r\n")
        s.recv(1)  # until the harness closes


def test_the_session_is_up_as_soon_as_qemu_connects(tmp_path: Path) -> None:
    path = tmp_path / "q.sock"
    session = QmpSession(path, tmp_path / "qmp.jsonl")
    session.listen()
    assert path.is_socket()  # listening before QEMU is started
    served: list[str] = []
    qemu = threading.Thread(target=fake_qemu, args=(path, 0.2, served), daemon=True)
    start = time.monotonic()
    qemu.start()
    session.accept(deadline_s=10.0)
    took = time.monotonic() - start
    assert session.connected and 0.2 <= took < 1.0
    assert session.command("cont") == {}
    session.close()
    qemu.join(5)
    assert served == ["qmp_capabilities", "cont"]
    assert not path.exists()  # the listener is gone once QEMU is connected
    journal = [json.loads(line) for line in (tmp_path / "qmp.jsonl").read_text().splitlines()]
    assert [r["dir"] for r in journal] == ["greeting", "command", "reply"]


def test_a_qemu_that_never_connects_is_a_qmp_error_naming_the_socket(tmp_path: Path) -> None:
    session = QmpSession(tmp_path / "q.sock", tmp_path / "qmp.jsonl")
    session.listen()
    with pytest.raises(QmpError, match=r"q\.sock within 0\.3s"):
        session.accept(deadline_s=0.3)
    session.close()
    assert not (tmp_path / "q.sock").exists()


def test_a_qemu_that_dies_before_connecting_fails_at_once_not_at_the_deadline(
        tmp_path: Path) -> None:
    session = QmpSession(tmp_path / "q.sock", tmp_path / "qmp.jsonl")
    session.listen()
    start = time.monotonic()
    with pytest.raises(QmpError, match=r"exited before connecting to QMP socket .*q\.sock"):
        session.accept(deadline_s=30.0, alive=lambda: False)
    assert time.monotonic() - start < 2.0
    session.close()


def test_a_connection_that_never_greets_is_a_qmp_error(tmp_path: Path) -> None:
    path = tmp_path / "q.sock"
    session = QmpSession(path, tmp_path / "qmp.jsonl")
    session.listen()
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    peer.connect(str(path))
    peer.close()  # connected, then gone without a word
    with pytest.raises(QmpError, match="no greeting"):
        session.accept(deadline_s=5.0)
    session.close()


def test_qemu_is_told_to_connect_to_the_harness(tmp_path: Path) -> None:
    from harness.qemu.machine import machine_argv

    argv = machine_argv(get_profile("aarch64-virt-el2-tcg"), "k", qmp=tmp_path / "q.sock")
    assert argv[argv.index("-qmp") + 1] == f"unix:{tmp_path / 'q.sock'},server=off"
