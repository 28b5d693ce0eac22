"""What axvisor prints that tells the harness where a run is (read from axvisor 0.3.0-preview.2:
src/vmm/vcpus.rs, src/shell; ArceOS axruntime lang_items for panics)."""

from __future__ import annotations

import re

# After the last VM stops axvisor enters its shell instead of powering off (FACTS §4).
END_MARKERS = (b"Welcome to AxVisor Shell!", b"axvisor:$ ")
# ArceOS prints `panicked at FILE:LINE:COL:` and the message on the next line(s).
PANIC = re.compile(rb"panicked at [^\r\n]*")
VCPU_RUNNING = re.compile(rb"VM\[\d+\] VCpu\[\d+\] running\.\.\.")
GUEST_START = re.compile(rb"AXH:GUEST-START")
GUEST_END = re.compile(rb"AXH:GUEST-END")
# Bytes to keep reading after a panic line so the message and location are complete.
PANIC_GRACE_BYTES = 2048


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LOG_LINE = re.compile(r"^\s*\[\s*\d+\.\d+ ")
_EMBEDDED_LOG = re.compile(r"\[\s*\d+\.\d+ [^\]]*\][^\r\n]*?(?=:\d+:\d+:|$)")


def panic_text(console: bytes) -> str | None:
    """`panicked at FILE:LINE:COL: message`, if axvisor panicked. Other CPUs' log lines can be
    interleaved with the panic output (seen: a timer IRQ line inside the location), so they
    are removed from the location and skipped when looking for the message line."""
    at = console.find(b"panicked at ")
    if at < 0:
        return None
    lines = _ANSI.sub("", console[at: at + 4096].decode(errors="replace")).splitlines()
    location = _EMBEDDED_LOG.sub("", lines[0]).strip()
    rest = [ln for ln in lines[1:12] if ln.strip()]
    while rest and rest[0].strip().startswith(":"):  # the location was cut by a log line
        location += rest.pop(0).strip()
    message = next((ln.strip() for ln in rest if ln.strip() and not _LOG_LINE.match(ln)), "")
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
