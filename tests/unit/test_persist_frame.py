"""Frames and the mailbox of persistent mode, without QEMU."""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import InfraError
from harness.parse import format_log_line
from harness.persist.frame import DONE, READY, Frame, decode, encode, marker_number
from harness.persist.loader import HEADER, PAGE, SLOTS, Loader
from harness.persist.mailbox import MAGIC, Mailbox, ram_bytes
from harness.persist.session import SliceWatch


@given(st.binary(min_size=1, max_size=4096))
def test_a_frame_carries_the_program_and_zlibs_crc32(code: bytes) -> None:
    frame = encode(code)
    assert frame.crc == zlib.crc32(code) & 0xFFFF_FFFF
    assert decode(frame.wire) == code
    assert b"\x03" not in frame.wire  # text: ISIG would turn 0x03 into a SIGINT to QEMU


@given(st.binary(min_size=1, max_size=256), st.integers(0, 31))
def test_any_single_bit_error_in_the_code_is_refused(code: bytes, bit: int) -> None:
    frame = encode(code)
    flipped = bytearray(code)
    flipped[bit % len(code)] ^= 1 << (bit % 8)
    with pytest.raises(ValueError):
        decode(Frame(bytes(flipped), frame.crc).wire)


def test_an_empty_program_is_no_frame() -> None:
    with pytest.raises(ValueError):
        encode(b"")


def test_markers_carry_the_program_number_in_hex() -> None:
    console = b"junk AXH:READY 0000002a\r\nmore AXH:DONE 0000002a\n"
    assert marker_number(READY, console, 0) == (42, 5, 25)
    n, _, end = marker_number(DONE, console, 0) or (0, 0, 0)
    assert (n, end) == (42, len(console))
    assert marker_number(DONE, console, end) is None


