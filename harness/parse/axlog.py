"""Find and parse the vCPU exit records in an axvisor serial log.

What the log looks like (ax-log 0.5.15, read in its source): every log line is
`ESC[37m[{secs:>3}.{micros:06} {cpu}:{task} {module}:{line}] ESC[<level>m{message}ESC[m\\n
ESC[m` — the final reset comes *after* the newline, so the next line starts with `ESC[m`.
Trace level is colour 90.  `{cpu}:{task}` may be `{cpu}` alone or absent.  axvm logs each exit
as `trace!("{exit_reason:#x?}")`, so an exit is a message that begins with a variant name and
is either one line (unit variants) or continues on unprefixed lines indented by 4 spaces up to
a `}` in column 0.  A message longer than 2048 bytes is cut and ends `ESC[m<log truncated>`.
Guest output and other log lines come in between; the serial console may add CRs.

The current line (axvisor 0.8, ax-log 0.6.1 through ax-runtime) adds `ESC[37m` before the
module path, cuts messages over 1 KiB with `ESC[m...[truncated]`, and its shell redraws each
record as `\\r ESC[2K` + record after its prompt; the images' instrumentation writes each exit
synchronously as `AXH-EXIT vm=<id> vcpu=<id> ` + `{:#x?}` (the record carries its vCPU).
Which names are variants, and how each prints, is the schema's (harness.schema): the scanner
looks for the variant names of every known schema, so a record of another generation is
reported, not skipped, and parses it with the schema and architecture it was given.

The scanner works on whole buffers with C-level regex searches (a `] ` literal prefilter, then
the variant-name alternation), so unrelated lines cost almost nothing.  It is exact (a record
is Rust's rendering of its value, reported once), linear (no search restarts at each position
of a line; harness.parse.extent bounds the careful path) and chunk-invariant (a decision
waits until the lines it looks at are complete; tests/unit/test_parse_chunking.py).
"""

from __future__ import annotations

import bisect
import codecs
import functools
import gc
import re
from dataclasses import dataclass

