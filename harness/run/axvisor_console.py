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


def guest_printed(console: bytes, marker: str) -> bool:
    """Whether the guest printed `marker`. The guest writes the UART directly while axvisor
    logs, so a log record can split the marker (seen: `AX` + a timer IRQ record + `H:GUEST…`)."""
    text = _ANSI.sub("", console.decode(errors="replace"))
    return marker in text or any(marker in ln for ln in _unbroken_lines(text))


def panic_text(console: bytes) -> str | None:
    """`panicked at FILE:LINE:COL: message`, if axvisor panicked, with interleaved log
    records of other tasks removed (seen: a timer IRQ line inside the location and inside
    the message)."""
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


def watch(console: bytes) -> str | None:
    """Console watcher for QemuMachine.run_until: 'end' or 'panic: …' when the run is over."""
    m = PANIC.search(console)
    if m is not None:
        if len(console) - m.end() >= PANIC_GRACE_BYTES or b"system_off" in console[m.end():] \
                or console.count(b"\n", m.end()) >= 4:
            return "panic: " + (panic_text(console) or "")
        return None
    for marker in END_MARKERS:
        if marker in console:
            return "end"
    return None
