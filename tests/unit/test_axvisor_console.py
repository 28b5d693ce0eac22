"""Reading axvisor's console: end of run, and panic messages even when other tasks' log
records are interleaved with the panic output (as seen on real riscv64 and x86_64 runs)."""

from __future__ import annotations

from harness.run.axvisor_console import guest_printed, panic_text, watch

RECORD = "\x1b[37m[  0.448921 0:5 ax_plat_riscv64_qemu_virt::irq:202] \x1b[90mIRQ: timer\x1b[m\r\n"


def test_a_plain_panic_gives_location_and_message() -> None:
    console = (b"x\r\npanicked at src/a.rs:182:9:\r\n"
               b"assertion `left == right` failed\r\n  left: Byte\r\n")
    assert panic_text(console) == "panicked at src/a.rs:182:9: assertion `left == right` failed"


def test_a_record_inside_the_location_is_removed() -> None:
    console = ("panicked at src/devops_impl.rs" + RECORD + "\x1b[m:182:9:\r\r\n"
               "assertion `left == right` failed\r\r\n").encode()
    assert panic_text(console) == ("panicked at src/devops_impl.rs:182:9: "
                                   "assertion `left == right` failed")


def test_a_record_inside_the_message_is_removed() -> None:
    console = ("panicked at src/d.rs:182:9:\r\nassertion `left " + RECORD
               + "== right` failed\r\n").encode()
    assert panic_text(console) == "panicked at src/d.rs:182:9: assertion `left == right` failed"


def test_no_panic_is_none_and_the_shell_banner_ends_the_run() -> None:
    assert panic_text(b"all good\r\n") is None
    assert watch(b"...\r\nWelcome to AxVisor Shell!\r\n") == "end"
    assert watch(b"VM[1] VCpu[0] running...\r\n") is None


def test_a_guest_marker_split_by_a_log_record_is_still_seen() -> None:
    # Seen on riscv64: the guest's UART bytes and axvisor's timer-IRQ trace interleave.
    console = ("\x1b[mAX" + RECORD + RECORD + "\x1b[mH:GUEST-START riscv64\r\n").encode()
    assert guest_printed(console, "AXH:GUEST-START")
    assert not guest_printed(b"AXH:GUEST-END\r\n", "AXH:GUEST-START")


def test_a_guest_marker_inside_another_cpus_log_record_is_seen() -> None:
    # Seen on aarch64 -smp 2: CPU 1's scheduler trace was being written when the guest printed.
    console = (b"\x1b[37m[  4.430000 1:4 axtask::run_queue:518] \x1b[90mco"
               b"AXH:GUEST-START aarch64\r\n\x1b[mntext switch\x1b[m\r\n")
    assert guest_printed(console, "AXH:GUEST-START aarch64")


def test_a_multiline_trace_record_inside_a_guest_marker_is_removed() -> None:
    # Seen on aarch64 with emulated interrupts: a pretty-printed vCPU context frame.
    record = ("\x1b[37m[  1.129433 0:5 arm_vcpu::vcpu:299] \x1b[90mvmexit ctx:Frame {\r\n"
              "    gpr: [\r\n        0x0,\r\n    ],\r\n}\x1b[m\r\n")
    console = ("\x1b[mAX" + record + "\x1b[mH:GUEST-START aarch64\r\n").encode()
    assert guest_printed(console, "AXH:GUEST-START aarch64")


def _fed_in_chunks(data: bytes, size: int) -> str | None:
    """What QemuMachine.run_until sees: the growing console and where the new bytes start."""
    console = bytearray()
    for at in range(0, len(data), size):
        new_from = len(console)
        console += data[at: at + size]
        reason = watch(console, new_from)
        if reason is not None:
            return reason
    return None


def test_an_end_marker_split_across_chunks_far_into_a_long_console_is_seen() -> None:
    data = b"x" * 200_000 + b"\r\nWelcome to AxVisor Shell!\r\n"
    assert _fed_in_chunks(data, 7) == "end"


def test_a_panic_is_reported_once_its_message_has_arrived_in_later_chunks() -> None:
    data = (b"y" * 100_000 + b"panicked at src/a.rs:1:2:\r\nboom\r\n"
            + b"".join(b"line %d\r\n" % i for i in range(10)))
    reason = _fed_in_chunks(data, 5)
    assert reason == "panic: panicked at src/a.rs:1:2: boom"
    assert _fed_in_chunks(b"z" * 50_000, 4096) is None


def test_a_panic_with_a_record_between_its_first_letter_and_the_rest_is_seen() -> None:
    # Seen on x86_64-svm under load: the timer IRQ trace landed after the `p` of `panicked`.
    console = (b"\x1b[31memu_device read failed\x1b[m\r\r\r\n\x1b[mp"
               b"\x1b[37m[  0.166357 0:5 axplat_x86_qemu_q35::apic::irq_impl:167] "
               b"\x1b[90mIRQ 240\x1b[m\r\r\r\n"
               b"\x1b[manicked at /src/axdevice-0.4.10/src/device.rs:117:5:\r\n"
               b"emu_device not found\r\nBACKTRACE_BEGIN\r\nBACKTRACE_END\r\n\r\n"
               b"Shutting down...\r\n")
    assert panic_text(console) == "panicked at /src/axdevice-0.4.10/src/device.rs:117:5: " \
        "emu_device not found"
    ended = watch(console, 0)
    assert ended is not None and ended.startswith("panic: ") and "emu_device not found" in ended


def test_a_logged_error_is_found_whatever_its_colour() -> None:
    from harness.run.axvisor_console import logged

    console = (b"\x1b[37m[  0.48 0:5 riscv_vcpu::vcpu:641] \x1b[31m[AxErrorKind::Unsupported] "
               b"Unhandled virtual instruction csr=0x680\x1b[m\r\n")
    assert logged(console, "Unhandled virtual instruction csr=0x680")
    assert not logged(console, "Unhandled virtual instruction csr=0x600")


