"""Snapshot restore without QEMU (harness.persist.snapshot): which exits of a restored run are
the loader's, and the saved guest memory copied with its holes and its mailbox."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from harness.model.exits import Hypercall, MmioWrite
from harness.model.values import AccessWidth, GuestPhysAddr
from harness.parse import ExitRecord
from harness.parse.render import DebugForm
from harness.persist.frame import NR_END, NR_READY, NR_START, Frame
from harness.persist.loader import HEADER, PAGE, Loader
from harness.persist.mailbox import MAGIC, ONESHOT, Mailbox
from harness.persist.snapshot import loader_records

CRC = 0x1234_ABCD
Args = tuple[int, int, int, int, int, int]
MINE: Args = (0, CRC, 0, 0, 0, 0)


def rec(line: int, exit_: object) -> ExitRecord:
    return ExitRecord(exit_, line, line + 3, None, DebugForm.PRETTY_HEX, "")  # type: ignore[arg-type]


def hc(line: int, nr: int, args: Args = MINE) -> ExitRecord:
    return rec(line, Hypercall(nr, args))


def test_the_loaders_ready_and_the_programs_two_boundaries_are_set_aside() -> None:
    """The 0.8 line: the runtime's own start/end markers use the same hypercall numbers as the
    loader's boundaries; only the loader's (program 0, this CRC, after the restore) go."""
    runtime_start = hc(5, NR_START, (0x8000, 0, 0, 0, 0, 0))
    ready = hc(9, NR_READY, (0, 0, 0, 0, 0, 0))
    start = hc(12, NR_START)
    store = rec(16, MmioWrite(GuestPhysAddr(0x0800_0E00), AccessWidth.Byte, 0x88))
    case_start = hc(20, NR_START, (7, CRC, 0, 0, 0, 0))  # the case's own hypercall
    end = hc(24, NR_END)
    runtime_end = hc(28, NR_END, (0x80, 0, 0, 0, 0, 0))
    again = hc(32, NR_END)  # a second one with the loader's values: the case's
    records = [runtime_start, ready, start, store, case_start, end, runtime_end, again]
    assert loader_records(records, 10, CRC) == {id(ready), id(start), id(end)}


def test_nothing_of_the_saved_boot_is_taken_for_a_boundary() -> None:
    early = hc(8, NR_START)  # before the restore: not program 0's start
    assert loader_records([early, hc(30, NR_END)], 10, CRC) == frozenset()


def test_a_program_that_never_returns_has_only_its_start_set_aside() -> None:
    start = hc(12, NR_START)
    other_crc = hc(14, NR_START, (0, CRC ^ 1, 0, 0, 0, 0))
    off = rec(20, Hypercall(0x8400_0008, (0, 0, 0, 0, 0, 0)))
    assert loader_records([start, other_crc, off], 10, CRC) == {id(start)}


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs a tmpfs at /dev/shm")
def test_saved_memory_is_copied_with_its_holes_and_a_one_shot_frame_goes_to_the_copy() -> None:
    loader = Loader(b"", 0xF000, 0x80A0_2000, 1)  # two slots of one page each
    box = Mailbox("256M", loader, Path("/dev/shm"))
    pages = (200 << 20, (200 << 20) + PAGE)
    with box.path.open("r+b") as f:
        f.truncate(256 << 20)
        for i, off in enumerate(pages):
            f.seek(off)
            f.write(struct.pack("<Q", MAGIC ^ i))
        f.seek(3 << 20)
        f.write(b"kernel")
    names = set(os.listdir("/dev/shm"))
    assert box.locate() == pages
    saved = box.save()
    copy = Mailbox.copy_of("256M", loader, saved, pages)
    seen = Path("/dev/shm") / (copy.path.name + "-seen")
    os.link(copy.path, seen)  # QEMU's view of the copy
    try:
        assert set(os.listdir("/dev/shm")) - names == {copy.path.name, seen.name}  # no name
        copy.write(Frame(b"\x05" * 10, 0xFEED), 0, oneshot=True)
        raw = seen.read_bytes()
        assert raw[3 << 20: (3 << 20) + 6] == b"kernel"
        assert struct.unpack_from("<QQQQ", raw, pages[0]) == (MAGIC, 0, 10 | ONESHOT, 0xFEED)
        assert raw[pages[0] + HEADER: pages[0] + HEADER + 10] == b"\x05" * 10
        assert seen.stat().st_blocks * 512 < (16 << 20)  # the holes stayed holes
        assert os.pread(saved, 24, pages[0]) == struct.pack("<QQQ", MAGIC, 0, 0)  # untouched
    finally:
        copy.close()
        box.close()
        os.close(saved)
        seen.unlink()


def test_a_ram_file_that_cannot_be_created_is_the_hosts_trouble(tmp_path: Path) -> None:
    # e.g. a full disk or no descriptors left: an OSError here was an "internal error" of the
    # case, which was then not run on a boot (audit, session 7)
    from harness.errors import InfraError

    with pytest.raises(InfraError, match=r"cannot create a RAM file in .*missing"):
        Mailbox("16M", Loader(b"", 0xF000, 0x80A0_2000, 1), directory=tmp_path / "missing")
