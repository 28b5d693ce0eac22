"""Files a user names, read as text or JSON: every problem is one UsageError naming the file
(and line and column where there is one), never a UnicodeDecodeError or RecursionError
traceback from a binary file or a deeply nested document.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness.errors import UsageError

# Deeper than any file the harness writes (results, manifests, programs nest a handful of
# levels) and far below where the json module runs out of stack.
MAX_JSON_DEPTH = 200
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def read_text(path: Path) -> str:
    """The file as UTF-8 text; unreadable or not UTF-8 → UsageError naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UsageError(f"{path}:{line}:{col}: not UTF-8 text (byte 0x{data[exc.start]:02x});"
                         " a binary file?") from None


def _line_col(text: str, pos: int) -> tuple[int, int]:
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def parse_json(text: str, where: str | Path, line: int = 1) -> Any:
    """json.loads with errors as `where:LINE:COL: …` (`line`: where `text` starts in the
    file, for one line of a JSON Lines file)."""
    depth = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                ln, col = _line_col(text, m.start())
                raise UsageError(f"{where}:{line + ln - 1}:{col}: JSON nested deeper than "
                                 f"{MAX_JSON_DEPTH} levels")
        elif tok in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}:{line + exc.lineno - 1}:{exc.colno}: not valid JSON: "
                         f"{exc.msg}") from None


def read_json(path: Path) -> Any:
    return parse_json(read_text(path), path)
