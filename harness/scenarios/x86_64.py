"""x86_64 scenarios (16-bit real-mode guest). axvisor 0.5.8's SVM backend intercepts only ports
0x604-0x605 and 0xcf9 and has no port devices (axdevice 0.4.10 emulates none on x86), so an I/O
exit other than the 0x604 shutdown ends in axvisor's `emu_device not found` panic after the exit
has been logged; those scenarios declare that end."""

from __future__ import annotations

from harness.scenarios.actions import (
    Delay,
    Hypercall,
    JumpTo,
    MmioLoad,
    MmioStore,
    PortIn,
    PortOut,
    SystemOff,
    WaitForInterrupt,
)
from harness.scenarios.catalogue import Scenario

NO_DEVICE = "emu_device not found"
HOLE = 0xA_0000  # unmapped in images/vm-configs/x86_64.toml
# x86_vcpu 0.5.9 (SVM) reports the #NPF as NestedPageFault (svm/vcpu.rs:849-855); axvm finds no
# mapping to fix and axvisor 0.5.8 logs "unhandled vmexit" (vcpus.rs:564) and re-enters the
# guest at the same MOV, forever.
NPF_LOOP = "unhandled vmexit: NestedPageFault"
HC_ARGS = (0x1111, 0x2222, 0x3333, 0x4444, 0, 0)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("first-guest", "x86_64", "VMMCALL with four arguments, then the 0x604 shutdown",
             (Hypercall(0x4AB1, HC_ARGS),)),
    Scenario("hypercall-four-args", "x86_64", "VMMCALL: RAX = nr, RDI RSI RDX RCX = arguments",
             (Hypercall(0x4AB1, HC_ARGS),)),
    Scenario("system-off-0x604", "x86_64", "out 0x604, ax with AX = 0x2000 from the payload",
             (SystemOff(),), semantic="system-off"),
    # With IF = 0 nothing can wake the vCPU; axvisor 0.5.8 parks it (src/vmm/vcpus.rs:494).
    Scenario("hlt", "x86_64", "HLT with interrupts disabled (the runtime runs with IF = 0)",
             (WaitForInterrupt(),), expect_hang=True),
    Scenario("port-out-0x604-byte", "x86_64", "outb to 0x604: not the shutdown pattern",
             (PortOut(0x604, 1, 0x5A),), expect_panic=NO_DEVICE),
    Scenario("port-out-0x604-other-value", "x86_64", "outw 0x604 with AX = 0x1234",
             (PortOut(0x604, 2, 0x1234),), expect_panic=NO_DEVICE),
    Scenario("port-out-0x605-dword", "x86_64", "outl to 0x605 (intercepted, no device)",
             (PortOut(0x605, 4, 0xDEAD_BEEF),), expect_panic=NO_DEVICE),
    Scenario("port-in-0x604-word", "x86_64", "inw from 0x604 (intercepted, no device)",
             (PortIn(0x604, 2),), expect_panic=NO_DEVICE),
    Scenario("npf-store-byte", "x86_64", "movb to 0xA_0000, guest-physical memory nothing maps",
             (MmioStore(HOLE, 1, 0x5A),), expect_stuck=NPF_LOOP, last_exit_repeats=True,
             semantic="store-byte-outside-ram"),
    Scenario("npf-load-dword", "x86_64", "movl from 0xA_0010, guest-physical memory nothing maps",
             (MmioLoad(HOLE + 0x10, 4, reg=0),), expect_stuck=NPF_LOOP, last_exit_repeats=True,
             semantic="load-dword-outside-ram"),
    Scenario("fetch-unmapped-gpa", "x86_64", "ljmp to 0xA000:0000, memory nothing maps",
             (JumpTo(HOLE),), semantic="fetch-unmapped-gpa", expect_stuck=NPF_LOOP,
             last_exit_repeats=True),
    # x86_vcpu 0.5.9's SVM backend returns an INTR intercept (a host interrupt while the guest
    # runs) as Nothing, without a vector (src/svm/vcpu.rs:855-857); axvisor then takes the
    # interrupt. A guest busy for ~1 s under TCG sees the host timer (100 Hz) several times.
    Scenario("host-interrupt-while-running", "x86_64",
             "count 200 M loop iterations without trapping, then VMMCALL",
             (Delay(200_000_000), Hypercall(0x4AB1, HC_ARGS)), expect_async=("Nothing",),
             semantic="interrupt-while-guest-runs"),
    Scenario("port-in-0x605-byte", "x86_64", "inb from 0x605 (intercepted, no device)",
             (PortIn(0x605, 1),), expect_panic=NO_DEVICE),
    Scenario("port-in-0x604-dword", "x86_64", "inl from 0x604 (intercepted, no device)",
             (PortIn(0x604, 4),), expect_panic=NO_DEVICE),
    Scenario("port-out-0x605-word", "x86_64", "outw to 0x605 (intercepted, no device)",
             (PortOut(0x605, 2, 0xBEEF),), expect_panic=NO_DEVICE),
)
