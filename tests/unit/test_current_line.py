"""A run on the current axvisor line read from its console: the end of the VM (not the shell,
which is up from boot), the runtime's marker hypercalls set aside where the runtime makes them,
and the loss judgement of images whose exit log can drop records."""

from __future__ import annotations

from pathlib import Path

from harness.check.compare import ASYNC_VARIANTS
from harness.model.exits import Hypercall, MmioWrite, Nothing
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr
from harness.parse import format_sync_record, parse_log, render_exit
from harness.parse.render import DebugForm
from harness.paths import repo_root
from harness.run import current_line
from harness.run.current_line import (
    Markers,
    judge_loss,
    marker_problems,
    markers_of,
    split_markers,
)

A8 = schema("axvm-0.8")
M = Markers(0x4158_4801, 0x4158_4802)
STORE = MmioWrite(GuestPhysAddr(0x800_0E00), AccessWidth.Dword, 0xDEAD_BEEF)


def _hc(nr: int) -> Hypercall:
    return Hypercall(nr, (0, 0, 0, 0, 0, 0))


def _records(*exits: object, vcpu: int = 0) -> list:  # type: ignore[type-arg]
    log = "".join(format_sync_record(render_exit(e, A8, "aarch64", DebugForm.PRETTY_HEX),
                                     vcpu=vcpu) for e in exits)  # type: ignore[arg-type]
    result = parse_log(log, A8, "aarch64")
    assert result.errors == ()
    return list(result.records)


def test_the_runtime_markers_are_read_from_the_runtime_itself() -> None:
    for arch in ("aarch64", "riscv64"):
        assert markers_of(repo_root() / "guest-src" / arch / "runtime-axvm08.S") == M
        assert markers_of(repo_root() / "guest-src" / arch / "runtime.S") is None


def test_markers_are_set_aside_and_their_places_checked() -> None:
    recs = _records(_hc(M.start), Nothing(), STORE, _hc(M.end), _hc(0x8400_0008))
    split = split_markers(recs, M, {0: 0}, ASYNC_VARIANTS)
    assert [r.exit for r in split.records] == [Nothing(), STORE, _hc(0x8400_0008)]
    assert (split.start, split.end, split.problems) == (True, True, ())


def test_misplaced_markers_are_problems_not_silently_dropped() -> None:
    late = split_markers(_records(STORE, _hc(M.start)), M, {0: 0}, ASYNC_VARIANTS)
    assert late.start and "came after other exits" in late.problems[0]
    after = split_markers(_records(_hc(M.start), _hc(M.end), STORE, _hc(0x8400_0008)), M,
                          {0: 0}, ASYNC_VARIANTS)
    assert after.problems == ("exits after the end marker hypercall: MmioWrite, Hypercall",)
    other = split_markers(_records(_hc(M.start), vcpu=1), M, {0: 0}, ASYNC_VARIANTS)
    assert "on vCPU 1" in other.problems[0]


def test_a_marker_the_guest_passed_but_axvisor_never_reported_is_a_problem() -> None:
    # A marker hypercall reported as something else (here an interrupt's Nothing, set aside as
    # asynchronous) or not at all passed: only misplaced markers were problems (audit, session 7).
    no_start = split_markers(_records(Nothing(), STORE, _hc(M.end), _hc(0x8400_0008)), M,
                             {0: 0}, ASYNC_VARIANTS)
    assert marker_problems(no_start, True, True) == ("the start marker hypercall never came",)
    no_end = split_markers(_records(_hc(M.start), STORE, _hc(0x8400_0008)), M, {0: 0},
                           ASYNC_VARIANTS)
    assert marker_problems(no_end, True, True)[0].startswith("the end marker hypercall never came")
    # a scenario that ends the VM itself never reaches the runtime's end marker
    assert marker_problems(no_end, True, False) == ()


def test_the_end_of_a_run_is_the_last_vm_stopping_not_the_shell() -> None:
    shell = b"Welcome to AxVisor Shell!\r\naxvisor:$ "
    assert current_line.watch(shell) is None
    assert current_line.watch(shell + b"a VM exited, current running VM count: 1\r\n") is None
    assert current_line.watch(shell + current_line.VM_STOPPED + b"\r\n") == "end"
    assert current_line.watch(b"panicked at src/x.rs:1:2:\r\nboom\r\n" + b"x" * 3000) \
        .startswith("panic")


def test_the_std_line_starts_at_0_6() -> None:
    assert current_line.is_current_line("0.8.2") and current_line.is_current_line("0.6.0")
    assert not current_line.is_current_line("0.5.8")
    assert not current_line.is_current_line("0.3.0-preview.2")


def test_a_lossy_console_is_judged_lost_when_a_predicted_record_is_missing() -> None:
    expected = {0: (STORE, STORE, _hc(0x8400_0008))}
    recs = _records(_hc(M.start), STORE, _hc(M.end), _hc(0x8400_0008))
    split = split_markers(recs, M, {0: 0}, ASYNC_VARIANTS)
    lost = judge_loss(expected, split.records, split, b"", ended_normally=True)
    assert lost.lost and lost.missing == 1
    whole = _records(_hc(M.start), STORE, STORE, _hc(M.end), _hc(0x8400_0008))
    split = split_markers(whole, M, {0: 0}, ASYNC_VARIANTS)
    assert not judge_loss(expected, split.records, split, b"", ended_normally=True).lost
    # the end marker lost although the VM stopped normally
    cut = split_markers(whole[:3] + whole[4:], M, {0: 0}, ASYNC_VARIANTS)
    assert judge_loss(expected, cut.records, cut, b"", ended_normally=True).lost


def test_a_recipe_names_the_runtime_it_marks_with(tmp_path: Path) -> None:
    src = tmp_path / "rt.S"
    src.write_text("        .equ AXH_MARKER_START, 0x10\n        .equ AXH_MARKER_END, 17\n")
    assert markers_of(src) == Markers(0x10, 17)
