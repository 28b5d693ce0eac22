"""The Linux guest's initramfs: cpio "newc" members laid out as the kernel's unpacker reads
them (Documentation/driver-api/early-userspace/buffer-format.rst), deterministic."""

from __future__ import annotations

import stat

import pytest

from harness.oracle.linux import initramfs
from harness.oracle.linux.prepare import initramfs_entries


def _members(blob: bytes) -> list[tuple[dict[str, int], str, bytes]]:
    """Parse newc by the format's own description (110-byte ASCII header, name, data, each
    padded to 4), independently of the writer."""
    out = []
    pos = 0
    names = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize", "devmajor", "devminor",
             "rdevmajor", "rdevminor", "namesize", "check")
    while True:
        assert blob[pos:pos + 6] == b"070701", pos
        fields = {n: int(blob[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i, n in enumerate(names)}
        name_end = pos + 110 + fields["namesize"]
        name = blob[pos + 110: name_end - 1].decode()
        assert blob[name_end - 1] == 0
        data_at = (name_end + 3) & ~3
        data = blob[data_at: data_at + fields["filesize"]]
        pos = (data_at + fields["filesize"] + 3) & ~3
        out.append((fields, name, data))
        if name == "TRAILER!!!":
            assert pos == len(blob)
            return out


def test_members_are_newc_headers_names_and_data_padded_to_four_bytes() -> None:
    blob = initramfs.archive([initramfs.directory("bin"),
                              initramfs.file("bin/tool", b"12345", 0o755),
                              initramfs.symlink("bin/sh", "tool"),
                              initramfs.char_device("console", 5, 1)])
    members = _members(blob)
    assert [m[1] for m in members] == ["bin", "bin/tool", "bin/sh", "console", "TRAILER!!!"]
    (d, _, _), (f, _, data), (ln, _, target), (c, _, _), _ = members
    assert stat.S_ISDIR(d["mode"]) and d["nlink"] == 2
    assert f["mode"] == stat.S_IFREG | 0o755 and data == b"12345" and f["filesize"] == 5
    assert stat.S_ISLNK(ln["mode"]) and target == b"tool"
    assert stat.S_ISCHR(c["mode"]) and (c["rdevmajor"], c["rdevminor"]) == (5, 1)
    assert {m[0]["mtime"] for m in members} == {0} and {m[0]["uid"] for m in members} == {0}
    assert len({m[0]["ino"] for m in members[:-1]}) == 4


def test_the_same_entries_give_the_same_bytes() -> None:
    entries = initramfs_entries(b"\x7fELF busybox", b"#!/bin/sh\n")
    assert initramfs.archive(entries) == initramfs.archive(list(entries))


def test_the_guest_archive_has_init_busybox_and_a_console_for_init_s_output() -> None:
    names = {m[1]: m[0] for m in _members(initramfs.archive(initramfs_entries(b"bb", b"ini")))}
    assert names["init"]["mode"] == stat.S_IFREG | 0o755
    assert (names["dev/console"]["rdevmajor"], names["dev/console"]["rdevminor"]) == (5, 1)
    assert stat.S_ISLNK(names["bin/sh"]["mode"])


@pytest.mark.parametrize("entries", [
    [initramfs.file("bin/x", b"")],  # before its directory
    [initramfs.file("/init", b"")],  # absolute
    [initramfs.file("init", b""), initramfs.file("init", b"")],  # repeated
])
def test_entries_the_unpacker_would_misplace_are_refused(entries: list[initramfs.Entry]) -> None:
    with pytest.raises(ValueError, match="initramfs entry"):
        initramfs.archive(entries)
