"""Where an exit record's text stops in an axvisor log (the scanner's careful path).

A record's text never contains an escape code or the start of a log prefix (`[  1.000000 `):
Rust's Debug output has neither, and ax-log ends every message with `ESC[m`.  So the text
stops at the first escape, log start or newline of its first line; a first line ending in
` {` or `(` continues on lines indented by 4 spaces (each stopping the same way) up to a
`}` or `)` in column 0.  Anything else where the record still needs text (end of input, the
next log line, guest output, axlog's `<log truncated>` or ax-log 0.6's `...[truncated]`)
stops it early: the record is reported where its text stops, and scanning resumes right
there, so a log line glued to the cut record is still read.  Every pattern here runs in
time linear in what it reads.
"""

from __future__ import annotations

import re
from typing import NamedTuple

ESC = r"\x1b\[[0-9;]*m"
LOG_START = r"\[ *[0-9]+\.[0-9]{6} "
# The text of one line up to the first newline, escape or log start (atomic: no backtracking).
BODY = r"(?>[^\n\x1b\[]*(?:\[(?! *[0-9]+\.[0-9]{6} )[^\n\x1b\[]*)*)"
# End of a message that needs nothing more (a unit variant's name, a closing brace).
END = rf"(?=\x1b|\n|\Z|{LOG_START})"

# The careful path finds the next log start first (a literal-prefix search), then matches
# up to it with BODY's lookahead-free form: the same result as BODY, since a log start holds
# neither newline nor escape, and faster on long runs of '['.  The search ends at the next
# candidate's prefix at the latest, which keeps the scanner linear.
_LOG_START = re.compile(LOG_START)
_LINE = re.compile(r"[^\n\x1b]*")
_CONT = re.compile(r"(?:\n    [^\n\x1b]*)*")
_CLOSE = re.compile(rf"\n[}})]{END}")
_AFTER = re.compile(rf"(?:{ESC}|\r)*+(?:(<log truncated>|\.\.\.\[truncated\])|({LOG_START}))?")

EOF_REASON = "truncated record: not closed by '}' before end of input"


class Extent(NamedTuple):
    """A record's text `buf[start:stop]`; `closed` if it is all there (a one-line message or
    a pretty one up to its closing brace), else it stopped early at `stop`, `long` if at the
    length limit.  (A tuple: one is made per candidate, and a line can hold thousands.)"""

    stop: int
    closed: bool
    resume: int  # where scanning continues
    long: bool = False


# A pretty record that has not closed within this many characters is an error without
# reading further: ax-log cuts messages at 2048 bytes and a Debug exit record is a few
# hundred, while a longer wait would make a scanner fed line by line rescan it each time.
MAX_PRETTY = 16384
LONG_REASON = f"record longer than {MAX_PRETTY} characters without its closing '}}'"


def record_extent(buf: str, vstart: int, end: int, final: bool) -> Extent | None:
    """The extent of the record starting at `buf[vstart]`, reading no further than `end`
    (a line boundary unless `final`); None if it depends on text not yet read."""
    ls = _LOG_START.search(buf, vstart, end)
    bound = end if ls is None else ls.start()  # no record text reaches past it
    m = _LINE.match(buf, vstart, bound)
    p = m.end() if m is not None else vstart  # always matches
    if not buf.endswith((" {", "("), vstart, p):
        return Extent(p, True, p)
    if p == end or buf[p] != "\n":
        return Extent(p, False, p)  # stops on its first line
    lim = vstart + MAX_PRETTY
    e2 = end if end < lim else lim
    c = _CONT.match(buf, p, e2 if e2 < bound else bound)
    stop = c.end() if c is not None else p  # always matches
    close = _CLOSE.match(buf, stop, e2)
    if close is not None:
        return Extent(close.end(), True, close.end())
    if stop < e2 and buf[stop] != "\n":
        return Extent(stop, False, stop)  # an escape or a log start inside the line
    if stop + 1 < e2:
        return Extent(stop, False, stop + 1)  # the next line is neither a field nor '}'
    if e2 == lim:
        return Extent(stop, False, stop + 1 if buf.startswith("\n", stop) else stop, True)
    if not final:
        return None  # the next line is still to come
    return Extent(stop, False, end)  # end of input


def interruption(buf: str, stop: int, end: int) -> str | None:
    """What stopped a record's text at `stop` when it is not an ordinary end of a line: end
    of input, axlog's truncation marker, or the next log line."""
    at = stop + 1 if buf.startswith("\n", stop) else stop
    if at >= end:
        return EOF_REASON
    m = _AFTER.match(buf, at, end)
    if m is not None and m.group(1):
        if m.group(1).startswith("<"):
            return "record cut by axlog's 2048-byte buffer ('<log truncated>')"
        return "record cut by ax-log's 1 KiB record limit ('...[truncated]')"
    if m is not None and m.group(2):
        return "record interrupted by the next log line"
    return None


def stop_reason(buf: str, stop: int, end: int) -> str:
    """Why a pretty record's text stopped at `stop` before its closing brace."""
    why = interruption(buf, stop, end)
    if why is not None:
        return why
    at = stop + 1 if buf.startswith("\n", stop) else stop
    nl = buf.find("\n", at, min(end, at + 40))
    found = buf[at : nl if nl != -1 else min(end, at + 40)]
    if at == stop:
        return f"record interrupted on its line by {found!r}"
    return f"record interrupted: expected an indented field line or '}}', found {found!r}"
