"""Assemble snippets with Debian's cross binutils, so tests can derive expected encodings
independently of the decoders under test."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from harness.model.values import ModelError

_TOOLS = {
    "aarch64": ("aarch64-linux-gnu-as", "aarch64-linux-gnu-objcopy", ()),
    "riscv64": ("riscv64-linux-gnu-as", "riscv64-linux-gnu-objcopy", ("-march=rv64gc",)),
    "x86_64": ("x86_64-linux-gnu-as", "x86_64-linux-gnu-objcopy", ()),
}


def missing_tools(arch: str) -> str | None:
    """Why `assemble(arch, ...)` cannot run here, or None if it can."""
    as_, objcopy, _ = _TOOLS[arch]
    for tool in (as_, objcopy):
        if shutil.which(tool) is None:
            return f"{tool} not installed (Debian package binutils-{as_.rsplit('-', 1)[0]})"
    return None


@lru_cache(maxsize=1024)
def assemble(arch: str, source: str) -> bytes:
    """Machine code of `source` (one or more lines) as the .text section's raw bytes."""
    reason = missing_tools(arch)
    if reason:
        raise ModelError(reason)
    as_, objcopy, flags = _TOOLS[arch]
    with tempfile.TemporaryDirectory(prefix="axh-asm-") as tmp:
        obj, raw = Path(tmp, "a.o"), Path(tmp, "a.bin")
        run = subprocess.run(
            [as_, *flags, "-o", str(obj), "-"],
            input=".text\n" + source + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise ModelError(f"{as_} rejected {source!r}: {run.stderr.strip()}")
        subprocess.run([objcopy, "-O", "binary", "-j", ".text", str(obj), str(raw)], check=True)
        return raw.read_bytes()
