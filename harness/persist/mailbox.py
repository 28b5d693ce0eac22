"""The harness's end of the persistent-mode mailbox: guest RAM in a shared file.

Through the UART a frame costs ~60 µs per byte here: QEMU refills the receive FIFO by one byte
per main-loop turn while the guest reads, so a 1 KiB program took 60-90 ms, as long as the
program itself. QEMU can instead back the machine's RAM with a file (`memory-backend-file,
share=on`); the harness maps it and writes each frame straight into guest memory. axvisor maps
the guest's memory wherever its allocator put it (map_type 0), so the loader tags each page of
its mailbox (the tag is computed at run time, so the image never holds it) and the harness
finds the pages by their tags, once per boot. The seq word is written last: the loader waits
for it, copies the program with its own stores (QEMU then drops stale translations of that
code) and checks the length and CRC (AXH:BADFRAME otherwise). Program n goes to slot n % 2:
the harness queues the next program while the loader runs this one.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import struct
import tempfile
from pathlib import Path

from harness.errors import InfraError
from harness.persist.frame import Frame
from harness.persist.loader import PAGE, SLOTS, Loader

MAGIC = 0x3158_4F42_4D48_5841  # "AXHMBOX1" little-endian; the loader stores it (and ^ page)
ONESHOT = 1 << 63  # in a frame's length word: return to the runtime after the program
SIZES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def ram_bytes(memory: str) -> int:
    """QEMU's `-m` value (e.g. "2G") in bytes."""
    unit = SIZES.get(memory[-1:].upper())
    return int(memory[:-1]) * unit if unit else int(memory) << 20


# What one boot's RAM file may take in tmpfs: axvisor touches ~40 MB of a 2 GiB guest RAM
# here, and a full tmpfs makes QEMU die of SIGBUS on its next new page. A small /dev/shm (a
# container's default is 64 MB) gets the file on disk instead (the page cache keeps it fast).
SHM_HEADROOM = 512 << 20


def ram_directory(preferred: Path = Path("/dev/shm"), headroom: int = SHM_HEADROOM) -> Path:
    """`preferred` if it is a directory with `headroom` bytes free, else the temp directory."""
    try:
        st = os.statvfs(preferred)
    except OSError:
        return Path(tempfile.gettempdir())
    if st.f_bavail * st.f_frsize < headroom:
        return Path(tempfile.gettempdir())
    return preferred


def data_extents(fd: int, size: int) -> list[tuple[int, int]]:
    """The (start, end) offsets of the data in a sparse file (SEEK_DATA / SEEK_HOLE); the
    whole file where the file system cannot tell."""
    out: list[tuple[int, int]] = []
    pos = 0
    try:
        while pos < size:
            start = os.lseek(fd, pos, os.SEEK_DATA)
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
            out.append((start, end))
            pos = end
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: no data after pos
            return [(0, size)]
    return out


def sparse_copy(src: int, dst: int, size: int) -> None:
    """The data extents of `src` into `dst` at the same offsets; `dst` sized `size`, its
    holes left holes (a RAM file is ≈ 40 MB of data in 2 GiB)."""
    os.truncate(dst, size)
    for start, end in data_extents(src, size):
        pos = start
        while pos < end:
            done = os.copy_file_range(src, dst, end - pos, pos, pos)
            if done == 0:
                raise OSError(f"copy_file_range copied nothing at {pos:#x}")
            pos += done


