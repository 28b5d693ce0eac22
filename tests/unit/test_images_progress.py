"""Long builds show progress: cargo's unit counter read from its output (and kept out of the
build log), a status line on a terminal or a line every few seconds elsewhere, and a wait on
another process's build lock said with the image and who holds it."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from harness.images.cache import build_lock
from harness.images.progress import BuildStatus, CargoOutput, StatusLine
from harness.images.step import run_step

# What cargo writes with CARGO_TERM_PROGRESS_WHEN=always (recorded from cargo 1.95): redraws
# of the bar end in \r, a status line first blanks the bar.
CARGO = (b"     Locking 1 package to latest Rust 1.96.0 compatible version\n"
         b"   Compiling arm_vcpu v0.2.2 (/tmp/a)\n"
         b"    Building [         ] 0/332: arm_vcpu" + b" " * 40 + b"\r"
         b"    Building [=====>   ] 330/332: arm_vcpu, axvm(build)" + b" " * 20 + b"\r"
         + b" " * 60 + b"\r"
         b"   Compiling axvisor v0.3.0 (/tmp/b)\n"
         b"    Building [=======> ] 331/332: axvisor(bin)" + b" " * 30 + b"\r"
         b"warning: unused\n\n    Finished `release` profile in 47.48s\n")


def test_the_counter_and_current_crate_come_from_cargo_s_bar_at_any_chunking() -> None:
    for size in (1, 7, 64, len(CARGO)):
        out = CargoOutput()
        seen = []
        log = b""
        for i in range(0, len(CARGO), size):
            log += out.feed(CARGO[i:i + size])
            seen.append((out.done, out.total))
        assert (out.done, out.total, out.current) == (331, 332, "axvisor(bin)")
        assert (330, 332) in seen or size == len(CARGO)
        assert b"Building" not in log and b"\r" not in log
        assert log.splitlines() == [
            b"     Locking 1 package to latest Rust 1.96.0 compatible version",
            b"   Compiling arm_vcpu v0.2.2 (/tmp/a)", b"   Compiling axvisor v0.3.0 (/tmp/b)",
            b"warning: unused", b"", b"    Finished `release` profile in 47.48s"]


def test_a_status_names_image_counter_crate_and_elapsed_time() -> None:
    s = BuildStatus("aarch64+arm_vcpu@c8bb11e6", 331, 332, "axvisor(bin)", 75.4)
    assert s.line() == ("building aarch64+arm_vcpu@c8bb11e6: 331/332 crates, compiling "
                        "axvisor(bin), 1:15")
    assert BuildStatus("x", 0, 0, "", 3).line() == "building x: starting cargo, 0:03"


def test_off_a_terminal_a_line_every_few_seconds() -> None:
    now = [0.0]
    out: list[str] = []
    line = StatusLine(out.append, tty=False, every_s=5.0, clock=lambda: now[0])
    for t in range(0, 12):
        now[0] = float(t)
        line(BuildStatus("a", t, 20, "c", t))
    line(None)
    assert out == ["building a: 0/20 crates, compiling c, 0:00\n",
                   "building a: 5/20 crates, compiling c, 0:05\n",
                   "building a: 10/20 crates, compiling c, 0:10\n"]


def test_on_a_terminal_one_line_rewritten_in_place_and_cleared_at_the_end() -> None:
    now = [0.0]
    buf: list[str] = []
    line = StatusLine(buf.append, tty=True, clock=lambda: now[0])
    line(BuildStatus("a", 10, 20, "long_crate_name", 1))
    now[0] = 1.0
    line(BuildStatus("a", 11, 20, "c", 2))
    line(None)
    text = "".join(buf)
    assert "\n" not in text
    first = "building a: 10/20 crates, compiling long_crate_name, 0:01"
    second = "building a: 11/20 crates, compiling c, 0:02"
    assert text == ("\r" + first + "\r" + second.ljust(len(first)) + "\r"
                    + " " * len(second) + "\r")


def test_a_step_s_output_is_filtered_into_the_log_while_ticks_report(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    out = CargoOutput()
    ticks: list[tuple[int, int]] = []
    script = ("import sys,time;w=sys.stdout.buffer.write;"
              f"w({CARGO[:200]!r});sys.stdout.flush();time.sleep(0.7);w({CARGO[200:]!r})")
    run_step([sys.executable, "-c", script], cwd=tmp_path, env=dict(os.environ), log=log,
             filter_output=out.feed, tick=lambda: ticks.append((out.done, out.total)))
    head, text = log.read_text().split("\n", 1)
    assert head.startswith(f"$ {sys.executable} -c ")
    assert "Building [" not in text and "Compiling axvisor v0.3.0" in text
    assert ticks and (331, 332) not in ticks[:1]  # ticks ran while the step was running
    assert (out.done, out.total) == (331, 332)


def test_waiting_for_another_build_says_for_which_image_and_who(tmp_path: Path) -> None:
    messages: list[str] = []
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with build_lock(tmp_path, "aarch64+arm_vcpu@c8bb11e6", lambda m: None):
            held.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    with build_lock(tmp_path, "aarch64+arm_vcpu@c8bb11e6", messages.append):
        waited = time.monotonic() - started
    t.join()
    lock = tmp_path / "locks" / "aarch64+arm_vcpu@c8bb11e6.lock"
    assert messages[0] == (f"waiting for image aarch64+arm_vcpu@c8bb11e6: pid {os.getpid()} "
                           f"on {os.uname().nodename} is building it (lock {lock})")
    assert messages[1].startswith("image aarch64+arm_vcpu@c8bb11e6: got the build lock after")
    assert waited >= 0.4


def test_no_message_when_the_lock_is_free(tmp_path: Path) -> None:
    messages: list[str] = []
    with build_lock(tmp_path, "riscv64", messages.append):
        pass
    assert messages == []
