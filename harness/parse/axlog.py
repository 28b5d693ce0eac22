"""Find and parse the vCPU exit records in an axvisor serial log.

What the log looks like (ax-log 0.5.15, read in its source): every log line is
`ESC[37m[{secs:>3}.{micros:06} {cpu}:{task} {module}:{line}] ESC[<level>m{message}ESC[m\\n
ESC[m` — the final reset comes *after* the newline, so the next line starts with `ESC[m`.
Trace level is colour 90.  `{cpu}:{task}` may be `{cpu}` alone or absent.  axvm logs each exit
as `trace!("{exit_reason:#x?}")`, so an exit is a message that begins with a variant name and
is either one line (unit variants) or continues on unprefixed lines indented by 4 spaces up to
a `}` in column 0.  A message longer than 2048 bytes is cut and ends `ESC[m<log truncated>`.
Guest output and other log lines come in between; the serial console may add CRs.

The scanner works on whole buffers with C-level regex searches (a `] ` literal prefilter, then
the variant-name alternation), so unrelated lines cost almost nothing.
"""

from __future__ import annotations

import codecs
import gc
import re
from dataclasses import dataclass
from typing import cast

from harness.model.exits import ALL_VARIANTS, ExitReason, Generation
from harness.model.values import ModelError
from harness.parse.fast import FastParser
from harness.parse.render import DebugForm
from harness.parse.rust_debug import DebugSyntaxError, parse_exit


@dataclass(frozen=True, slots=True)
class LogPrefix:
    """The axlog prefix of a record's first line."""

    time_us: int
    cpu: int | None
    task: int | None
    module: str
    source_line: int

    @property
    def time_s(self) -> float:
        """Seconds since boot, as printed (microsecond resolution)."""
        return self.time_us / 1e6


PrefixText = tuple[str, str, str | None, str | None, str, str]


@dataclass(frozen=True, slots=True)
class ExitRecord:
    """One parsed exit: the value, where it is in the log (1-based lines), its axlog prefix
    (`prefix`, decoded on access from the captured text: most callers never look), the Debug
    form it was printed in, and the message text."""

    exit: ExitReason
    first_line: int
    last_line: int
    prefix_text: PrefixText
    form: DebugForm
    text: str

    @property
    def prefix(self) -> LogPrefix:
        secs, micros, cpu, task, module, src = self.prefix_text
        return LogPrefix(
            int(secs) * 1_000_000 + int(micros),
            None if cpu is None else int(cpu),
            None if task is None else int(task),
            module,
            int(src),
        )