class Mailbox:
    """A RAM file for one boot: the QEMU arguments that use it, then the mailbox in it."""

    def __init__(self, memory: str, loader: Loader, directory: Path | None = None) -> None:
        self.size = ram_bytes(memory)
        self.loader = loader
        where = directory if directory is not None else ram_directory()
        try:
            fd, path = tempfile.mkstemp(prefix="axh-ram-", dir=where)
        except OSError as exc:  # a full disk, no descriptors left: the host's, not a bug
            raise InfraError(f"cannot create a RAM file in {where}: {exc}") from exc
        os.close(fd)
        self.path = Path(path)
        self._map: mmap.mmap | None = None
        self._fd = -1
        self._pages: tuple[int, ...] = ()

    def qemu_args(self) -> tuple[str, ...]:
        return ("-object", f"memory-backend-file,id=axh-ram,size={self.size},"
                           f"mem-path={self.path},share=on",
                "-machine", "memory-backend=axh-ram")

    @classmethod
    def copy_of(cls, memory: str, loader: Loader, ram_fd: int, pages: tuple[int, ...]
                ) -> Mailbox:
        """A new RAM file holding the data of the file open as `ram_fd` (a snapshot's guest
        memory; its holes stay holes), with the mailbox at `pages` as located in the VM the
        snapshot was taken of."""
        box = cls(memory, loader)
        try:
            with open(box.path, "r+b") as dst:
                sparse_copy(ram_fd, dst.fileno(), box.size)
        except OSError as exc:
            box.close()
            raise InfraError(f"copying a snapshot's guest memory to {box.path}: {exc}") from exc
        box._pages = pages
        return box

    def open(self) -> None:
        """Map the file (QEMU has it open by now) and remove its name: QEMU and this mapping
        keep the memory, and nothing is left in /dev/shm whatever happens to either process."""
        if self._map is None:
            self._fd = os.open(self.path, os.O_RDWR)
            self._map = mmap.mmap(self._fd, 0)
            self.path.unlink(missing_ok=True)

    @property
    def pages(self) -> tuple[int, ...]:
        """The mailbox pages' offsets in the RAM file, once located."""
        return self._pages

    def save(self) -> int:
        """A sparse copy of the guest's memory as it is now (the vCPUs stopped), in a file
        that has no name (nothing is left behind whatever happens to this process): its
        descriptor, for `copy_of`; the caller closes it."""
        self.open()
        try:
            fd, path = tempfile.mkstemp(prefix="axh-snap-", dir=self.path.parent)
        except OSError as exc:
            raise InfraError(f"saving the guest's memory: {exc}") from exc
        os.unlink(path)
        try:
            sparse_copy(self._fd, fd, self.size)
        except OSError as exc:
            os.close(fd)
            raise InfraError(f"saving the guest's memory: {exc}") from exc
        return fd

    def locate(self, hint: tuple[int, ...] = ()) -> tuple[int, ...]:
        """The file offset of each mailbox page (after the loader's AXH:READY 0); `hint`: the
        offsets of an earlier boot of the same image, checked first (axvisor's allocator is
        deterministic, so a search of the whole file is needed once per image)."""
        self.open()
        mm = self._map
        assert mm is not None
        pages: list[int] = []
        for i in range(self.loader.all_pages):
            tag = struct.pack("<Q", MAGIC ^ i)
            guess = hint[i] if i < len(hint) else (pages[-1] + PAGE if pages else -1)
            if guess >= 0 and mm[guess: guess + 8] == tag:
                pages.append(guess)
                continue
            at = self._find(tag)
            if at < 0:
                raise InfraError(f"{self.path}: mailbox page {i} not found in guest RAM "
                                 "(the loader did not start, or axvisor mapped the guest "
                                 "elsewhere than this RAM file)")
            pages.append(at)
        self._pages = tuple(pages)
        return self._pages

    def _find(self, tag: bytes) -> int:
        """The first page-aligned offset holding `tag`, in the file's data only: the RAM file
        is sparse (axvisor touches ≈ 40 MB of 2 GiB) and reading a hole through the mapping
        would give it a page of its own (a search of the 0.8 line's RAM read 2 GiB in 3.8 s)."""
        assert self._map is not None
        for start, end in data_extents(self._fd, len(self._map)):
            at = self._map.find(tag, start, end)
            while at >= 0 and at % PAGE:
                at = self._map.find(tag, at + 1, end)
            if at >= 0:
                return at
        return -1

    def write(self, frame: Frame, seq: int, *, oneshot: bool = False) -> None:
        """The frame's length, CRC and code, then `seq` (the loader's program number), in
        slot seq % SLOTS. The caller knows program seq - SLOTS is done (its slot is free).
        `oneshot`: the loader returns to the runtime after this program (bit 63 of the
        length word)."""
        if self._pages:
            self.open()
        if self._map is None or not self._pages:
            raise InfraError("the mailbox was not located")
        if len(frame.code) > self.loader.capacity:
            raise InfraError(f"a {len(frame.code)}-byte program does not fit the mailbox")
        data = struct.pack("<QQ", len(frame.code) | (ONESHOT if oneshot else 0),
                           frame.crc) + frame.code
        first = (seq % SLOTS) * self.loader.pages
        pos = 16
        while data:
            page, off = divmod(pos, PAGE)
            n = min(len(data), PAGE - off)
            at = self._pages[first + page] + off
            self._map[at: at + n] = data[:n]
            data, pos = data[n:], pos + n
        at = self._pages[first] + 8
        self._map[at: at + 8] = struct.pack("<Q", seq)

    def close(self) -> None:
        if self._map is not None:
            with contextlib.suppress(BufferError):
                self._map.close()
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.path.unlink(missing_ok=True)