def test_declared_ends_cut_the_prediction_at_the_last_action() -> None:
    from harness.scenarios.catalogue import Scenario

    plain = Scenario("s", "riscv64", "x", ())
    assert not plain.ends_at_last_action
    for end in ({"expect_panic": "p"}, {"expect_hang": True}, {"last_exit_repeats": True},
                {"expect_vm_error": "e"}):
        assert Scenario("s", "riscv64", "x", (), **end).ends_at_last_action
    # expect_stuck alone keeps the rest: the VM runs on to its SystemDown first
    assert not Scenario("s", "aarch64", "x", (), expect_stuck="t").ends_at_last_action
    # a parked vCPU's repeated call neither: the other vCPUs run on to the VM's end
    assert not Scenario("s", "riscv64", "x", (), may_repeat_last_exit=True).ends_at_last_action


def test_a_repro_keeps_the_declared_per_vcpu_repeats() -> None:
    from harness.run.kit import DeclaredEnd

    end = DeclaredEnd(timeout_s=1.0, watchdog_s=1.0, may_repeat_last_exit=True)
    assert DeclaredEnd.from_json(end.to_json(), "end.json").may_repeat_last_exit


def test_console_input_is_typed_once_when_the_guest_asks_for_it() -> None:
    from harness.run.watchers import typing_watcher
    from harness.scenarios.catalogue import Scenario

    def plain(console: bytes | bytearray, new_from: int = 0) -> str | None:
        return None

    typed: list[bytes] = []
    sc = Scenario("s", "riscv64", "x", (), console_input=b"x")
    watch = typing_watcher(plain, sc, typed.append)
    console = bytearray(b"AXH:GUEST-START riscv64\n")
    watch(console, 0)
    assert typed == []
    at = len(console)
    console += b"AXH:WAIT-INPUT\n"
    watch(console, at)
    watch(console, len(console))
    assert typed == [b"x"]
    untyped = Scenario("s", "riscv64", "x", ())
    assert typing_watcher(plain, untyped, typed.append) is plain


# riscv64, seen in a suite run: a timer IRQ's records between `AXH:` and `WAIT-INPUT`.
GARBLED_START = b"\x1b[mAXH:GUEST-START riscv64\n\x1b[mAXH:"
GARBLED_REST = (b"\x1b[37m[  0.160704 0:5 ax_plat_riscv64_qemu_virt::irq:202] \x1b[90mIRQ: "
                b"timer\x1b[m\n\x1b[m\x1b[37m[  0.160874 0:5 riscv_vcpu::vcpu:346] \x1b[90m"
                b"vmexit_handler: Interrupt(5), sepc: 0x80200064, stval: 0x0\x1b[m\n\x1b[m"
                b"\x1b[37m[  0.161149 0:5 axvm::vm:527] \x1b[90mNothing\x1b[m\n\x1b[m"
                b"WAIT-INPUT\n")


def test_console_input_is_typed_when_a_log_record_lands_inside_the_request() -> None:
    """The input was never typed, the guest's wait ran out and the expected interrupt never
    came (judged a divergence)."""
    from harness.run.watchers import typing_watcher
    from harness.scenarios.catalogue import Scenario

    typed: list[bytes] = []
    sc = Scenario("s", "riscv64", "x", (), console_input=b"x")
    watch = typing_watcher(lambda console, new_from=0: None, sc, typed.append)
    console = bytearray(GARBLED_START)
    watch(console, 0)
    at = len(console)
    console += GARBLED_REST
    watch(console, at)
    assert typed == [b"x"]


def test_a_repro_types_console_input_when_a_log_record_lands_inside_the_request() -> None:
    """The same for the standalone kit's watcher (axharness repro, a bundle's run.py)."""
    from harness.run.kit import DeclaredEnd
    from harness.run.standalone import watcher

    typed: list[bytes] = []
    watch = watcher(DeclaredEnd(timeout_s=1.0, watchdog_s=1.0, console_input=b"x"),
                    typed.append)
    console = bytearray(GARBLED_START)
    watch(console, 0)
    at = len(console)
    console += GARBLED_REST
    watch(console, at)
    assert typed == [b"x"]


def test_a_record_cut_by_stopping_the_machine_is_dropped_whole() -> None:
    from harness.run.axvisor_console import without_last_record

    whole = b"\x1b[37m[  1.000000 0:5 axvm::vm:527] \x1b[90mNestedPageFault {\r\n}\x1b[m\r\n"
    cut = b"\x1b[37m[  1.000100 0:5 axvm::vm:527] \x1b[90mNestedPageFault {\r\n    addr: GP"
    assert without_last_record(whole + cut) == whole
    assert without_last_record(whole + b"AXH-EXIT vm=1 vcpu=0 MmioWr") == whole  # 0.8's too
    assert without_last_record(b"no records\r\n") == b"no records\r\n"


def test_may_stick_ends_like_expect_stuck_once_its_marker_went_by() -> None:
    import time as _time

    from harness.run.axvisor_console import watch as watch_plain
    from harness.run.watchers import console_watcher
    from harness.scenarios.catalogue import Scenario

    sc = Scenario("s", "riscv64", "x", (), may_stick="run VCpu[0] SystemDown")
    watch = console_watcher(sc, settle_s=0.05)
    console = bytearray(b"VM[1] run VCpu[0] SystemDown\n")
    assert watch(console, 0) is None
    _time.sleep(0.06)
    ended = watch(console, len(console))
    assert ended is not None and ended.startswith("stuck: ")
    assert console_watcher(Scenario("s", "riscv64", "x", ())) is watch_plain