@dataclass(frozen=True, slots=True)
class ParseError:
    """A record that could not be parsed; line and column are 1-based, column counts
    characters of the raw line including ANSI escapes."""

    source: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: error: {self.message}"


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Everything found in a log: records in log order, and errors in log order."""

    records: tuple[ExitRecord, ...]
    errors: tuple[ParseError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


_NAMES = "|".join(sorted((c.VARIANT for c in ALL_VARIANTS), key=len, reverse=True))
_ESC = r"\x1b\[[0-9;]*m"
_END = r"(?=\x1b\[|\n|\Z)"
# A log message starting with a variant name followed by ` {`, `{`, `(` or end of message,
# found from the `] ` that ends every axlog prefix (a literal, so the regex engine skips
# ahead fast).  Groups: 1 variant, then either 2 a complete pretty body, 3 a complete one-line
# body, end of message (unit variant), or (nothing captured) something the careful path
# examines.
_CAND = re.compile(
    rf"\] (?:{_ESC})*(?=[CEFHIMNPS])({_NAMES})"  # first-letter guard: cheap rejection
    rf"(?:( \{{\n(?:    [^\n]*\n)*\}}){_END}|( \{{ [^\n]*? \}}){_END}|{_END}|(?= ?\{{|\())"
)
# The prefix that must end exactly at the candidate's `] `: secs, micros, cpu, task, module, line.
_PREFIX = re.compile(r"\[ *(\d+)\.(\d{6}) (?:(\d+)(?::(\d+))? )?([^\s\[\]]+):(\d+)\] \Z")
_ANSI_TAIL = re.compile(rf"(?:{_ESC}|\r)+\Z")
_CONT_LINES = re.compile(r"(?:\n    [^\n]*)*")
_CLOSE = re.compile(rf"\n([}})])((?:{_ESC}|\r)*)(?=\n|\Z)")
_TRUNCATED_MARK = "<log truncated>"


def _strip_tail(s: str) -> str:
    if "\x1b" in s or "\r" in s:
        return _ANSI_TAIL.sub("", s)
    return s


class LogScanner:
    """Incremental record finder: `feed` chunks as they arrive (records may be split across
    chunks anywhere, even inside a UTF-8 sequence), then `finish` once."""

    def __init__(
        self,
        generation: Generation,
        source_name: str = "<log>",
        compact_form: DebugForm = DebugForm.DEBUG,
    ) -> None:
        if compact_form.pretty:
            raise ValueError("compact_form must be DEBUG or DEBUG_HEX")
        self.generation = generation
        self.source_name = source_name
        self.compact_form = compact_form
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._line = 1  # line number of self._buf[0]
        self._records: list[ExitRecord] = []
        self._errors: list[ParseError] = []
        self._finished = False
        self._fast_pretty = (
            FastParser(generation, DebugForm.PRETTY_HEX),
            FastParser(generation, DebugForm.PRETTY),
        )
        self._fast_compact = FastParser(generation, compact_form)

    # ------------------------------------------------------------------ public API

    def feed(self, data: bytes | str) -> list[ExitRecord | ParseError]:
        """Add a chunk; return the records and errors completed by it, in log order."""
        if self._finished:
            raise RuntimeError("LogScanner.feed after finish")
        text = self._decoder.decode(data) if isinstance(data, bytes) else data
        self._buf += text
        return self._scan(final=False)

    def close(self) -> list[ExitRecord | ParseError]:
        """End of input; return what the final partial line completes.  A record still
        open becomes a "truncated record" error."""
        if self._finished:
            return []
        self._buf += self._decoder.decode(b"", final=True)
        items = self._scan(final=True)
        self._finished = True
        return items

    def finish(self) -> ParseResult:
        """`close()`, then everything found since the start."""
        self.close()
        return ParseResult(tuple(self._records), tuple(self._errors))

    @property
    def records(self) -> tuple[ExitRecord, ...]:
        return tuple(self._records)

    @property
    def errors(self) -> tuple[ParseError, ...]:
        return tuple(self._errors)

    # ------------------------------------------------------------------ internals

    def _error(self, out: list[ExitRecord | ParseError], line: int, col: int, msg: str) -> None:
        err = ParseError(self.source_name, line, col, msg)
        self._errors.append(err)
        out.append(err)

    def _scan(self, final: bool) -> list[ExitRecord | ParseError]:
        # Millions of small immutable objects and no cycles: the cyclic GC's repeated full
        # traversals would cost more than the parsing itself.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._scan_inner(final)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _scan_inner(self, final: bool) -> list[ExitRecord | ParseError]:
        out: list[ExitRecord | ParseError] = []
        buf = self._buf
        if "\r" in buf:
            # Serial consoles turn \n into \r\n (sometimes twice); a trailing \r may be the
            # first half of a \r\n still to come, so it stays in the buffer.
            tail = len(buf) - len(buf.rstrip("\r")) if not final else 0
            head = re.sub(r"\r+\n", "\n", buf[: len(buf) - tail])
            buf = head + buf[len(buf) - tail :]
            self._buf = buf
        end = len(buf) if final else buf.rfind("\n") + 1
        if end == 0:
            return out
        pos = 0
        line = self._line
        line_pos = 0
        keep_from = end
        fast_hex, fast_dec = self._fast_pretty
        fast_compact = self._fast_compact
        for m in _CAND.finditer(buf, 0, end):
            start = m.start()
            if start < pos:
                continue  # inside a record the slow path already consumed
            ls = buf.rfind("\n", 0, start) + 1
            pm = _PREFIX.search(buf, ls, start + 2)
            if pm is None:
                continue  # `] Halt` inside some other text
            line += buf.count("\n", line_pos, ls)
            line_pos = ls
            variant, pretty, compact = m.groups()
            vstart = m.start(1)
            rend = m.end()
            exit_: ExitReason | None = None
            if pretty is not None:
                form = DebugForm.PRETTY_HEX
                exit_ = fast_hex.parse_at(variant, buf, vstart, rend)
                if exit_ is None:
                    form = DebugForm.PRETTY
                    exit_ = fast_dec.parse_at(variant, buf, vstart, rend)
            elif compact is not None or rend == m.end(1):
                form = self.compact_form
                exit_ = fast_compact.parse_at(variant, buf, vstart, rend)
            if exit_ is not None:
                text = buf[vstart:rend]
                last = line + text.count("\n") if pretty else line
                rec = ExitRecord(exit_, line, last, pm.groups(), form, text)  # type: ignore[arg-type]
                self._records.append(rec)
                out.append(rec)
                pos = rend
                continue
            # Anything unusual: the careful path, which also words the errors.
            le = buf.find("\n", vstart, end)
            if le == -1:
                le = end
            try:
                groups = cast(PrefixText, pm.groups())
                nxt = self._record(out, buf, variant, groups, ls, vstart, le, end, line, final)
            except Exception as exc:  # safety net: report, never raise on bad input
                self._error(out, line, vstart - ls + 1, f"internal parser error: {exc!r}")
                nxt = le
            if nxt is None:  # record continues past the data we have
                keep_from = ls
                break
            pos = nxt
        self._line = line + buf.count("\n", line_pos, keep_from)
        self._buf = buf[keep_from:]
        return out

    def _record(
        self,
        out: list[ExitRecord | ParseError],
        buf: str,
        variant: str,
        pm: PrefixText,
        ls: int,
        vstart: int,
        le: int,
        end: int,
        line: int,
        final: bool,
    ) -> int | None:
        """Handle the record starting at vstart; return where scanning resumes, or None if
        more input is needed."""
        first = _strip_tail(buf[vstart:le])
        col0 = vstart - ls  # 0-based column of the message in the first line
        if first.endswith((" {", "(")):
            cont = _CONT_LINES.match(buf, le, end)
            stop = cont.end() if cont is not None else le  # always matches (may be empty)
            close = _CLOSE.match(buf, stop, end)
            if close is None:
                if stop + 1 >= end and not final:
                    return None  # the line after the last continuation line is incomplete
                bad_line = line + buf.count("\n", vstart, stop) + 1
                nl = buf.find("\n", stop + 1, end)
                found = buf[stop + 1 : nl if nl != -1 else end]
                if _TRUNCATED_MARK in buf[vstart:stop] or _TRUNCATED_MARK in found:
                    why = "record cut by axlog's 2048-byte buffer ('<log truncated>')"
                elif stop + 1 >= end:
                    why = "truncated record: not closed by '}' before end of input"
                else:
                    why = (
                        "record interrupted: expected an indented field line or '}', "
                        f"found {found[:40]!r}"
                    )
                self._error(out, bad_line, 1, f"{variant}: {why}")
                return end if stop + 1 >= end else le
            text = first + buf[le : close.start(2)]
            last_line = line + buf.count("\n", le, close.end())
            resume = close.end()
        else:
            if _TRUNCATED_MARK in first:
                self._error(
                    out, line, col0 + 1, f"{variant}: record cut by axlog ('<log truncated>')"
                )
                return le
            text = first
            last_line = line
            resume = le
        exit_, form, err = self._parse_text(variant, text)
        if err is not None:
            off = err.offset
            rel = text.count("\n", 0, off)
            col = col0 + off + 1 if rel == 0 else off - text.rfind("\n", 0, off)
            self._error(out, line + rel, col, err.message)
            return resume
        assert exit_ is not None and form is not None
        rec = ExitRecord(exit_, line, last_line, pm, form, text)
        self._records.append(rec)
        out.append(rec)
        return resume

    def _parse_text(
        self, variant: str, text: str
    ) -> tuple[ExitReason | None, DebugForm | None, DebugSyntaxError | None]:
        if "\n" in text:
            for fp in self._fast_pretty:
                exit_ = fp.parse(variant, text)
                if exit_ is not None:
                    return exit_, fp.form, None
            form: DebugForm | None = None
        else:
            exit_ = self._fast_compact.parse(variant, text)
            if exit_ is not None:
                return exit_, self.compact_form, None
            form = self.compact_form
        try:
            exit_, used = parse_exit(text, self.generation, form)
        except DebugSyntaxError as exc:
            return None, None, exc
        except ModelError as exc:
            return None, None, DebugSyntaxError(0, str(exc))
        return exit_, used, None


def parse_log(
    data: bytes | str,
    generation: Generation,
    source_name: str = "<log>",
    compact_form: DebugForm = DebugForm.DEBUG,
) -> ParseResult:
    """All exit records and errors of a complete log."""
    scanner = LogScanner(generation, source_name, compact_form)
    scanner.feed(data)
    return scanner.finish()


def format_log_line(
    message: str,
    time_us: int,
    module: str = "axvm::vm",
    source_line: int = 623,
    cpu: int | None = 0,
    task: int | None = 5,
    level_color: int = 90,
) -> str:
    """One log record exactly as ax-log 0.5.15 prints it (for golden logs and tests)."""
    secs, micros = divmod(time_us, 1_000_000)
    if cpu is not None and task is not None:
        who = f"{cpu}:{task} "
    elif cpu is not None:
        who = f"{cpu} "
    else:
        who = ""
    return (
        f"\x1b[37m[{secs:>3}.{micros:06} {who}{module}:{source_line}] "
        f"\x1b[{level_color}m{message}\x1b[m\n\x1b[m"
    )
