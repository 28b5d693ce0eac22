"""The payload cache: a hit starts no binutils process and gives back exactly what assembling
gave; anything else about the code or the tools is a miss; a damaged entry is a miss that is
rewritten; processes writing one entry at once all get the right bytes and leave no debris."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.guests import asm_cache
from harness.guests.binutils import assemble_with_symbols
from harness.guests.payload import payload_cache_dir
from harness.images.build import Image

ASM = ".globl _start\n_start: nop\nmark: hvc #0\nmark_end:\n"
BASE = 0x8020_1000


def _no_binutils(*args: Any, **kw: Any) -> Any:
    raise AssertionError("binutils ran on a cache hit")


def test_a_hit_starts_no_binutils_and_returns_the_same_code_and_symbols(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = asm_cache.assemble_cached("aarch64", ASM, BASE, tmp_path)
    assert first == assemble_with_symbols("aarch64", ASM, BASE)
    monkeypatch.setattr(asm_cache, "assemble_with_symbols", _no_binutils)
    again = asm_cache.assemble_cached("aarch64", ASM, BASE, tmp_path)
    assert again == first and again.symbols["mark"] == BASE + 4


@pytest.mark.parametrize("change", ["asm", "base", "tool"])
def test_other_code_address_or_binutils_is_a_miss(tmp_path: Path, change: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    asm_cache.assemble_cached("aarch64", ASM, BASE, tmp_path)
    asm, base = ASM, BASE
    if change == "asm":
        asm = ASM.replace("hvc #0", "hvc #1")
    elif change == "base":
        base = BASE + 0x1000
    else:
        real = asm_cache._tool_identity
        monkeypatch.setattr(asm_cache, "_tool_identity", lambda p: real(p) + ":upgraded")
    calls: list[int] = []

    def counting(*a: Any, **kw: Any) -> Any:
        calls.append(1)
        return assemble_with_symbols(*a, **kw)

    monkeypatch.setattr(asm_cache, "assemble_with_symbols", counting)
    got = asm_cache.assemble_cached("aarch64", asm, base, tmp_path)
    assert calls == [1] and got == assemble_with_symbols("aarch64", asm, base)


def _entry(cache: Path) -> Path:
    (entry,) = cache.glob("*/*.json")
    return entry


@pytest.mark.parametrize("damage", ["truncated", "other-code", "not-json"])
def test_a_damaged_entry_is_a_miss_and_is_rewritten(tmp_path: Path, damage: str) -> None:
    good = asm_cache.assemble_cached("aarch64", ASM, BASE, tmp_path)
    entry = _entry(tmp_path)
    text = entry.read_text()
    if damage == "truncated":
        entry.write_text(text[: len(text) // 2])
    elif damage == "other-code":
        data = json.loads(text)
        data["code"] = "AAAAAA=="
        entry.write_text(json.dumps(data))
    else:
        entry.write_bytes(b"\xff\x00")
    assert asm_cache.assemble_cached("aarch64", ASM, BASE, tmp_path) == good
    assert entry.read_text() == text


def test_the_cache_is_off_without_a_directory_or_with_the_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asm_cache.assemble_cached("aarch64", ASM, BASE, None)
    monkeypatch.setenv(asm_cache.ENV_VAR, "0")
    asm_cache.assemble_cached("aarch64", ASM, BASE, tmp_path)
    assert not any(tmp_path.iterdir())


_WORKER = f"""
import sys
from pathlib import Path
from harness.guests.asm_cache import assemble_cached
asm, cache, BASE = sys.argv[1], Path(sys.argv[2]), {BASE}
for _ in range(5):
    a = assemble_cached("aarch64", asm, BASE, cache)
    sys.stdout.write(a.code.hex() + " " + str(sorted(a.symbols.items())) + "\\n")
"""


def test_processes_filling_one_entry_at_once_all_get_the_right_bytes(tmp_path: Path) -> None:
    asms = [ASM, ASM.replace("#0", "#1")]
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, asms[i % 2], str(tmp_path)],
                              stdout=subprocess.PIPE, text=True) for i in range(6)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    for i, out in enumerate(outs):
        want = assemble_with_symbols("aarch64", asms[i % 2], BASE)
        line = want.code.hex() + " " + str(sorted(want.symbols.items()))
        assert out.splitlines() == [line] * 5
    assert sorted(p.suffix for p in tmp_path.rglob("*") if p.is_file()) == [".json", ".json"]


def _image(d: Path) -> Image:
    return Image("r", "aarch64", "k", d, d / "axvisor.bin", d / "axvisor.elf", "v", "0.2.2",
                 "p", 0, 0, BASE)


def test_payloads_are_cached_beside_the_image_cache_and_nowhere_else(tmp_path: Path) -> None:
    assert payload_cache_dir(_image(tmp_path / "images" / "abc")) == tmp_path / "payloads"
    assert payload_cache_dir(_image(tmp_path / "case")) is None
