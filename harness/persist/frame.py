"""The frames the harness types to the persistent-mode loader, and the loader's markers.

A frame is text, `AXH1 <len: 8 hex> <crc32: 8 hex> <code as lowercase hex>\\n`: QEMU's
`-serial stdio` keeps ISIG on, so a raw 0x03 byte would be a SIGINT to QEMU, not data.
The CRC is zlib's CRC-32 (IEEE, reflected), which the loaders compute bit by bit.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

MAGIC = b"AXH1"
NR_START = 0x4158_4801  # the loader's boundary hypercalls (guest-src/*/loader.S)
NR_END = 0x4158_4802
NR_BAD = 0x4158_4803  # made before AXH:BADFRAME is printed
NR_READY = 0x4158_4804  # the text-free loader's one "ready" (lines whose guest UART is emulated)
READY = re.compile(rb"AXH:READY ([0-9a-f]{8})\r?\n")
DONE = re.compile(rb"AXH:DONE ([0-9a-f]{8})\r?\n")
BADFRAME = b"AXH:BADFRAME"


@dataclass(frozen=True, slots=True)
class Frame:
    code: bytes
    crc: int

    @property
    def wire(self) -> bytes:
        return b"%s %08x %08x %s\n" % (MAGIC, len(self.code), self.crc, self.code.hex().encode())


def crc32(code: bytes) -> int:
    return zlib.crc32(code) & 0xFFFF_FFFF


def encode(code: bytes) -> Frame:
    """The frame of one program; an empty program or one over 32 bits of length is refused
    (the loader would answer BADFRAME)."""
    if not code or len(code) > 0xFFFF_FFFF:
        raise ValueError(f"a frame carries 1..2^32-1 bytes, not {len(code)}")
    return Frame(code, crc32(code))


def decode(wire: bytes) -> bytes:
    """What the loader accepts (the reference for the tests): the program, or ValueError
    where the loader prints BADFRAME."""
    m = re.fullmatch(rb"AXH1 ([0-9a-f]{8}) ([0-9a-f]{8}) ((?:[0-9a-f]{2})*)\n", wire)
    if m is None:
        raise ValueError("not a frame")
    length, crc, code = int(m[1], 16), int(m[2], 16), bytes.fromhex(m[3].decode())
    if length == 0 or length != len(code):
        raise ValueError(f"length {length} for {len(code)} bytes")
    if crc32(code) != crc:
        raise ValueError("CRC mismatch")
    return code


def loader_record(nr: int, n: int | None = None) -> re.Pattern[bytes]:
    """One of the loader's hypercalls as the 0.8 line's synchronous exit log writes it
    (`AXH-EXIT vm=.. vcpu=.. Hypercall {` + `nr:` + `args: [` one per line, `{:#x?}`), with
    first argument `n` when given, through the line of its closing brace."""
    first = rb"[ ]+0x%x,\r?\n" % n if n is not None else b""
    return re.compile(rb"AXH-EXIT vm=\d+ vcpu=\d+ Hypercall \{\r?\n[ ]+nr: 0x%x,\r?\n"
                      rb"[ ]+args: \[\r?\n%s[^}]*\}\r?\n" % (nr, first))


def marker_number(pattern: re.Pattern[bytes], console: bytes | bytearray, start: int
                  ) -> tuple[int, int, int] | None:
    """(n, start offset, end offset) of the first `pattern` marker at or after `start`."""
    m = pattern.search(console, start)
    return None if m is None else (int(m[1], 16), m.start(), m.end())
