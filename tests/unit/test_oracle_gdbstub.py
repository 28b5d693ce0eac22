"""The gdbstub client: packet framing and escaping as the GDB remote protocol specifies, the
register numbering of a target description, a session against a scripted stub on a unix
socket, and the matching of tracer stops with the trap log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.oracle.gdbstub import (
    GdbError,
    GdbRemote,
    TrapRegisters,
    checksum,
    frame,
    le_hex,
    registers_of,
    unescape,
)
from harness.oracle.gdbtrace import match
from harness.oracle.records import A64Trap


def test_a_packet_is_framed_with_its_modulo_256_checksum_and_escapes_reserved_bytes() -> None:
    assert frame("g") == b"$g#67"  # 'g' = 0x67
    assert frame("OK") == b"$OK#9a"
    # '#' '$' '}' '*' are sent as '}' and the byte XOR 0x20
    assert frame("a#b") == b"$a}\x03b#" + f"{checksum(b'a}' + bytes([3]) + b'b'):02x}".encode()


def test_run_length_encoding_and_escapes_are_undone() -> None:
    # "0* " is '0' repeated 3 more times (' ' = 32 = 29 + 3), the protocol's own example
    assert unescape(b"0* ") == b"0000"
    assert unescape(b"}\x03}\x04") == b"#$"


def test_register_values_are_read_in_target_byte_order() -> None:
    assert le_hex("0010000000000000") == 0x1000
    assert le_hex("efbeadde") == 0xDEADBEEF


def test_registers_are_numbered_through_includes_and_explicit_regnums() -> None:
    docs = {
        "target.xml": '<target><xi:include href="core.xml"/><xi:include href="sys.xml"/>'
                      '</target>',
        "core.xml": '<feature><reg name="x0" bitsize="64"/><reg name="x1" bitsize="64"/>'
                    '<reg name="cpsr" bitsize="32"/></feature>',
        "sys.xml": '<feature><reg name="ESR_EL2" bitsize="64" regnum="74"/>'
                   '<reg name="FAR_EL2" bitsize="64"/></feature>',
    }
    regs = registers_of(docs)
    assert [regs[n].regnum for n in ("x0", "x1", "cpsr", "esr_el2", "far_el2")] == \
        [0, 1, 2, 74, 75]
    assert regs["esr_el2"].name == "ESR_EL2" and regs["cpsr"].bitsize == 32


def test_a_session_reads_registers_by_the_names_of_the_target_description(
        fake_gdbstub: Callable[[Callable[[str], str | None]], Path]) -> None:
    docs = {"target.xml": '<target><xi:include href="s.xml"/></target>',
            "s.xml": '<feature><reg name="x0" bitsize="64"/>'
                     '<reg name="HPFAR_EL2" bitsize="64" regnum="168"/></feature>'}

    def answer(body: str) -> str:
        if body.startswith("qXfer:features:read:"):
            return "l" + docs[body.split(":")[3]]
        return {"QStartNoAckMode": "OK", "pa8": "f000080000000000", "Z0,ffff80001400,4": "OK"
                }.get(body.split(";")[0] if body.startswith("qSupported") else body,
                      "PacketSize=1000")

    gdb = GdbRemote(fake_gdbstub(answer))
    gdb.start()
    assert not gdb.ack and gdb.regnum("hpfar_el2") == 168
    assert gdb.read("HPFAR_EL2") == 0x800F0  # "p" + hex 168 = pa8; bytes f0 00 08 00 …
    gdb.breakpoint(0xFFFF80001400)
    gdb.close()


@pytest.mark.parametrize(("reply", "message"), [
    ("E01", "answered 'p0' with error E01"),
    (None, "closed the connection"),
])
def test_an_error_reply_or_a_closed_stub_is_a_gdb_error(
        fake_gdbstub: Callable[[Callable[[str], str | None]], Path], reply: str | None,
        message: str) -> None:
    gdb = GdbRemote(fake_gdbstub(lambda body: reply))
    with pytest.raises(GdbError, match=message):
        gdb.command("p0")
    gdb.close()


def _trap(line: int, esr: int, elr: int, *, index: int = 4, from_el: int = 1) -> A64Trap:
    return A64Trap(line=line, cpu=0, index=index, name="x", from_el=from_el, to_el=2, esr=esr,
                   far=None, elr=elr)


def _regs(esr: int, elr: int) -> TrapRegisters:
    return TrapRegisters(thread=1, gprs={0: 1}, esr=esr, far=0, hpfar=0, elr=elr, sctlr_el1=1)


def test_tracer_stops_pair_with_the_synchronous_guest_traps_of_the_log_in_order() -> None:
    traps = [_trap(1, 0x5E000000, 0x100), _trap(2, 0, 0x104, index=5),  # an IRQ: no stop
             _trap(3, 0x93800006, 0x200, from_el=2),  # the hypervisor's own: no stop
             _trap(4, 0x93800046, 0x300)]
    got, problems = match(traps, [_regs(0x5E000000, 0x100), _regs(0x93800046, 0x300)])
    assert problems == [] and sorted(got) == [0, 1] and got[1].elr == 0x300


def test_a_stop_whose_syndrome_is_not_the_log_s_ends_the_matching_with_the_reason() -> None:
    traps = [_trap(1, 0x5E000000, 0x100), _trap(4, 0x93800046, 0x300)]
    got, problems = match(traps, [_regs(0x5E000000, 0x100), _regs(0x93800006, 0x300)])
    assert sorted(got) == [0]
    assert problems == ["trap log line 4: ESR 0x93800046 ELR 0x300, gdbstub stop 1: "
                        "ESR 0x93800006 ELR 0x300"]
    _, problems = match(traps, [_regs(0x5E000000, 0x100)])
    assert problems == ["2 synchronous guest traps in the log, 1 gdbstub stops"]