def _fake_ram(tmp_path: Path, offsets: list[int], size: int = 64 * PAGE) -> Mailbox:
    """RAM with mailbox pages at `offsets` (both slots: the loader's `pages` is half)."""
    loader = Loader(b"", 0xF000, 0x80A0_2000, len(offsets) // SLOTS)
    box = Mailbox("1M", loader, tmp_path)
    data = bytearray(size)
    for i, off in enumerate(offsets):
        data[off: off + 8] = struct.pack("<Q", MAGIC ^ i)
    box.path.write_bytes(bytes(data))
    return box


def test_the_mailbox_pages_are_found_wherever_the_guest_memory_lies(tmp_path: Path) -> None:
    offsets = [5 * PAGE, 6 * PAGE, 40 * PAGE, 9 * PAGE,  # slot 0, not contiguous
               12 * PAGE, 30 * PAGE, 31 * PAGE, 2 * PAGE]  # slot 1
    box = _fake_ram(tmp_path, offsets)
    seen = tmp_path / "ram-as-qemu-sees-it"
    os.link(box.path, seen)  # QEMU's own mapping outlives the path the harness removes
    try:
        assert box.locate() == tuple(offsets)
        assert not box.path.exists()
        code = bytes(range(256)) * 40  # 10 KiB: crosses three page boundaries
        box.write(Frame(code, 0x1234_5678), seq=6)  # even: slot 0
        box.write(Frame(b"\x01" * 100, 0x9ABC_DEF0), seq=7)  # odd: slot 1, slot 0 untouched
        raw = seen.read_bytes()
        small = b"\x01" * 100
        for first, seq, crc, body in ((0, 6, 0x1234_5678, code), (4, 7, 0x9ABC_DEF0, small)):
            logical = b"".join(raw[o: o + PAGE] for o in offsets[first: first + 4])
            assert struct.unpack_from("<QQQQ", logical) == (MAGIC ^ first, seq, len(body), crc)
            assert logical[HEADER: HEADER + len(body)] == body
    finally:
        box.close()


def test_a_missing_mailbox_page_is_infrastructure_trouble(tmp_path: Path) -> None:
    box = _fake_ram(tmp_path, [2 * PAGE])
    box.loader = Loader(b"", 0xF000, 0, 1)  # the loader's two slots have a page each
    try:
        with pytest.raises(InfraError, match="page 1 not found"):
            box.locate()
    finally:
        box.close()


def test_ram_sizes_read_as_qemu_reads_them() -> None:
    assert ram_bytes("2G") == 2 << 30 and ram_bytes("512M") == 512 << 20
    assert ram_bytes("256") == 256 << 20


def _record(text: str) -> bytes:
    return format_log_line(text, 1_000_000, "ax_plat_riscv64_qemu_virt::irq", 202).encode()


def test_a_done_marker_with_a_log_record_inside_still_ends_the_slice() -> None:
    """Seen on riscv64: a host timer interrupt exits between two characters the guest
    prints, and its record lands inside the marker. Before, the slice waited for the
    watchdog and the boot was dropped."""
    head = b"junk before "
    end_record = _record("Hypercall [0x41584802] failed")
    console = bytearray(head + end_record + b"AXH:DONE 0000000" + _record("IRQ: timer")
                        + b"c\r\n")
    assert SliceWatch(len(head), 12)(console, len(head)) == "done"
    assert SliceWatch(len(head), 11)(console, len(head)) is None  # another program's number


def test_a_split_marker_before_the_end_boundary_is_not_taken_for_done() -> None:
    console = bytearray(b"AXH:DONE 0000000" + _record("IRQ: timer") + b"c\r\n")
    assert SliceWatch(0, 12)(console, 0) is None  # no end boundary logged yet
    console += b"AXH:DONE 0000000c\n"
    assert SliceWatch(0, 12)(console, 0) == "done"
    assert SliceWatch(0, 3)(bytearray(b"x AXH:BADFRAME\n"), 0) == "badframe"


def test_a_badframe_marker_with_a_log_record_inside_is_still_a_bad_frame() -> None:
    """Seen on riscv64: `A` + an `IRQ: timer` record + `XH:BADFRAME`; the slice then waited
    for the 30 s watchdog."""
    console = bytearray(_record("Hypercall [0x41584803] failed") + b"A"
                        + _record("IRQ: timer") + b"XH:BADFRAME\r\n")
    assert SliceWatch(0, 3)(console, 0) == "badframe"


def test_the_ram_file_leaves_a_small_or_missing_tmpfs_for_the_temp_directory(
        tmp_path: Path) -> None:
    from harness.persist.mailbox import ram_directory

    free = shutil.disk_usage(tmp_path).free
    assert ram_directory(tmp_path, headroom=1) == tmp_path
    assert ram_directory(tmp_path, headroom=free * 4) == Path(tempfile.gettempdir())
    assert ram_directory(tmp_path / "absent") == Path(tempfile.gettempdir())


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs a tmpfs at /dev/shm")
def test_finding_the_mailbox_reads_only_the_data_of_the_sparse_ram_file() -> None:
    """The 0.8 line's guest RAM lies high in the file: a search through the mapping's holes
    gave each of them a page of tmpfs (2 GiB read in 3.8 s)."""
    loader = Loader(b"", 0xF000, 0x80A0_2000, 1)  # two slots of one page each
    box = Mailbox("256M", loader, Path("/dev/shm"))
    with box.path.open("r+b") as f:
        f.truncate(256 << 20)
        for i, off in enumerate((200 << 20, (200 << 20) + PAGE)):
            f.seek(off)
            f.write(struct.pack("<Q", MAGIC ^ i))
    seen = Path("/dev/shm") / (box.path.name + "-seen")
    os.link(box.path, seen)
    try:
        assert box.locate() == (200 << 20, (200 << 20) + PAGE)
        assert os.stat(seen).st_blocks * 512 < (16 << 20)  # the holes stayed holes
    finally:
        box.close()
        seen.unlink()
