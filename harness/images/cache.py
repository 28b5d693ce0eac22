"""Where built images live: a content-addressed cache outside the repository, and the lock
that serialises the builds of one image."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.errors import UsageError

ENV_VAR = "AXHARNESS_CACHE"


def cache_root(override: Path | None = None) -> Path:
    """The cache directory: --cache-dir, else $AXHARNESS_CACHE, else ~/.cache/axharness."""
    if override is not None:
        path = override.expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise UsageError(f"--cache-dir {override} is not a directory")
        return path
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return (base / "axharness").resolve()


@contextlib.contextmanager
def build_lock(cache: Path, image: str, progress: Callable[[str], None]) -> Iterator[None]:
    """One build of an image at a time, across processes (pytest-xdist workers, parallel CI
    jobs). A process that has to wait says so, for which image and for whom (the holder
    writes its pid and host into the lock file), and says when it got the lock. The wait
    polls the stop request, so SIGINT/SIGTERM end it in any signal mode."""
    from harness import signals
    from harness.errors import Interrupted

    lock_dir = cache / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{image}.lock"
    with path.open("a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            progress(f"waiting for image {image}: {holder} is building it (lock {path})")
            started = time.monotonic()
            stop = signals.current()
            while True:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if stop.requested:
                        raise Interrupted(stop.signum) from None
                    time.sleep(0.2)
            progress(f"image {image}: got the build lock after "
                     f"{time.monotonic() - started:.0f}s")
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        f.flush()
        yield
