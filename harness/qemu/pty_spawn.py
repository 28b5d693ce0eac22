"""QEMU started on a pty by posix_spawn instead of pexpect's fork.

ptyprocess forks the harness (a Python process) and runs Python in the child until exec:
≈ 7 ms per case here, paid before QEMU even starts; posix_spawn (vfork + exec, in C) takes
≈ 0.5 ms. The result is still a pexpect.spawn (read_nonblocking, send, interact, isalive, exit
status and signal), and QEMU still gets what ptyprocess gives it: its own session with the pty
as its controlling terminal (so a harness that dies, closing the master, hangs it up) and no
echo of what the harness types.
"""

from __future__ import annotations

import os
import termios
from typing import Any

import pexpect
import ptyprocess  # type: ignore[import-untyped]  # no type hints


class PtySpawn(pexpect.spawn):  # type: ignore[misc]  # pexpect has no type hints
    """pexpect.spawn whose child is started by posix_spawn (same constructor arguments)."""

    def _spawnpty(self, args: list[str], **kwargs: Any) -> ptyprocess.PtyProcess:
        master, slave = os.openpty()  # both close-on-exec: QEMU inherits neither
        try:
            attrs = termios.tcgetattr(slave)
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            # setsid comes before the file actions in posix_spawn: the session leader then
            # opens the pty without O_NOCTTY, which makes it its controlling terminal.
            name = os.ttyname(slave)
            env = kwargs.get("env")
            pid = os.posix_spawn(args[0], args, os.environ if env is None else env,
                                 file_actions=[(os.POSIX_SPAWN_OPEN, 0, name, os.O_RDWR, 0),
                                               (os.POSIX_SPAWN_DUP2, 0, 1),
                                               (os.POSIX_SPAWN_DUP2, 0, 2)],
                                 setsid=True)
        except OSError as exc:
            os.close(master)
            raise pexpect.ExceptionPexpect(f"cannot start {args[0]}: {exc}") from exc
        finally:
            os.close(slave)
        return ptyprocess.PtyProcess(pid, master)
