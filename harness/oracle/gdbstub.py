"""A small client of QEMU's gdbstub (GDB remote serial protocol), in pure Python.

What the syndrome oracle needs and QEMU's trap log lacks — HPFAR_EL2 (the faulting IPA's page
when the guest's stage 1 is on), the guest's general-purpose registers (store data, HVC/SMC
arguments), SCTLR_EL1 (is stage 1 on?) — is in the CPU at the moment the trap reaches the
hypervisor. So: a breakpoint at axvisor's "synchronous exception from a lower EL" vector
(VBAR_EL2 + 0x400), and at each stop one `g` (x0–x30, sp, pc, cpsr) and a few `p` packets for
the system registers, then a single step (QEMU lets a single step pass its own breakpoint) and
continue. Register numbers come from the target description QEMU serves (`qXfer:features:read`),
not from a table of ours. No gdb binary is involved.

Packets used: QStartNoAckMode, qSupported, qXfer:features:read, Z0/z0, g, p, s, c, D. Protocol:
https://sourceware.org/gdb/current/onlinedocs/gdb.html/Remote-Protocol.html.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from harness.errors import InfraError

SYNC_LOWER_EL = 0x400  # offset of "Synchronous, lower EL using AArch64" in the vector table


class GdbError(InfraError):
    """The gdbstub did not answer as the protocol says: the harness's trouble, not axvisor's."""


@dataclass(frozen=True, slots=True)
class Register:
    name: str
    regnum: int
    bitsize: int


@dataclass(frozen=True, slots=True)
class TrapRegisters:
    """The CPU at one stop at the lower-EL vector: the guest's x0–x30 (still untouched), the
    syndrome registers and SCTLR_EL1 (bit 0: the guest's stage 1 is on)."""

    thread: int
    gprs: Mapping[int, int]
    esr: int
    far: int
    hpfar: int
    elr: int
    sctlr_el1: int
    extra: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gprs", MappingProxyType(dict(self.gprs)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def stage1_on(self) -> bool:
        return bool(self.sctlr_el1 & 1)


def checksum(data: bytes) -> int:
    return sum(data) % 256


def frame(data: str) -> bytes:
    """`$data#cc` with run-length-free escaping of the four reserved characters."""
    raw = data.encode()
    esc = re.sub(rb"[#$}*]", lambda m: b"}" + bytes([m.group(0)[0] ^ 0x20]), raw)
    return b"$" + esc + b"#" + f"{checksum(esc):02x}".encode()


def unescape(data: bytes) -> bytes:
    """Undo `}` escaping and `*` run-length encoding of a packet body."""
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x7D:  # }
            out.append(data[i + 1] ^ 0x20)
            i += 2
        elif c == 0x2A and out:  # * n: repeat the previous byte n - 29 times
            out.extend(out[-1:] * (data[i + 1] - 29))
            i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def le_hex(text: str) -> int:
    """A register value as the stub sends it: target byte order (little-endian here)."""
    return int.from_bytes(bytes.fromhex(text), "little")


_REG = re.compile(r"<reg\s([^>]*?)/?>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_INCLUDE = re.compile(r'<xi:include\s+href="([^"]+)"')


def registers_of(documents: Mapping[str, str], top: str = "target.xml") -> dict[str, Register]:
    """Every register of a target description by (lower-case) name, numbered as GDB numbers
    them: in document order through the includes, an explicit `regnum` resetting the count."""
    out: dict[str, Register] = {}
    nxt = 0

    def walk(name: str) -> None:
        nonlocal nxt
        text = documents[name]
        for m in re.finditer(rf"{_INCLUDE.pattern}|{_REG.pattern}", text):
            if m.group(1) is not None:
                walk(m.group(1))
                continue
            attrs = dict(_ATTR.findall(m.group(2)))
            num = int(attrs.get("regnum", nxt))
            out[attrs["name"].lower()] = Register(attrs["name"], num, int(attrs["bitsize"]))
            nxt = num + 1

    walk(top)
    return out


class GdbRemote:
    """One connection to a gdbstub on a unix socket (QemuMachine(gdb=True).gdb_socket)."""

    def __init__(self, path: Path, *, timeout_s: float = 10.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.sock.connect(str(path))
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    self.sock.close()
                    raise GdbError(f"cannot connect to the gdbstub at {path}: {exc}") from None
                time.sleep(0.02)
        self.sock.settimeout(timeout_s)
        self._buf = b""
        self.ack = True
        self.registers: dict[str, Register] = {}
        self.core_regs = 0
        self.packets = 0

    def close(self) -> None:
        self.sock.close()

    # -- transport -------------------------------------------------------------------------
    def _fill(self, timeout: float | None) -> bool:
        """Read more bytes; False at EOF."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise GdbError(f"the gdbstub sent nothing for {timeout} s") from None
        except ConnectionResetError:
            return False
        except OSError as exc:
            raise GdbError(f"gdbstub connection failed: {exc}") from None
        if not chunk:
            return False
        self._buf += chunk
        return True

    def send(self, data: str) -> None:
        self.packets += 1
        try:
            self.sock.sendall(frame(data))
        except (BrokenPipeError, ConnectionResetError):
            raise  # the stub went away (QEMU quit): the caller decides what that means
        except OSError as exc:
            raise GdbError(f"cannot send {data[:20]!r} to the gdbstub: {exc}") from None
        if self.ack:
            while not self._buf:
                if not self._fill(10.0):
                    raise GdbError("the gdbstub closed the connection")
            if self._buf[:1] != b"+":
                raise GdbError(f"the gdbstub refused {data[:20]!r} ({self._buf[:1]!r})")
            self._buf = self._buf[1:]

    def receive(self, timeout: float | None = 10.0) -> str | None:
        """The next packet's body, None if the stub closed the connection first."""
        while True:
            self._buf = self._buf.lstrip(b"+")
            start = self._buf.find(b"$")
            end = self._buf.find(b"#", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self._buf) >= end + 3:
                body = self._buf[start + 1: end]
                want = int(self._buf[end + 1: end + 3], 16)
                self._buf = self._buf[end + 3:]
                if checksum(body) != want:
                    raise GdbError(f"bad checksum on a gdbstub packet {body[:20]!r}")
                if self.ack:
                    self.sock.sendall(b"+")
                return unescape(body).decode("latin-1")
            if not self._fill(timeout):
                return None

    def command(self, data: str) -> str:
        self.send(data)
        reply = self.receive()
        if reply is None:
            raise GdbError(f"the gdbstub closed the connection after {data[:20]!r}")
        if reply.startswith("E") and len(reply) == 3:
            raise GdbError(f"the gdbstub answered {data[:30]!r} with error {reply}")
        return reply

    # -- session ---------------------------------------------------------------------------
    def start(self) -> None:
        """No-ack mode, features, and the register numbering of the target description."""
        if self.command("QStartNoAckMode") == "OK":
            self.ack = False
        self.command("qSupported:swbreak+;hwbreak+;xmlRegisters=aarch64")
        docs: dict[str, str] = {}
        todo = ["target.xml"]
        while todo:
            name = todo.pop()
            docs[name] = self._xfer(name)
            todo += [n for n in _INCLUDE.findall(docs[name]) if n not in docs]
        self.registers = registers_of(docs)
        core = [r for r in self.registers.values() if r.name in ("cpsr", "pc", "sp")]
        self.core_regs = max(r.regnum for r in core) + 1 if core else 0

    def _xfer(self, annex: str) -> str:
        out, offset = "", 0
        while True:
            reply = self.command(f"qXfer:features:read:{annex}:{offset:x},ffb")
            if reply[:1] not in ("m", "l"):
                raise GdbError(f"qXfer:features:read:{annex}: unexpected reply {reply[:30]!r}")
            out += reply[1:]
            offset += len(reply) - 1
            if reply[0] == "l":
                return out

    def regnum(self, name: str) -> int:
        try:
            return self.registers[name.lower()].regnum
        except KeyError:
            raise GdbError(f"the target description has no register {name}") from None

    def read(self, name: str) -> int:
        return le_hex(self.command(f"p{self.regnum(name):x}"))

    def write(self, name: str, value: int) -> None:
        reg = self.registers.get(name.lower())
        size = (reg.bitsize if reg else 64) // 8
        data = (value % (1 << size * 8)).to_bytes(size, "little").hex()
        if self.command(f"P{self.regnum(name):x}={data}") != "OK":
            raise GdbError(f"the gdbstub would not write {name}")

    def read_memory(self, addr: int, length: int) -> bytes:
        return bytes.fromhex(self.command(f"m{addr:x},{length:x}"))

    def read_core(self) -> list[int]:
        """x0..x30, sp, pc (64-bit each) and cpsr (32-bit) from one `g` packet."""
        data = self.command("g")
        vals = [le_hex(data[i * 16:(i + 1) * 16]) for i in range(33)]
        return [*vals, le_hex(data[33 * 16: 33 * 16 + 8])]

    def breakpoint(self, addr: int, *, insert: bool = True) -> None:
        if self.command(f"{'Z' if insert else 'z'}0,{addr:x},4") != "OK":
            raise GdbError(f"the gdbstub would not {'set' if insert else 'clear'} a "
                           f"breakpoint at {addr:#x}")

    def resume(self, step: bool = False) -> None:
        self.send("s" if step else "c")

    def detach(self) -> None:
        self.send("D")
