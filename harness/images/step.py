"""One build step (cargo, patch) as a child process: its own process group, killed with the
harness, its output appended to the build log (optionally filtered and watched on the way)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from harness.errors import InfraError


def run_step(cmd: list[str], *, cwd: Path, env: dict[str, str], log: Path,
             filter_output: Callable[[bytes], bytes] | None = None,
             tick: Callable[[], None] | None = None) -> None:
    """Run a build step, output to `log`. The step (cargo, with its rustc and build-script
    children) gets its own process group, killed with it when the harness is interrupted
    (Interrupted or KeyboardInterrupt raised here, or a stop request polled every 0.2 s), and
    dies with the harness if the harness is killed outright (PR_SET_PDEATHSIG).

    With `filter_output`, the output passes through it (a reader thread) before the log;
    `tick` is called every 0.2 s while the step runs (live progress)."""
    import ctypes

    from harness import signals
    from harness.errors import Interrupted

    stop = signals.current()
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the forked child
    reader: threading.Thread | None = None
    with log.open("ab") as f:
        f.write(("$ " + " ".join(cmd) + "\n").encode())
        f.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stderr=subprocess.STDOUT,
                                stdout=f if filter_output is None else subprocess.PIPE,
                                process_group=0,  # SIGKILL when this thread ends:
                                preexec_fn=lambda: prctl(1, signal.SIGKILL))  # PDEATHSIG
        if filter_output is not None:
            assert proc.stdout is not None
            reader = threading.Thread(target=_copy, args=(proc.stdout, f, filter_output),
                                      daemon=True)
            reader.start()
        try:
            while True:
                try:
                    returncode = proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    if stop.requested:
                        raise Interrupted(stop.signum) from None
                    if tick is not None:
                        tick()
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            if reader is not None:
                reader.join(timeout=10)
    if returncode != 0:
        text = log.read_text(errors="replace").splitlines()
        errors = [ln for ln in text if ln.startswith("error")][:5] or text[-15:]
        raise InfraError(
            f"`{' '.join(cmd[:3])} …` failed (exit {returncode}); build log: {log}\n  "
            + "\n  ".join(errors)
        )


def _copy(pipe: IO[bytes], f: IO[bytes], filter_output: Callable[[bytes], bytes]) -> None:
    """Reader thread: the step's output, filtered, into the log until the step closes it."""
    with contextlib.suppress(OSError), pipe:
        while chunk := os.read(pipe.fileno(), 65536):
            f.write(filter_output(chunk))
            f.flush()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the step's process group, SIGKILL after 5 s; returns once it is gone."""
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)
            with contextlib.suppress(ProcessLookupError):  # its children, if cargo went first
                os.killpg(proc.pid, signal.SIGKILL)
            return
