"""Live progress of an image build, from cargo's own unit counter.

cargo draws `Building [====>   ] 45/230: arm_vcpu, axvm` when asked to
(CARGO_TERM_PROGRESS_WHEN=always, a fixed width), each redraw ending in a carriage return;
its total counts every unit of the build, fresh ones included, so "45/230" is exact, where
counting `Compiling` lines against the lock's packages would only bound it. The redraws are
kept out of the build log; everything else goes in unchanged.

On a terminal the status is one line rewritten in place; elsewhere (CI logs, pytest) it is a
line every few seconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

CARGO_ENV = {"CARGO_TERM_PROGRESS_WHEN": "always", "CARGO_TERM_PROGRESS_WIDTH": "200"}
_BAR = re.compile(rb"^\s*Building \[[ =>-]*\]\s+(\d+)/(\d+)(?::\s*(.*?))?\s*$")
_COMPILING = re.compile(rb"^\s*Compiling (\S+)")


@dataclass(frozen=True, slots=True)
class BuildStatus:
    """Where a build is: units done of the total cargo counts, what it compiles now."""

    image: str
    done: int
    total: int
    current: str
    elapsed_s: float

    def line(self) -> str:
        m, s = divmod(int(self.elapsed_s), 60)
        if not self.total:
            return f"building {self.image}: starting cargo, {m}:{s:02d}"
        now = f", compiling {self.current}" if self.current else ""
        return f"building {self.image}: {self.done}/{self.total} crates{now}, {m}:{s:02d}"


# A status sink: a BuildStatus to show, None when the build is over (clear a terminal line).
StatusSink = Callable[[BuildStatus | None], None]


class CargoOutput:
    """Splits cargo's output into build-log text and progress (fed from a reader thread, read
    from the build's thread: plain attribute writes)."""

    def __init__(self) -> None:
        self._partial = b""
        self.done = 0
        self.total = 0
        self.current = ""

    def feed(self, data: bytes) -> bytes:
        """The part of `data` (with what is left of earlier chunks) that belongs in the log."""
        buf = self._partial + data
        out = []
        start = 0
        for m in re.finditer(rb"[\r\n]", buf):
            seg = buf[start:m.start()]
            start = m.end()
            bar = _BAR.match(seg)
            if bar:
                self.done, self.total = int(bar[1]), int(bar[2])
                self.current = (bar[3] or b"").decode(errors="replace").split(",")[0].strip()
            elif m[0] == b"\n" or seg.strip():
                comp = _COMPILING.match(seg)
                if comp and not self.current:
                    self.current = comp[1].decode(errors="replace")
                out.append(seg.rstrip(b" ") + b"\n")
        self._partial = buf[start:]
        return b"".join(out)

    def flush(self) -> bytes:
        rest, self._partial = self._partial, b""
        return rest + b"\n" if rest.strip() else b""

    def status(self, image: str, elapsed_s: float) -> BuildStatus:
        return BuildStatus(image, self.done, self.total, self.current, elapsed_s)


class StatusLine:
    """Shows BuildStatus values: rewritten in place on a terminal (at most 5 times a second),
    else one line every `every_s` seconds through `write`."""

    def __init__(self, write: Callable[[str], None], tty: bool, every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._write = write
        self._tty = tty
        self._every = 0.2 if tty else every_s
        self._clock = clock
        self._last = -1e9
        self._width = 0

    def __call__(self, status: BuildStatus | None) -> None:
        if status is None:
            if self._tty and self._width:
                self._write("\r" + " " * self._width + "\r")
            self._width = 0
            return
        now = self._clock()
        if now - self._last < self._every:
            return
        self._last = now
        text = status.line()
        if self._tty:
            text = text[:119]
            self._write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self._write(text + "\n")


def for_stream(stream: TextIO, every_s: float = 5.0) -> StatusLine:
    """A StatusLine on `stream`: in place if it is a terminal, else periodic lines."""
    def write(text: str) -> None:
        stream.write(text)
        stream.flush()
    return StatusLine(write, stream.isatty(), every_s)


def via_messages(progress: Callable[[str], None], every_s: float = 5.0) -> StatusLine:
    """Periodic status lines through a build's message callback (library callers)."""
    return StatusLine(lambda text: progress(text.rstrip("\n")), False, every_s)
