"""The riscv64 gdbstub tracer: a `g` reply's layout, which logged traps are the guest's (those
that stopped at riscv_vcpu's `_guest_exit`), and how the tracer leaves the breakpoint without
single-stepping (against a scripted stub)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.oracle.records import RvTrap
from harness.oracle.rvtrace import (
    CSRRW_A0_SSCRATCH_A0,
    INTERRUPT,
    RvTrapRegisters,
    RvTrapTracer,
    classify,
    parse_g,
)

GUEST_PC = 0xFFFF_FFFF_8000_DD50
HS_PC = 0xFFFF_FFC0_8025_6F36

Stub = Callable[[Callable[[str], str | None]], Path]  # tests/unit/conftest.py's fake


def _trap(line: int, cause: int, epc: int, *, is_async: bool = False, tval: int = 0) -> RvTrap:
    return RvTrap(line, 0, is_async, cause, epc, tval, "d")


def _stop(cause: int, sepc: int, *, is_async: bool = False, stval: int = 0) -> RvTrapRegisters:
    return RvTrapRegisters(thread=1, gprs={17: 0x54494D45}, pc=0, scause=cause | (
        INTERRUPT if is_async else 0), stval=stval, htval=0, htinst=0, sepc=sepc, vsatp=0)


def test_a_riscv_g_reply_is_x0_to_x31_then_pc_in_target_byte_order() -> None:
    words = [(i * 0x0101).to_bytes(8, "little").hex() for i in range(33)]
    regs = parse_g("".join(words))
    assert regs[0] == 0 and regs[17] == 17 * 0x0101 and regs[32] == 32 * 0x0101
    with pytest.raises(ValueError, match="528"):
        parse_g("00" * 8)


def test_the_guest_s_traps_are_exactly_those_that_stopped_at_guest_exit() -> None:
    traps = [_trap(1, 10, GUEST_PC),  # VS ecall: stopped
             _trap(2, 9, HS_PC),  # the hypervisor's own SBI call to OpenSBI: no stop
             _trap(3, 5, HS_PC + 4, is_async=True),  # HS timer while axvisor ran: no stop
             _trap(4, 5, GUEST_PC + 4, is_async=True),  # HS timer while the guest ran
             _trap(5, 6, GUEST_PC, is_async=True),  # VS timer: delegated to the guest
             _trap(6, 21, GUEST_PC, tval=0xFF20_0000_0080_2080)]
    stops = [_stop(10, GUEST_PC), _stop(5, GUEST_PC + 4, is_async=True),
             _stop(21, GUEST_PC, stval=0xFF20_0000_0080_2080)]
    pairs, problems = classify(traps, stops)
    assert problems == []
    assert [t.line for t, _ in pairs] == [1, 4, 6]
    assert all(r is s for (_, r), s in zip(pairs, stops, strict=True))


def test_a_guest_only_trap_that_is_not_the_next_stop_ends_the_classification() -> None:
    traps = [_trap(1, 10, GUEST_PC), _trap(7, 23, GUEST_PC, tval=8)]
    pairs, problems = classify(traps, [_stop(10, GUEST_PC), _stop(5, GUEST_PC + 4,
                                                                  is_async=True)])
    assert [t.line for t, _ in pairs] == [1]
    assert problems == [f"trap log line 7: cause 23 epc {GUEST_PC:#x} is the guest's, but stop "
                        f"1: scause {INTERRUPT | 5:#x} sepc {GUEST_PC + 4:#x}"]


def test_stops_that_match_no_logged_trap_are_reported() -> None:
    pairs, problems = classify([_trap(1, 10, GUEST_PC)],
                               [_stop(10, GUEST_PC), _stop(10, GUEST_PC)])
    assert len(pairs) == 1
    assert problems == [f"1 gdbstub stop(s) match no logged trap (first: scause 0xa sepc "
                        f"{GUEST_PC:#x})"]


def _scripted(fake_gdbstub: Stub, bp: int, sent: list[str]) -> Path:
    """A stub that stops once at `bp` after the first continue, serves g/p/m/P, and closes the
    connection at the second continue (QEMU quitting)."""
    docs = ('<target><feature>' + "".join(
        f'<reg name="x{i}" bitsize="64"/>' for i in range(32)) + '<reg name="pc" bitsize="64"/>'
        + "".join(f'<reg name="{c}" bitsize="64" regnum="{100 + n}"/>' for n, c in enumerate(
            ("scause", "stval", "htval", "htinst", "sepc", "vsatp", "sscratch")))
        + '<reg name="a0" bitsize="64" regnum="10"/></feature></target>')
    csr = {"64": INTERRUPT | 5, "68": 0xFFFF_FFFF_8000_1000, "6a": 0xFFFF_C0DE}

    def answer(body: str) -> str | None:
        sent.append(body)
        if body.startswith("qXfer:features:read:"):
            return "l" + docs
        if body == "c":
            return "T05thread:01;" if sent.count("c") == 1 else None
        if body == "g":
            return "".join((0xA0 if i == 10 else i).to_bytes(8, "little").hex()
                           for i in range(32)) + bp.to_bytes(8, "little").hex()
        if body.startswith("p"):
            return csr.get(body[1:], 0).to_bytes(8, "little").hex()
        if body.startswith("m"):
            return CSRRW_A0_SSCRATCH_A0.to_bytes(4, "little").hex()
        return "OK" if body[:1] in ("P", "Z", "Q") else "PacketSize=1000"

    return fake_gdbstub(answer)


def test_the_tracer_leaves_guest_exit_by_doing_its_csrrw_and_never_steps_or_moves_the_bp(
        fake_gdbstub: Stub) -> None:
    """QEMU 10 flushes its whole translation cache whenever single-stepping or a breakpoint
    is switched; the tracer swaps a0 and sscratch and sets pc past the instruction instead."""
    bp, sent = 0xFFFF_FFC0_8020_0318, list[str]()
    tracer = RvTrapTracer(_scripted(fake_gdbstub, bp, sent), bp)
    tracer.start()
    result = tracer.finish()
    assert result.error == "" and result.stops == 1
    rec = result.records[0]
    assert rec.is_async and rec.cause == 5 and rec.sepc == 0xFFFF_FFFF_8000_1000
    assert rec.gprs[10] == 0xA0 and rec.extra["sscratch"] == 0xFFFF_C0DE
    after = sent[sent.index("c") + 1:]
    writes = [b for b in after if b.startswith("P")]
    assert writes == ["Pa=dec0ffff00000000", "P6a=a000000000000000",
                      f"P20={(bp + 4).to_bytes(8, 'little').hex()}"]
    assert not any(b == "s" or b[:2] in ("Z0", "z0") for b in after)
