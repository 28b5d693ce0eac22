"""A Linux initramfs as the kernel unpacks it: a cpio archive in the "newc" format
(Documentation/driver-api/early-userspace/buffer-format.rst), written in Python.

Written here rather than by cpio(1) so that it needs no root (device nodes are just headers)
and so that the same entries always give the same bytes (inode numbers from the order, mtime
0): the image's cache key hashes the archive.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

TRAILER = "TRAILER!!!"


@dataclass(frozen=True, slots=True)
class Entry:
    """One archive member. `path` without a leading slash; `data` is a file's contents or a
    symlink's target; `rdev` (major, minor) for a device node."""

    path: str
    mode: int  # file type and permission bits (stat.S_IFREG | 0o755, ...)
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def directory(path: str) -> Entry:
    return Entry(path, stat.S_IFDIR | 0o755)


def file(path: str, data: bytes, perm: int = 0o644) -> Entry:
    return Entry(path, stat.S_IFREG | perm, data)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, stat.S_IFLNK | 0o777, target.encode())


def char_device(path: str, major: int, minor: int, perm: int = 0o600) -> Entry:
    return Entry(path, stat.S_IFCHR | perm, rdev=(major, minor))


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _member(ino: int, entry: Entry, name: str) -> bytes:
    fields = (ino, entry.mode, 0, 0, 2 if stat.S_ISDIR(entry.mode) else 1, 0, len(entry.data),
              0, 0, entry.rdev[0], entry.rdev[1], len(name) + 1, 0)
    head = b"070701" + b"".join(f"{f:08x}".encode() for f in fields) + name.encode() + b"\0"
    return head + _pad4(len(head)) + entry.data + _pad4(len(entry.data))


def archive(entries: list[Entry]) -> bytes:
    """The newc archive of `entries` in order (a directory before what it holds), with its
    trailer; owner root, mtime 0."""
    seen: set[str] = set()
    out = bytearray()
    for ino, entry in enumerate(entries, 1):
        if entry.path.startswith("/") or not entry.path or entry.path in seen:
            raise ValueError(f"initramfs entry {entry.path!r}: empty, absolute or repeated")
        parent = entry.path.rpartition("/")[0]
        if parent and parent not in seen:
            raise ValueError(f"initramfs entry {entry.path!r} comes before its directory")
        seen.add(entry.path)
        out += _member(ino, entry, entry.path)
    out += _member(0, Entry(TRAILER, 0), TRAILER)
    return bytes(out)
