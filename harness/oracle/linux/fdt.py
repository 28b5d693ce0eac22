"""Flattened device tree blobs (devicetree specification v0.4, chapter 5): read one into a tree
of nodes and write a tree back, in pure Python.

The Linux guest's DTB is QEMU's own `virt` DTB reduced to what the guest gets
(harness.oracle.linux.prepare), so only reading, editing and writing are needed; no DTS
compiler. Property values stay raw bytes (big-endian cells, NUL-terminated strings); `cells`
and `string` decode the two common forms.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

MAGIC = 0xD00DFEED
BEGIN_NODE, END_NODE, PROP, NOP, END = 1, 2, 3, 4, 9
_HEADER = struct.Struct(">10I")
VERSION, LAST_COMPATIBLE = 17, 16


class FdtError(ValueError):
    """Not a well-formed device tree blob; the message names the byte offset."""


@dataclass(frozen=True, slots=True)
class Node:
    name: str  # "" for the root
    props: tuple[tuple[str, bytes], ...] = ()
    children: tuple[Node, ...] = field(default=())

    def prop(self, name: str) -> bytes | None:
        return next((v for k, v in self.props if k == name), None)

    def child(self, name: str) -> Node | None:
        return next((c for c in self.children if c.name == name), None)

    def with_prop(self, name: str, value: bytes) -> Node:
        """This node with `name` set to `value` (replaced in place, else appended)."""
        if self.prop(name) is None:
            return replace(self, props=(*self.props, (name, value)))
        return replace(self, props=tuple((k, value if k == name else v)
                                         for k, v in self.props))

    def without_props(self, names: Iterable[str]) -> Node:
        drop = set(names)
        return replace(self, props=tuple((k, v) for k, v in self.props if k not in drop))


def cells(value: bytes) -> tuple[int, ...]:
    """A property of 32-bit big-endian cells."""
    if len(value) % 4:
        raise FdtError(f"a cell list of {len(value)} bytes is not a multiple of 4")
    return struct.unpack(f">{len(value) // 4}I", value)


def string(value: bytes) -> str:
    """A property holding one NUL-terminated string."""
    return value.rstrip(b"\0").decode()


def encode_string(text: str) -> bytes:
    return text.encode() + b"\0"


def encode_cells(*values: int) -> bytes:
    return struct.pack(f">{len(values)}I", *values)


def _align4(n: int) -> int:
    return (n + 3) & ~3


def read(blob: bytes) -> Node:
    """The tree of a DTB (version 16 or 17); FdtError naming the offset otherwise."""
    if len(blob) < _HEADER.size:
        raise FdtError(f"{len(blob)} bytes: shorter than the 40-byte header")
    (magic, total, off_struct, off_strings, _off_rsv, version, _last, _cpu, size_strings,
     size_struct) = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise FdtError(f"offset 0: magic {magic:#x}, not {MAGIC:#x}")
    if total > len(blob) or version < LAST_COMPATIBLE:
        raise FdtError(f"offset 4: totalsize {total} / version {version} do not fit the blob")
    strings = blob[off_strings: off_strings + size_strings]
    pos, end = off_struct, off_struct + size_struct
    stack: list[tuple[str, list[tuple[str, bytes]], list[Node]]] = []
    root: Node | None = None
    while pos < end:
        (token,) = struct.unpack_from(">I", blob, pos)
        at, pos = pos, pos + 4
        if token == BEGIN_NODE:
            stop = blob.index(b"\0", pos)
            stack.append((blob[pos:stop].decode(), [], []))
            pos = _align4(stop + 1)
        elif token == END_NODE:
            if not stack:
                raise FdtError(f"offset {at}: END_NODE without a node")
            name, props, children = stack.pop()
            node = Node(name, tuple(props), tuple(children))
            if stack:
                stack[-1][2].append(node)
            else:
                root = node
        elif token == PROP:
            length, nameoff = struct.unpack_from(">II", blob, pos)
            pos += 8
            if not stack:
                raise FdtError(f"offset {at}: a property outside any node")
            name = strings[nameoff: strings.index(b"\0", nameoff)].decode()
            stack[-1][1].append((name, bytes(blob[pos: pos + length])))
            pos = _align4(pos + length)
        elif token == NOP:
            continue
        elif token == END:
            break
        else:
            raise FdtError(f"offset {at}: unknown token {token:#x}")
    if root is None or stack:
        raise FdtError(f"offset {pos}: the structure block ends inside a node")
    return root


def write(root: Node, *, boot_cpuid: int = 0) -> bytes:
    """The DTB of `root` (version 17, no memory reservations), strings deduplicated in order of
    first use, so the same tree always gives the same bytes."""
    struct_block = bytearray()
    strings = bytearray()
    offsets: dict[str, int] = {}

    def emit(node: Node) -> None:
        name = node.name.encode() + b"\0"
        struct_block.extend(struct.pack(">I", BEGIN_NODE) + name + b"\0" * (-len(name) % 4))
        for key, value in node.props:
            if key not in offsets:
                offsets[key] = len(strings)
                strings.extend(key.encode() + b"\0")
            struct_block.extend(struct.pack(">III", PROP, len(value), offsets[key]) + value
                                + b"\0" * (-len(value) % 4))
        for child in node.children:
            emit(child)
        struct_block.extend(struct.pack(">I", END_NODE))

    emit(root)
    struct_block.extend(struct.pack(">I", END))
    rsvmap = b"\0" * 16  # the terminating (0, 0) entry
    off_rsv = _align4(_HEADER.size)
    off_rsv = (off_rsv + 7) & ~7  # the reservation block is 8-byte aligned
    off_struct = off_rsv + len(rsvmap)
    off_strings = off_struct + len(struct_block)
    total = off_strings + len(strings)
    header = _HEADER.pack(MAGIC, total, off_struct, off_strings, off_rsv, VERSION,
                          LAST_COMPATIBLE, boot_cpuid, len(strings), len(struct_block))
    return header + rsvmap + bytes(struct_block) + bytes(strings)
