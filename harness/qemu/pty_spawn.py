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
    """pexpect.spawn whose child is started by posix_spawn (same constructor arguments).

    With `output_pipe`, the child's stdout and stderr are a pipe (`output_fd`) and only its
    stdin is the pty: QEMU writes the guest's UART a byte per write(2), and a pty write costs
    far more than a pipe write (an aarch64 boot to its end marker: 0.38 s on a pty, 0.29 s
    with the output on a pipe). The pty stays the controlling terminal: a harness that dies
    still hangs QEMU up, and what the harness types still arrives raw."""

    def __init__(self, *args: Any, output_pipe: bool = False, **kwargs: Any) -> None:
        self._output_pipe = output_pipe
        self.output_fd = -1
        super().__init__(*args, **kwargs)

    def _spawnpty(self, args: list[str], **kwargs: Any) -> ptyprocess.PtyProcess:
        master, slave = os.openpty()  # both close-on-exec: QEMU inherits neither
        out_r = out_w = -1
        try:
            attrs = termios.tcgetattr(slave)
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            # setsid comes before the file actions in posix_spawn: the session leader then
            # opens the pty without O_NOCTTY, which makes it its controlling terminal.
            name = os.ttyname(slave)
            env = kwargs.get("env")
            out = 0
            if self._output_pipe:
                out_r, out_w = os.pipe()  # close-on-exec; dup2 gives QEMU its own copies
                out = out_w
            pid = os.posix_spawn(args[0], args, os.environ if env is None else env,
                                 file_actions=[(os.POSIX_SPAWN_OPEN, 0, name, os.O_RDWR, 0),
                                               (os.POSIX_SPAWN_DUP2, out, 1),
                                               (os.POSIX_SPAWN_DUP2, out, 2)],
                                 setsid=True)
        except OSError as exc:
            os.close(master)
            if out_r >= 0:
                os.close(out_r)
            raise pexpect.ExceptionPexpect(f"cannot start {args[0]}: {exc}") from exc
        finally:
            os.close(slave)
            if out_w >= 0:
                os.close(out_w)  # QEMU holds the only writer: its exit is EOF here
        self.output_fd = out_r
        return ptyprocess.PtyProcess(pid, master)
