"""Assembled payloads cached by content, so a case whose code was assembled before (a re-run,
a benchmark, the same fuzz program) starts no binutils process.

The key is the architecture, link address, assembler flags, the emitted assembly text and the
identity of the assembler and linker binaries (resolved path, size, mtime: any binutils
upgrade changes it). Entries are single JSON files published with os.replace, so concurrent
writers (suite workers, two runs sharing the cache) never expose a partial one; an entry that
does not read back as expected is a miss and is rewritten. $AXH_PAYLOAD_CACHE=0 turns it off.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

from harness.guests.binutils import Assembled, assemble_with_symbols, assembler_flags, binutils_for

FORMAT = 1
ENV_VAR = "AXH_PAYLOAD_CACHE"


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "1") != "0"


@functools.cache
def _tool_identity(path: str) -> str:
    real = os.path.realpath(path)
    st = os.stat(real)
    return f"{real}:{st.st_size}:{st.st_mtime_ns}"


def cache_key(arch: str, asm: str, base: int) -> str:
    bu = binutils_for(arch)
    ident = {"format": FORMAT, "arch": arch, "base": base, "flags": assembler_flags(arch),
             "as": _tool_identity(bu.as_), "ld": _tool_identity(bu.ld), "asm": asm}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def _read(path: Path, key: str, base: int) -> Assembled | None:
    try:
        entry = json.loads(path.read_bytes())
        if entry["key"] != key or entry["base"] != base:
            return None
        code = base64.b64decode(entry["code"], validate=True)
        if hashlib.sha256(code).hexdigest() != entry["code_sha256"]:
            return None
        symbols = {str(k): int(v) for k, v in entry["symbols"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return Assembled(code, base, symbols)


def _write(path: Path, key: str, assembled: Assembled) -> None:
    entry = {"key": key, "base": assembled.base,
             "code": base64.b64encode(assembled.code).decode(),
             "code_sha256": hashlib.sha256(assembled.code).hexdigest(),
             "symbols": assembled.symbols}
    with contextlib.suppress(OSError):  # a read-only or full cache costs speed, not the case
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(json.dumps(entry).encode())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def assemble_cached(arch: str, asm: str, base: int, cache_dir: Path | None, *,
                    name: str = "payload") -> Assembled:
    """assemble_with_symbols, read from `cache_dir` when this exact code was assembled
    before with these binutils (no cache when `cache_dir` is None or the cache is off)."""
    if cache_dir is None or not enabled():
        return assemble_with_symbols(arch, asm, base, name=name)
    key = cache_key(arch, asm, base)
    path = cache_dir / key[:2] / f"{key}.json"
    hit = _read(path, key, base)
    if hit is not None:
        return hit
    assembled = assemble_with_symbols(arch, asm, base, name=name)
    _write(path, key, assembled)
    return assembled
