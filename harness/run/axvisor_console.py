"""What axvisor prints that tells the harness where a run is (read from axvisor 0.3.0-preview.2:
src/vmm/vcpus.rs, src/shell; ArceOS axruntime lang_items for panics)."""

from __future__ import annotations

import re

# After the last VM stops axvisor enters its shell instead of powering off (FACTS §4).
END_MARKERS = (b"Welcome to AxVisor Shell!", b"axvisor:$ ")
PANIC = re.compile(rb"panicked at [^\r\n]*")
VCPU_RUNNING = re.compile(rb"VM\[\d+\] VCpu\[\d+\] running\.\.\.")
GUEST_START = re.compile(rb"AXH:GUEST-START")
GUEST_END = re.compile(rb"AXH:GUEST-END")
# Bytes to keep reading after a panic line so the message and location are complete.
PANIC_GRACE_BYTES = 2048


def watch(console: bytes) -> str | None:
    """Console watcher for QemuMachine.run_until: 'end' or 'panic: …' when the run is over."""
    m = PANIC.search(console)
    if m is not None:
        if len(console) - m.end() >= PANIC_GRACE_BYTES or b"system_off" in console[m.end():] \
                or console.count(b"\n", m.end()) >= 4:
            return "panic: " + m.group(0).decode(errors="replace")
        return None
    for marker in END_MARKERS:
        if marker in console:
            return "end"
    return None
