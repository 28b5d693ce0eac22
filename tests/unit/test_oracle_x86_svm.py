"""The x86 SVM rules, on EXITINFO values assembled by hand from the APM vol. 2 layouts (IOIO
§15.10.2, NPF §15.25.6; fields spelt out next to each value)."""

from __future__ import annotations

from harness.model.exits import IoWrite, NestedPageFault
from harness.model.schemas import schema
from harness.model.values import AccessWidth, GuestPhysAddr, MappingFlags, Port
from harness.oracle.context import TrapContext
from harness.oracle.expect import Outcome, judge
from harness.oracle.predict import expect
from harness.oracle.records import SvmExit

S01, S02, S06 = (schema(f"axvcpu-0.{n}") for n in (1, 2, 6))

G = S02


def vmexit(code: int, info1: int = 0, info2: int = 0) -> SvmExit:
    return SvmExit(line=1, cpu=0, exitcode=code, exitinfo1=info1, exitinfo2=info2, rip=0x3000)


def test_out_word_to_0x604_with_ax_0x2000_is_system_down() -> None:
    info1 = 0x604 << 16 | 1 << 5  # PORT [31:16], SZ16 [5], TYPE 0 = OUT
    assert info1 == 0x0604_0020  # what QEMU logged for the runtime's power-off
    assert expect(vmexit(0x7B, info1), TrapContext(G, {0: 0x2000})).variants == ("SystemDown",)


def test_out_of_another_value_is_io_write_with_ax() -> None:
    exp = expect(vmexit(0x7B, 0x604 << 16 | 1 << 5), TrapContext(G, {0: 0xFFFF_1234}))
    assert judge(exp, IoWrite(Port(0x604), AccessWidth.Word, 0x1234)).outcome is Outcome.AGREE


def test_out_without_rax_decides_port_and_width() -> None:
    exp = expect(vmexit(0x7B, 0x605 << 16 | 1 << 6), TrapContext(G))
    assert exp.candidates[0].fields == {"port": 0x605, "width": "Dword"}


def test_in_is_io_read_of_the_logged_port_and_size() -> None:
    exp = expect(vmexit(0x7B, 0x604 << 16 | 1 << 6 | 1), TrapContext(G))  # SZ32, TYPE = IN
    assert exp.variants == ("IoRead",)
    assert exp.candidates[0].fields == {"port": 0x604, "width": "Dword"}


def test_string_io_has_no_exit() -> None:
    exp = expect(vmexit(0x7B, 0x604 << 16 | 1 << 4 | 1 << 2), TrapContext(G))  # STR
    assert not exp.candidates


def test_nested_page_faults_take_the_access_from_the_error_code() -> None:
    store = expect(vmexit(0x400, 1 << 32 | 1 << 2 | 1 << 1, 0xA_0000), TrapContext(G))
    want = NestedPageFault(GuestPhysAddr(0xA_0000), MappingFlags(MappingFlags.WRITE))
    assert judge(store, want).outcome is Outcome.AGREE
    fetch = expect(vmexit(0x400, 1 << 32 | 1 << 4 | 1 << 2, 0xA_0000), TrapContext(G))
    assert fetch.candidates[0].fields["access_flags"] == MappingFlags.EXECUTE
    load = expect(vmexit(0x400, 1 << 32 | 1 << 2, 0xA_0010), TrapContext(G))
    assert load.candidates[0].fields == {"addr": 0xA_0010, "access_flags": MappingFlags.READ}


def test_vmmcall_is_a_hypercall_from_rax_and_the_argument_registers() -> None:
    regs = {0: 0x4AB1, 7: 1, 6: 2, 2: 3, 1: 4, 8: 5, 9: 6}
    exp = expect(vmexit(0x81), TrapContext(G, regs))
    assert exp.candidates[0].fields == {"nr": 0x4AB1, "args": [1, 2, 3, 4, 5, 6]}


def test_hlt_intr_and_vmexit_invalid() -> None:
    assert expect(vmexit(0x78), TrapContext(G)).variants == ("Halt",)
    assert expect(vmexit(0x60), TrapContext(G)).asynchronous
    assert expect(vmexit(0xFFFF_FFFF), TrapContext(G)).variants == ("FailEntry",)
