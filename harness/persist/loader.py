"""The persistent-mode loader (guest-src/<arch>/loader.S) assembled for an image's payload
hole: the hole's first word branches to the loader near its top; programs are written below
it, at the hole's own address, so they are assembled exactly like standalone payloads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.guests.asm_cache import assemble_cached
from harness.guests.payload import payload_cache_dir
from harness.images.build import Image

LOADER_SPACE = 0x1000  # the top 4 KiB of the hole: code, strings, state
# The mailbox the harness writes frames to: 8 MiB above the hole, inside the 16 MiB guest
# memory region of every persistable image (images/vm-configs/*.toml), page aligned.
MAILBOX_OFFSET = 0x80_0000
HEADER = 32  # tag, seq, length, crc (u64 each); the program follows
PAGE = 0x1000
SLOTS = 2  # program n sits in slot n % SLOTS: the next one is queued while this one runs
ARCHES = ("aarch64", "riscv64")


@dataclass(frozen=True, slots=True)
class Loader:
    code: bytes  # the whole hole's content: branch, zeros, loader
    program_max: int  # programs must be at most this long (they sit below the loader)
    mailbox: int  # guest-physical address of the mailbox
    pages: int  # the length of one of its SLOTS slots, in pages

    @property
    def capacity(self) -> int:
        return self.pages * PAGE - HEADER

    @property
    def all_pages(self) -> int:
        return self.pages * SLOTS


def loader_source(runtime_source: Path) -> Path:
    return runtime_source.parent / "loader.S"


def build_loader(image: Image, runtime_source: Path, *, text: bool = True) -> Loader:
    """`text`: whether the loader prints its markers; not where the guest UART is emulated
    (axvisor 0.8: every character would be exits inside a program's stream)."""
    if image.arch not in ARCHES:
        raise UsageError(f"no persistent-mode loader for {image.arch}")
    src = loader_source(runtime_source)
    if not src.is_file():
        raise UsageError(f"{src}: no persistent-mode loader beside the runtime")
    offset = image.payload_capacity - LOADER_SPACE
    mailbox = (image.payload_base + MAILBOX_OFFSET) & ~(PAGE - 1)
    pages = (HEADER + offset + PAGE - 1) // PAGE
    asm = (f".equ PROGRAM_BASE, 0x{image.payload_base:x}\n"
           f".equ LOADER_OFFSET, 0x{offset:x}\n"
           f".equ MAILBOX, 0x{mailbox:x}\n"
           f".equ MAILBOX_PAGES, {pages * SLOTS}\n"
           f".equ SLOT_BYTES, 0x{pages * PAGE:x}\n"
           f".equ LOADER_TEXT, {int(text)}\n") + src.read_text()
    assembled = assemble_cached(image.arch, asm, image.payload_base, payload_cache_dir(image),
                                name="loader")
    if len(assembled.code) > image.payload_capacity:
        raise UsageError(f"{src}: the loader ends {len(assembled.code) - offset} bytes into "
                         f"its {LOADER_SPACE}-byte space, past the hole")
    return Loader(assembled.code, offset, mailbox, pages)
