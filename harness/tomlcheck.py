"""Line numbers for TOML values, so a checker can say `file:line: expected …`.

tomllib gives values without positions. `Locations` scans the (already valid) text once and
records the line where every key, array element and inline-table entry starts, addressed by
its path from the document root: `("scenario", 3, "actions", 1, "addr")` is the `addr` of the
second action of the fourth `[[scenario]]`. It is a locator, not a parser: tomllib has
already rejected malformed text, so the scanner only follows the structure.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.errors import UsageError

Path_ = tuple[str | int, ...]
_BARE = re.compile(r"[A-Za-z0-9_-]+")


class Locations:
    """Where each value of one TOML document starts (1-based lines)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._line = 1
        self.lines: dict[Path_, int] = {}
        self._tables: dict[Path_, int] = {}  # array-of-tables path -> elements seen so far
        self._scan()

    def line(self, path: Path_) -> int:
        """The line of `path`, or of its nearest recorded ancestor (1 if none is)."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return 1

    # -- scanner --------------------------------------------------------------------------------

    def _peek(self, n: int = 1) -> str:
        return self._text[self._pos: self._pos + n]

    def _advance(self, n: int = 1) -> None:
        self._line += self._text.count("\n", self._pos, self._pos + n)
        self._pos += n

    def _skip(self, newlines: bool) -> None:
        """Whitespace and comments (and newlines, inside arrays and inline tables)."""
        while self._pos < len(self._text):
            c = self._text[self._pos]
            if c in " \t\r" or (newlines and c == "\n"):
                self._advance()
            elif c == "#":
                end = self._text.find("\n", self._pos)
                self._advance((len(self._text) if end < 0 else end) - self._pos)
            else:
                return

    def _scan(self) -> None:
        current: Path_ = ()
        while True:
            self._skip(newlines=True)
            if self._pos >= len(self._text):
                return
            start, line = self._pos, self._line
            if self._peek(2) == "[[":
                self._advance(2)
                keys = self._key()
                self._advance(2)
                current = (*self._resolve(keys[:-1]), keys[-1])
                index = self._tables.get(current, 0)
                self._tables[current] = index + 1
                self.lines.setdefault(current, line)
                current = (*current, index)
                self.lines[current] = line
            elif self._peek() == "[":
                self._advance()
                current = self._resolve(self._key())
                self._advance()
                self.lines[current] = line
            else:
                self._pair(current)
            if self._pos == start:  # text tomllib would reject: never loop on it
                self._advance()

    def _resolve(self, keys: Path_) -> Path_:
        """A header's dotted key with the current element of every array of tables in it."""
        out: Path_ = ()
        for key in keys:
            out = (*out, key)
            if out in self._tables:
                out = (*out, self._tables[out] - 1)
        return out

    def _key(self) -> Path_:
        parts: list[str] = []
        while True:
            self._skip(newlines=False)
            c = self._peek()
            if c in "\"'":
                start = self._pos
                self._string()
                parts.append(self._text[start + 1: self._pos - 1])
            else:
                m = _BARE.match(self._text, self._pos)
                if not m:
                    return tuple(parts)
                parts.append(m.group())
                self._advance(m.end() - self._pos)
            self._skip(newlines=False)
            if self._peek() != ".":
                return tuple(parts)
            self._advance()

    def _pair(self, table: Path_) -> None:
        line = self._line
        path = (*table, *self._key())
        self.lines[path] = line
        self._skip(newlines=False)
        self._advance()  # "="
        self._skip(newlines=False)
        self._value(path)

    def _value(self, path: Path_) -> None:
        c = self._peek()
        if c == "{":
            self._advance()
            while True:
                self._skip(newlines=True)
                if self._peek() in ("}", ""):
                    self._advance()
                    return
                start = self._pos
                if self._peek() == ",":
                    self._advance()
                    continue
                self._pair(path)
                if self._pos == start:
                    self._advance()
        elif c == "[":
            self._advance()
            index = 0
            while True:
                self._skip(newlines=True)
                if self._peek() in ("]", ""):
                    self._advance()
                    return
                if self._peek() == ",":
                    self._advance()
                    continue
                start = self._pos
                self.lines[(*path, index)] = self._line
                self._value((*path, index))
                index += 1
                if self._pos == start:
                    self._advance()
        elif c in "\"'":
            self._string()
        else:
            m = re.compile(r"[^,\]}\n#]*").match(self._text, self._pos)
            assert m is not None
            self._advance(m.end() - self._pos)

    def _string(self) -> None:
        quote = self._peek()
        if self._peek(3) == quote * 3:
            end = self._text.find(quote * 3, self._pos + 3)
            while quote == '"' and end > 0 and _escaped(self._text, end):
                end = self._text.find(quote * 3, end + 1)
            end = len(self._text) if end < 0 else end + 3
            while self._text[end: end + 1] == quote:  # up to two quotes may end the content
                end += 1
            self._advance(end - self._pos)
            return
        end = self._pos + 1
        while end < len(self._text) and self._text[end] != quote:
            end += 2 if quote == '"' and self._text[end] == "\\" else 1
        self._advance(end + 1 - self._pos)


def _escaped(text: str, pos: int) -> bool:
    """Whether the character at `pos` follows an odd number of backslashes."""
    n = 0
    while pos - n - 1 >= 0 and text[pos - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def where(path: Path, locations: Locations, at: Path_) -> str:
    """`file:line` of the value at `at`."""
    return f"{path}:{locations.line(at)}"


def fail(path: Path, locations: Locations, at: Path_, message: str) -> UsageError:
    """A one-line UsageError naming the file and the line of the value at `at`."""
    return UsageError(f"{where(path, locations, at)}: {message}")