from harness.model import schemas
from harness.model.exits import ExitReason
from harness.model.values import ModelError
from harness.parse.extent import (
    BODY,
    END,
    ESC,
    LONG_REASON,
    Extent,
    interruption,
    record_extent,
    stop_reason,
)
from harness.parse.fast import fast_parser
from harness.parse.render import DebugForm, DebugSyntaxError, parse_exit
from harness.schema import Form, Schema


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
    (`prefix`, decoded on access from the captured text: most callers never look; None for a
    synchronous `AXH-EXIT` record), the Debug form it was printed in, the message text, and
    the VM and vCPU ids an `AXH-EXIT` record names (None in an axlog record)."""

    exit: ExitReason
    first_line: int
    last_line: int
    prefix_text: PrefixText | None
    form: DebugForm
    text: str
    vm: int | None = None
    vcpu: int | None = None

    @property
    def cpu(self) -> int | None:
        """The CPU number of the axlog prefix (None: no prefix, or a prefix without one)."""
        return None if self.prefix_text is None or self.prefix_text[2] is None \
            else int(self.prefix_text[2])

    @property
    def prefix(self) -> LogPrefix | None:
        if self.prefix_text is None:
            return None
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


SYNC_TAG = "AXH-EXIT vm="
_USIZE_MAX = "18446744073709551615"


def _usize_text(digits: str) -> bool:
    """Whether a decimal id fits a usize (compared as text: no int() of unbounded input)."""
    digits = digits.lstrip("0") or "0"
    return len(digits) < len(_USIZE_MAX) or (len(digits) == len(_USIZE_MAX)
                                            and digits <= _USIZE_MAX)


def candidate_regex(names: frozenset[str], sync: bool = False) -> re.Pattern[str]:
    """A log message (after an axlog prefix's `] `), or with `sync` a synchronous record
    (after its `AXH-EXIT vm=<id> vcpu=<id> ` tag), starting with one of `names` followed by
    ` {`, `{`, `(` or the end of the message.  Groups (`sync`: after 1 vm and 2 vcpu): the
    variant, then either a complete pretty body, a complete one-line body, the end of the
    message (unit variant), or (nothing captured) something the careful path
    (harness.parse.extent) examines.  Each pattern starts with a literal, which the regex
    engine searches fast (one pattern with both starts is 3x slower).  No part backtracks over
    a long run (the one-line body is possessive, then looks back for the space before its
    `}`); the first-letter guard, derived from the names, rejects cheaply."""
    alts = "|".join(sorted(names, key=len, reverse=True))
    first = "".join(sorted({re.escape(n[0]) for n in names}))
    start = r"AXH-EXIT vm=([0-9]+) vcpu=([0-9]+) " if sync else rf"\] (?:{ESC})*"
    return re.compile(
        rf"{start}(?=[{first}])({alts})"
        rf"(?:( \{{\n(?:    {BODY}\n)*\}}){END}"  # 4: pretty
        rf"|( \{{ [^\n\x1b{{}}]*+(?<= )\}}|\([^\n\x1b()]*+\)){END}"  # 5: one line
        rf"|(){END}"  # 6: unit
        rf"|(?= ?\{{|\())"
    )


@functools.cache
def _candidates() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(axlog records, synchronous records) over every known schema's variant names."""
    names = frozenset(n for s in schemas.schema_set() for n in s.rust_names())
    return candidate_regex(names), candidate_regex(names, sync=True)


# The prefix that must end exactly at the candidate's `] `: secs, micros, cpu, task, module,
# line (ax-log 0.6.1 colours the module path: `ESC[37m` before it).
_PREFIX = re.compile(
    r"\[ *([0-9]+)\.([0-9]{6}) (?:([0-9]+)(?::([0-9]+))? )?(?:\x1b\[37m)?"
    r"([^\s\[\]\x1b]+):([0-9]+)\] \Z"
)
# Its `[` is the last one before the `] ` (no `[` inside but that of the colour code); looking
# further back than this for it would make a long line of candidates quadratic, and no module
# path is this long.
_PREFIX_MAX = 512
_CR_RUN = re.compile(r"(?<!\r)\r+\n")  # the lookbehind keeps long runs of lone CRs linear


class LogScanner:
    """Incremental record finder: `feed` chunks as they arrive (records may be split across
    chunks anywhere, even inside a UTF-8 sequence), then `finish` once.  However the input is
    chunked, the records and errors are the same."""

    def __init__(
        self,
        schema: Schema,
        arch: str,
        source_name: str = "<log>",
        compact_form: DebugForm = DebugForm.DEBUG,
    ) -> None:
        if compact_form.pretty:
            raise ValueError("compact_form must be DEBUG or DEBUG_HEX")
        schema.enum(arch)  # a SchemaLookupError now, not at the first record
        self.schema, self.arch = schema, arch
        self.source_name = source_name
        self.compact_form = compact_form
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []  # decoded text not yet appended to _buf
        self._cr = ""  # CRs at the end of the input so far: half of a CRLF, maybe
        self._buf = ""  # starts at a line start, CRLFs already folded
        self._skip = 0  # candidates before this offset of _buf are done
        self._line = 1  # line number of self._buf[0]
        self._records: list[ExitRecord] = []
        self._errors: list[ParseError] = []
        self._finished = False
        self._fast_pretty = (
            fast_parser(schema, arch, Form.PRETTY_HEX),
            fast_parser(schema, arch, Form.PRETTY),
        )
        self._fast_compact = fast_parser(schema, arch, compact_form)
        self._search_log, self._search_sync = (c.search for c in _candidates())

    # ------------------------------------------------------------------ public API

    def feed(self, data: bytes | str) -> list[ExitRecord | ParseError]:
        """Add a chunk; return the records and errors completed by it, in log order."""
        if self._finished:
            raise RuntimeError("LogScanner.feed after finish")
        text = self._decoder.decode(data) if isinstance(data, bytes) else data
        self._pending.append(text)
        if "\n" not in text:
            return []  # no new complete line: nothing can be decided yet
        return self._scan(final=False)

    def close(self) -> list[ExitRecord | ParseError]:
        """End of input; return what the final partial line completes.  A record still
        open becomes a "truncated record" error."""
        if self._finished:
            return []
        self._pending.append(self._decoder.decode(b"", final=True))
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

    def _take_pending(self, final: bool) -> None:
        """Append the pending text to _buf with CRLF (and CR…CRLF) folded to LF.  CRs at the
        very end wait for the next chunk (they may precede its LF), so the folding never
        depends on where the input was cut."""
        text = self._cr + "".join(self._pending)
        self._pending = []
        keep = 0 if final else len(text) - len(text.rstrip("\r"))
        self._cr = text[len(text) - keep :]
        text = text[: len(text) - keep]
        if "\r" in text:  # C-speed replaces for CRLF and CRCRLF, the regex for longer runs
            text = text.replace("\r\r\n", "\n").replace("\r\n", "\n")
            if "\r\n" in text:
                text = _CR_RUN.sub("\n", text)
        self._buf += text

    def _scan(self, final: bool) -> list[ExitRecord | ParseError]:
        # Millions of small immutable objects and no cycles: the cyclic GC's repeated full
        # traversals would cost more than the parsing itself.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._take_pending(final)
            return self._scan_inner(final)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _scan_inner(self, final: bool) -> list[ExitRecord | ParseError]:
        out: list[ExitRecord | ParseError] = []
        buf = self._buf
        end = len(buf) if final else buf.rfind("\n") + 1
        pos = self._skip
        line = self._line  # line number of buf[line_pos]
        line_pos = 0
        ls = 0  # start of that line
        keep_from = end
        search_log, search_sync = self._search_log, self._search_sync
        fast_hex, fast_dec = self._fast_pretty
        fast_compact = self._fast_compact
        # The next candidate of each kind; the earlier one is handled first (what one regex
        # with both starts would find), the other kept while it still lies ahead.
        has_sync = SYNC_TAG in buf
        m_log = m_sync = None
        # A search that found nothing up to `end` finds nothing from a later `pos` either:
        # searching again for every candidate of the other kind would be quadratic.
        log_done = sync_done = False
        while True:
            if not has_sync:  # the common case first: one search per candidate
                m = search_log(buf, pos, end)
                if m is None:
                    break
            else:
                if not log_done and (m_log is None or m_log.start() < pos):
                    m_log = search_log(buf, pos, end)
                    log_done = m_log is None
                if not sync_done and (m_sync is None or m_sync.start() < pos):
                    m_sync = search_sync(buf, pos, end)
                    sync_done = m_sync is None
                if m_sync is not None and (m_log is None or m_sync.start() < m_log.start()):
                    m = m_sync
                elif m_log is not None:
                    m = m_log
                else:
                    break
            start = m.start()
            n = buf.count("\n", line_pos, start)
            if n:
                line += n
                ls = buf.rfind("\n", line_pos, start) + 1
            line_pos = start
            pm: re.Match[str] | None = None
            if m is not m_sync:  # an axlog record: its prefix must end right here
                variant, pretty, compact, unit = m.groups()
                vstart = m.start(1)
                vm = vcpu = None
                lo = start - _PREFIX_MAX
                lo = lo if lo > ls else ls
                at = buf.rfind("[", lo, start)
                if at > lo and buf[at - 1] == "\x1b":  # ax-log 0.6.1's colour before the module
                    at = buf.rfind("[", lo, at - 1)
                pm = _PREFIX.match(buf, at, start + 2) if at != -1 else None
                if pm is None:
                    pos = start + 2  # `] Halt` inside some other text
                    continue
            else:  # a synchronous record: the tag names the VM and the vCPU
                vm_text, vcpu_text, variant, pretty, compact, unit = m.groups()
                vstart = m.start(3)
                bad = next((g for g in (1, 2) if not _usize_text(m.group(g))), None)
                if bad is not None:  # axvm prints usize ids: anything longer is not its tag
                    self._error(out, line, m.start(bad) - ls + 1,
                                f"AXH-EXIT tag: {('vm', 'vcpu')[bad - 1]} id out of range (usize)")
                    pos = m.end(bad)
                    continue
                vm, vcpu = int(vm_text), int(vcpu_text)
            prefix: PrefixText | None = pm.groups() if pm is not None else None  # type: ignore[assignment]
            rend = m.end()
            exit_: ExitReason | None = None
            if pretty is not None:
                form = DebugForm.PRETTY_HEX
                exit_ = fast_hex.parse_at(variant, buf, vstart, rend)
                if exit_ is None:
                    form = DebugForm.PRETTY
                    exit_ = fast_dec.parse_at(variant, buf, vstart, rend)
            elif compact is not None or unit is not None:
                form = self.compact_form
                exit_ = fast_compact.parse_at(variant, buf, vstart, rend)
            if exit_ is not None:
                text = buf[vstart:rend]
                last = line + text.count("\n") if pretty else line
                rec = ExitRecord(exit_, line, last, prefix, form, text, vm, vcpu)
                self._records.append(rec)
                out.append(rec)
                pos = rend
                continue
            # Anything unusual: the careful path, which also words the errors.
            ext = record_extent(buf, vstart, end, final)
            if ext is None:  # the record continues past the data we have
                keep_from, pos = ls, start
                break
            try:
                self._record(out, buf, variant, prefix, (vm, vcpu), ls, vstart, ext, end, line)
            except Exception as exc:  # safety net: report, never raise on bad input
                self._error(out, line, vstart - ls + 1, f"internal parser error: {exc!r}")
            pos = ext.resume
        self._line = line + buf.count("\n", line_pos, keep_from)
        self._skip = pos - keep_from if keep_from < end else 0  # offset of the waiting record
        self._buf = buf[keep_from:]
        return out

    def _record(
        self,
        out: list[ExitRecord | ParseError],
        buf: str,
        variant: str,
        pm: PrefixText | None,
        ids: tuple[int | None, int | None],
        ls: int,
        vstart: int,
        ext: Extent,
        end: int,
        line: int,
    ) -> None:
        """Parse, or report, the record `buf[vstart:ext.stop]` (first line `line`, which
        starts at `ls`)."""
        text = buf[vstart : ext.stop]
        if not ext.closed:  # a pretty record whose text stopped early
            rel = text.count("\n")
            col = ext.stop - (buf.rfind("\n", vstart, ext.stop) + 1 if rel else ls) + 1
            why = LONG_REASON if ext.long else stop_reason(buf, ext.stop, end)
            self._error(out, line + rel, col, f"{variant}: {why}")
            return
        exit_, form, err = self._parse_text(variant, text)
        if err is not None:
            off, msg = err.offset, err.message
            # A one-line text that ran out because something other than its line's end cut
            # it (end of input, the next log line, axlog's marker) is reported as cut.
            if off >= len(text) and "\n" not in text and not buf.startswith("\n", ext.stop):
                cut = interruption(buf, ext.stop, end)
                if cut is not None:
                    off, msg = len(text), f"{variant}: {cut}"
            rel = text.count("\n", 0, off)
            col = vstart - ls + off + 1 if rel == 0 else off - text.rfind("\n", 0, off)
            self._error(out, line + rel, col, msg)
            return
        assert exit_ is not None and form is not None
        rec = ExitRecord(exit_, line, line + text.count("\n"), pm, form, text, *ids)
        self._records.append(rec)
        out.append(rec)

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
            exit_, used = parse_exit(text, self.schema, self.arch, form)
        except DebugSyntaxError as exc:
            return None, None, exc
        except ModelError as exc:
            return None, None, DebugSyntaxError(0, str(exc))
        return exit_, used, None


def parse_log(
    data: bytes | str,
    schema: Schema,
    arch: str,
    source_name: str = "<log>",
    compact_form: DebugForm = DebugForm.DEBUG,
) -> ParseResult:
    """All exit records and errors of a complete log, read with `schema`'s enum of `arch`."""
    scanner = LogScanner(schema, arch, source_name, compact_form)
    scanner.feed(data)
    return scanner.finish()


def parse_console(data: bytes, schema: Schema, arch: str, source_name: str = "<log>"
                  ) -> ParseResult:
    """parse_log of a whole console a verdict rests on, plus an error for every line that has
    the shape of an exit record's start but gave neither a record nor an error
    (`unread_lines`)."""
    result = parse_log(data, schema, arch, source_name)
    unread = unread_lines(data, result, source_name)
    if not unread:
        return result
    return ParseResult(result.records, tuple(sorted((*result.errors, *unread),
                                                    key=lambda e: (e.line, e.column))))


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@functools.cache
def _suspects() -> re.Pattern[bytes]:
    """A line where an exit record starts: `AXH-EXIT` (or a line starting `AXH-`: a garbled
    tag; the guest's own markers are `AXH:`), or a log line whose message (after the first
    `] ` and its colour codes, give or take two stray characters) is a known variant name
    followed by what a record has there (` {`, `(`, a colour code or the end of the line),
    the `]` closing a `[` as a log prefix's does (guest text like `says ] Halt` is not one)."""
    names = sorted({n for s in schemas.schema_set() for n in s.rust_names()}, key=len,
                   reverse=True)
    alts = b"|".join(re.escape(n.encode()) for n in names)
    esc = ESC.encode()
    return re.compile(rb"(?m)AXH-EXIT|^(?:" + esc + rb")*AXH-|^[^\[\]\n]*\[[^\]\n]*\] (?:"
                      + esc + rb")*[^\s\x1b\[\]]{0,2}(?:" + alts + rb")(?= \{|\(|\x1b|\r|$)")


def unread_lines(data: bytes, result: ParseResult, source_name: str) -> tuple[ParseError, ...]:
    """Lines shaped like the start of an exit record that gave no record and no error: a
    garbled prefix or tag, a character inside the variant name, a record cut at the end of the
    console. Each would otherwise be an exit silently missing (an extra one: a false pass; an
    expected one: blamed on axvisor)."""
    starts = {r.first_line for r in result.records}
    errors = sorted(e.line for e in result.errors)
    suspects: list[tuple[int, int]] = []  # (line, offset)
    line, at = 1, 0
    for m in _suspects().finditer(data):
        line += data.count(b"\n", at, m.start())
        at = m.start()
        if not suspects or suspects[-1][0] != line:
            suspects.append((line, m.start()))
    out: list[ParseError] = []
    for i, (line, offset) in enumerate(suspects):
        upto = suspects[i + 1][0] if i + 1 < len(suspects) else line + (1 << 30)
        k = bisect.bisect_left(errors, line)
        if line not in starts and not (k < len(errors) and errors[k] < upto):
            # neither a record nor an error where this record starts or before the next one
            start = data.rfind(b"\n", 0, offset) + 1
            end = data.find(b"\n", offset)
            text = data[start:end if end >= 0 else len(data)].decode(errors="replace")
            out.append(ParseError(source_name, line, offset - start + 1,
                                  "has the shape of an exit record but could not be read as "
                                  f"one: {_ANSI.sub('', text).strip()[:120]!r}"))
    return tuple(out)


def format_log_line(
    message: str,
    time_us: int,
    module: str = "axvm::vm",
    source_line: int = 623,
    cpu: int | None = 0,
    task: int | None = 5,
    level_color: int = 90,
    *,
    axlog06: bool = False,
) -> str:
    """One log record exactly as ax-log 0.5.15 prints it (for golden logs and tests); with
    `axlog06`, as axvisor 0.8's shell writes an ax-log 0.6.1 record (CRLF, `ESC[37m` before
    the module path, redrawn after the prompt as `axvisor:$ \\r ESC[2K` + record)."""
    secs, micros = divmod(time_us, 1_000_000)
    if cpu is not None and task is not None:
        who = f"{cpu}:{task} "
    elif cpu is not None:
        who = f"{cpu} "
    else:
        who = ""
    if axlog06:
        body = message.replace("\n", "\r\n")
        return (f"axvisor:$ \r\x1b[2K\x1b[37m[{secs:>3}.{micros:06} {who}\x1b[37m{module}:"
                f"{source_line}] \x1b[{level_color}m{body}\x1b[m\x1b[m\r\n")
    return (
        f"\x1b[37m[{secs:>3}.{micros:06} {who}{module}:{source_line}] "
        f"\x1b[{level_color}m{message}\x1b[m\n\x1b[m"
    )


def format_sync_record(message: str, vm: int = 1, vcpu: int = 0) -> str:
    """One exit as the images' synchronous instrumentation writes it (axvm 0.8.5 patch
    `axvm-0.8.5-sync-exit-record.patch`): `ESC[0m` CRLF, then the tagged record, CRLFs."""
    body = message.replace("\n", "\r\n")
    return f"\x1b[0m\r\nAXH-EXIT vm={vm} vcpu={vcpu} {body}\r\n"
