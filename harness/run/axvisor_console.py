"""What axvisor prints that tells the harness where a run is (read from axvisor 0.3.0-preview.2:
src/vmm/vcpus.rs, src/shell; ArceOS axruntime lang_items for panics)."""

from __future__ import annotations

import re

# After the last VM stops axvisor enters its shell instead of powering off (FACTS §4).
END_MARKERS = (b"Welcome to AxVisor Shell!", b"axvisor:$ ")
# ArceOS prints `panicked at FILE:LINE:COL:` and the message on the next line(s).
PANIC = re.compile(rb"panicked at [^\r\n]*")
VCPU_RUNNING = re.compile(rb"VM\[\d+\] VCpu\[\d+\] running\.\.\.")
# Bytes to keep reading after a panic line so the message and location are complete.
PANIC_GRACE_BYTES = 2048


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LOG_START = re.compile(r"\[\s*\d+\.\d{6} ")


def _unbroken_lines(text: str) -> list[str]:
    """Lines of `text` with other CPUs' log records taken out. A record can start in the
    middle of a line (the panic writer and the logger interleave byte-wise); it runs to the
    end of that line, and the interrupted text resumes on the next one."""
    out: list[str] = []
    carry = ""
    for line in text.splitlines():
        m = _LOG_START.search(line)
        if m is not None:
            carry += line[: m.start()]
            continue
        if not line.strip():
            continue
        out.append(carry + line)
        carry = ""
    if carry:
        out.append(carry)
    return out


# One axlog record as it is written: ESC[37m[time cpu:task module:line] ESC[<level>m message
# ESC[m, where the message can span lines (pretty-printed structures); plus its line end.
_RECORD = re.compile(rb"\x1b\[37m\[\s*\d+\.\d{6} [^\]]*\] \x1b\[\d+m.*?\x1b\[m\r*\n?",
                     re.DOTALL)


_ANSI_BYTES = re.compile(rb"\x1b\[[0-9;]*m")


def _without_records(data: bytes | bytearray) -> bytes:
    """`data` without well-formed log records and colour codes: what was written between
    them (the guest's output, a panic message)."""
    return _ANSI_BYTES.sub(b"", _RECORD.sub(b"", bytes(data)))


def guest_text(console: bytes) -> str:
    """The console without axvisor's log records: what the guest (and axvisor's banner and
    shell) printed. The guest writes the UART directly while axvisor logs, so a record can
    land inside a guest line (seen: `AX` + a multi-line trace record + `H:GUEST-START`)."""
    return _without_records(console).decode(errors="replace").replace("\r", "")


def guest_printed(console: bytes, marker: str) -> bool:
    """Whether the guest printed `marker`, log records interleaved or not: either whole in the
    raw console (it may sit inside a record that another CPU was writing, seen on -smp 2:
    `…run_queue:518] co` + the marker), or whole once the records are taken out (a record
    landed inside it). axvisor never prints the guest's markers itself."""
    return marker.encode() in console or marker in guest_text(console)


def without_last_record(console: bytes) -> bytes:
    """`console` up to where its last record starts, a log record or a synchronous `AXH-EXIT`
    one (for a run stopped mid-record)."""
    at = max(console.rfind(b"\x1b[37m["), console.rfind(b"AXH-EXIT "))
    return console if at < 0 else console[:at]


def logged(console: bytes, text: str) -> bool:
    """Whether axvisor logged `text` (within one record's message; colour codes ignored)."""
    return text.encode() in _ANSI_BYTES.sub(b"", console)


def panic_text(console: bytes) -> str | None:
    """`panicked at FILE:LINE:COL: message`, if axvisor panicked, with interleaved log
    records of other tasks removed (seen: a timer IRQ line inside the location and inside
    the message, and one between the `p` and the `anicked at`)."""
    at = console.find(b"panicked at ")
    if at < 0:
        console = _without_records(console)
        at = console.find(b"panicked at ")
        if at < 0:
            return None
    lines = _unbroken_lines(_ANSI.sub("", console[at: at + 8192].decode(errors="replace")))
    location = lines[0].strip()
    rest = lines[1:]
    while rest and rest[0].strip().startswith(":"):  # location continued after a record
        location += rest.pop(0).strip()
    message = rest[0].strip() if rest else ""
    return f"{location} {message}".strip()


# How far before the new bytes `watch` looks again: a marker can straddle two chunks, and a
# panic found earlier stays within PANIC_GRACE_BYTES of the end until its grace is over.
_RESCAN = 2 * PANIC_GRACE_BYTES


def watch(console: bytes | bytearray, new_from: int = 0) -> str | None:
    """Console watcher for QemuMachine.run_until: 'end' or 'panic: …' when the run is over.
    Only the bytes from `new_from` (less a rescan margin) are searched."""
    region = max(0, new_from - _RESCAN)
    m = PANIC.search(console, region)
    text: bytes | bytearray = console
    if m is None:  # a record may have been written into the middle of "panicked at"
        text = _without_records(console[region:])
        m = PANIC.search(text)
    if m is not None:
        if len(text) - m.end() >= PANIC_GRACE_BYTES or b"system_off" in text[m.end():] \
                or text.count(b"\n", m.end()) >= 4:
            return "panic: " + (panic_text(bytes(console)) or "")
        return None
    for marker in END_MARKERS:
        if console.find(marker, region) >= 0:
            return "end"
    return None
