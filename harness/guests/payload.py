"""Scenario payloads: emitted per architecture, assembled at the image's payload address,
and written into a per-run copy of the image (the runtime's hole, found by its magic).

Patching a copy instead of rebuilding axvisor makes a scenario cost one boot, not one build.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from harness.errors import UsageError
from harness.guests import emit_aarch64, emit_riscv64, emit_x86_64
from harness.guests.asm_cache import assemble_cached
from harness.guests.binutils import Assembled, assemble_with_symbols
from harness.guests.sites import EmittedPayload, TrapSite
from harness.images.build import Image
from harness.scenarios.actions import Action

Emitter = Callable[[tuple[Action, ...], str], EmittedPayload]

EMITTERS: dict[str, Emitter] = {
    "aarch64": lambda actions, backend: emit_aarch64.emit_payload(actions),
    "riscv64": lambda actions, backend: emit_riscv64.emit_payload(actions),
    "x86_64": emit_x86_64.emit_payload,
}
RUNTIME_SITES: dict[str, tuple[TrapSite, ...]] = {"aarch64": emit_aarch64.RUNTIME_SITES,
                                                  "riscv64": emit_riscv64.RUNTIME_SITES,
                                                  "x86_64": emit_x86_64.RUNTIME_SITES}


@dataclass(frozen=True, slots=True)
class ResolvedTrap:
    """A trap site with the instruction bytes the assembler actually produced."""

    site: TrapSite
    insn: bytes


@dataclass(frozen=True, slots=True)
class BuiltPayload:
    asm: str
    code: bytes
    traps: tuple[ResolvedTrap, ...]  # payload traps, then the runtime's, in execution order


def _resolve(assembled: Assembled, sites: tuple[TrapSite, ...], what: str) -> list[ResolvedTrap]:
    out = []
    for site in sites:
        try:
            start, end = assembled.symbols[site.label], assembled.symbols[site.label + "_end"]
        except KeyError:
            raise UsageError(f"{what}: trap label {site.label} (or its _end) missing") from None
        off = start - assembled.base
        if site.symbolic:
            try:
                regs = dict(site.gprs) | {r: assembled.symbols[s] for r, s in site.symbolic}
            except KeyError as exc:
                raise UsageError(f"{what}: label {exc} (a register value) missing") from None
            site = replace(site, gprs=tuple(sorted(regs.items())), symbolic=())
        out.append(ResolvedTrap(site, assembled.code[off: off + (end - start)]))
    return out


@functools.lru_cache(maxsize=16)
def _assembled_runtime(arch: str, source: Path, mtime_ns: int, base: int) -> Assembled:
    """The runtime's symbols (for its own trap sites); reassembled only when the file changes."""
    return assemble_with_symbols(arch, source, base, name="runtime")


def payload_cache_dir(image: Image) -> Path | None:
    """`<cache>/payloads` beside `<cache>/images/<key>` for an image of the image cache; None
    (no caching) for an image anywhere else (a test's, a case directory's)."""
    if image.dir.parent.name != "images":
        return None
    return image.dir.parent.parent / "payloads"


def emitter_for(arch: str) -> Emitter:
    try:
        return EMITTERS[arch]
    except KeyError:
        raise UsageError(f"no payload emitter for {arch} yet") from None


def build_payload(image: Image, actions: tuple[Action, ...], runtime_source: Path,
                  runtime_base: int, backend: str = "") -> BuiltPayload:
    emitted = emitter_for(image.arch)(actions, backend)
    assembled = assemble_cached(image.arch, emitted.asm, image.payload_base,
                                payload_cache_dir(image))
    if len(assembled.code) > image.payload_capacity:
        raise UsageError(f"payload is {len(assembled.code)} bytes, the hole holds "
                         f"{image.payload_capacity}")
    runtime = _assembled_runtime(image.arch, runtime_source, runtime_source.stat().st_mtime_ns,
                                 runtime_base)
    traps = _resolve(assembled, emitted.sites, "payload") + _resolve(
        runtime, RUNTIME_SITES[image.arch], str(runtime_source))
    return BuiltPayload(emitted.asm, assembled.code, tuple(traps))


def patch_image(image: Image, payload: BuiltPayload, dest: Path) -> str:
    """Write a copy of the image with the payload in its hole; return the copy's sha256.
    `dest` is replaced, never written through: it may be a hard link to something else.
    One read into one buffer and one write (half the time of read_bytes + bytes copies; ext4
    here has no reflink, so a full copy it is: 1.5 ms for 1.5 MB)."""
    data = bytearray(image.kernel.stat().st_size)
    with image.kernel.open("rb", buffering=0) as f:
        if f.readinto(data) != len(data):
            raise UsageError(f"{image.kernel}: changed size while being read")
    magic = image.payload_offset - 24
    if data[magic: magic + 16] != b"AXH-PAYLOAD-AREA":
        raise UsageError(f"{image.kernel}: payload marker not at the recorded offset")
    end = image.payload_offset + len(payload.code)
    data[image.payload_offset: end] = payload.code
    dest.unlink(missing_ok=True)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as out:  # buffered: writes every byte
        out.write(data)
    return hashlib.sha256(data).hexdigest()
