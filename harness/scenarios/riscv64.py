"""riscv64 scenarios. The only emulated MMIO device is the partial-passthrough PLIC
(riscv_vplic 0.4.12 at 0x0c00_0000): it asserts 32-bit accesses, and pending words past the last
interrupt source (offset 0x1f00 here) are ignored. Scenarios that need another width end with the
device's assertion panic, after the exit under test has been logged."""

from __future__ import annotations

from harness.scenarios.actions import (
    AtomicSwap,
    AwaitConsoleInput,
    Hypercall,
    JumpTo,
    MmioLoad,
    MmioStore,
    SbiCall,
    StartSecondary,
    SysRegRead,
    SysRegWrite,
    SystemOff,
)
from harness.scenarios.catalogue import Scenario

DEV = 0x0C00_1F00
PATTERN = 0x1122_3344_5566_7788
HC_ARGS = (0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666)
WIDTH_PANIC = "assertion `left == right` failed"
EID_DBCN = 0x4442434E
EID_HSM = 0x48534D
# The vPLIC passes priority, enable and threshold writes through to the host PLIC at the same
# address (riscv_vplic 0.4.12 src/devops_impl.rs:260-311); context 1 is hart 0's S-mode.
PLIC_PRIORITY_UART = 0x0C00_0000 + 4 * 10  # source 10: the ns16550 on QEMU virt
PLIC_ENABLE_CTX1 = 0x0C00_2080
PLIC_THRESHOLD_CTX1 = 0x0C20_1000


def _scenarios() -> list[Scenario]:
    out = [
        Scenario("first-guest", "riscv64",
                 "32-bit MMIO store, hypercall extension call with six arguments, SBI SRST",
                 (MmioStore(DEV, 4, 0xDEAD_BEEF, reg=11), Hypercall(0x4AB1, HC_ARGS))),
        Scenario("hypercall-six-args", "riscv64", "ecall, a7 = 0x485643, a6 = nr, a0..a5 = args",
                 (Hypercall(0x4AB1, HC_ARGS),), semantic="hypercall-six-args"),
        Scenario("mmio-store-w-deadbeef", "riscv64", "sw of 0xdeadbeef at the device",
                 (MmioStore(DEV, 4, 0xDEAD_BEEF, reg=11),), semantic="mmio-store-dword-deadbeef"),
        Scenario("system-off-srst", "riscv64", "SBI SRST shutdown from the payload",
                 (SystemOff(conduit="srst"),), semantic="system-off"),
        Scenario("system-off-legacy", "riscv64", "legacy SBI shutdown (EID 8)",
                 (SystemOff(conduit="legacy"),)),
        Scenario("mmio-store-sw-pattern", "riscv64", "sw of a 64-bit register: 4 bytes stored",
                 (MmioStore(DEV, 4, PATTERN, reg=12),)),
        Scenario("mmio-store-x0", "riscv64", "sw x0: the zero register as source",
                 (MmioStore(DEV, 4, 0, reg=0),)),
        Scenario("mmio-load-lw", "riscv64", "lw (sign-extending 32-bit load)",
                 (MmioLoad(DEV, 4, reg=13, signed=True),)),
        Scenario("mmio-load-lwu", "riscv64", "lwu (zero-extending 32-bit load)",
                 (MmioLoad(DEV, 4, reg=14, signed=False),), semantic="load-dword-outside-ram"),
        Scenario("mmio-store-c-sw", "riscv64", "c.sw (compressed 32-bit store)",
                 (MmioStore(DEV, 4, 0xCAFE_F00D, reg=9, form="compressed"),)),
        Scenario("mmio-load-c-lw", "riscv64", "c.lw (compressed sign-extending 32-bit load)",
                 (MmioLoad(DEV, 4, reg=10, signed=True, form="compressed"),)),
        Scenario("sbi-dbcn-write-byte", "riscv64", "SBI DBCN console_write_byte('!') (forwarded)",
                 (SbiCall(EID_DBCN, 2, (0x21,)),)),
        Scenario("sbi-legacy-putchar", "riscv64", "legacy SBI console_putchar('#') (forwarded)",
                 (SbiCall(1, 0, (0x23,)),)),
        Scenario("hsm-hart-stop", "riscv64",
                 "SBI HSM HART_STOP: the only hart stops and stays stopped",
                 (SbiCall(EID_HSM, 1),), semantic="cpu-off", expect_hang=True),
        Scenario("hsm-hart-start-absent", "riscv64",
                 "SBI HSM HART_START for hart 1 at 0x8020_0000 with opaque 0x42: the VM has "
                 "one vCPU",
                 (SbiCall(EID_HSM, 0, (1, 0x8020_0000, 0x42)),), semantic="cpu-on",
                 # Finding: a guest can panic axvisor 0.5.8 this way (src/vmm/vcpus.rs:525)
                 # instead of getting SBI_ERR_INVALID_PARAM back.
                 expect_panic="Physical CPU ID 1 not found in VM configuration"),
        Scenario("hsm-hart-suspend", "riscv64",
                 "SBI HSM HART_SUSPEND (default retentive): the hart idles until an interrupt",
                 (SbiCall(EID_HSM, 3, (0, 0, 0)),), expect_hang=True),
        Scenario("mixed-sequence", "riscv64", "store, load, hypercall, store in one run",
                 (MmioStore(DEV, 4, 0xA5, reg=11), MmioLoad(DEV, 4, reg=12, signed=False),
                  Hypercall(7, (1, 2, 3, 4, 5, 6)), MmioStore(DEV, 4, 0xBEEF, reg=13))),
        # riscv_vcpu 0.5.9 reports the AMO's guest-page fault as NestedPageFault (vcpu.rs:880-886);
        # axvm finds no mapping to fix, axvisor 0.5.8 logs "unhandled vmexit" (vcpus.rs:564)
        # and re-enters the guest at the same AMO, forever.
        Scenario("amo-swap-w-at-device", "riscv64",
                 "amoswap.w at the device: a read-modify-write no single MMIO exit can express",
                 (AtomicSwap(DEV, 4, 0x5A5A_5A5A, reg=12, rd=13),),
                 expect_stuck="unhandled vmexit: NestedPageFault", last_exit_repeats=True),
        # Finding: riscv_vcpu 0.5.9 handles only load/store guest-page faults; an instruction
        # guest-page fault panics the hypervisor (src/vcpu.rs:604-620).
        Scenario("fetch-unmapped-gpa", "riscv64",
                 "jr to 0x9000_0000: guest-physical memory with neither RAM nor a device",
                 (JumpTo(0x9000_0000),), semantic="fetch-unmapped-gpa",
                 expect_panic="Unhandled trap: Exception(20)"),
        # riscv_vcpu 0.5.9 emulates only stimecmp on a virtual-instruction trap and returns an
        # error for every other CSR (src/vcpu.rs:635-651); axvisor 0.5.8 logs it and stops
        # the VM (src/vmm/vcpus.rs:568-573).
        Scenario("csr-read-hgatp", "riscv64",
                 "csrr a0, hgatp from VS-mode: a hypervisor CSR, a virtual-instruction trap",
                 (SysRegRead("hgatp", reg=10),), expect_vm_error="Unhandled virtual instruction"),
        Scenario("csr-write-hstatus", "riscv64",
                 "csrw hstatus, a1 from VS-mode: a hypervisor CSR, a virtual-instruction trap",
                 (SysRegWrite("hstatus", 0x2_0000_0000, reg=11),),
                 expect_vm_error="Unhandled virtual instruction"),
        # The UART's receive interrupt reaches the host's S-mode external interrupt while the
        # guest runs: riscv_vcpu 0.5.9 returns ExternalInterrupt (src/vcpu.rs:592-599), the
        # platform claims source 10 and injects it into the VM (ax-plat-riscv64-qemu-virt
        # 0.5.9 src/irq.rs:226-251).
        Scenario("uart-rx-external-interrupt", "riscv64",
                 "UART receive interrupt enabled through the vPLIC (priority, context-1 enable, "
                 "threshold); the harness types a byte; the guest reads it",
                 (MmioStore(PLIC_PRIORITY_UART, 4, 1, reg=11),
                  MmioStore(PLIC_ENABLE_CTX1, 4, 1 << 10, reg=12),
                  MmioStore(PLIC_THRESHOLD_CTX1, 4, 0, reg=13),
                  AwaitConsoleInput(),
                  MmioStore(PLIC_ENABLE_CTX1, 4, 0, reg=14)),
                 console_input=b"x", expect_async=("ExternalInterrupt",),
                 semantic="interrupt-while-guest-runs"),
        Scenario("hsm-hart-start-secondary", "riscv64",
                 "SBI HSM HART_START of hart 1 with opaque 0x42: it stores a1 at the device, "
                 "makes a hypercall and stops with HART_STOP; hart 0 then shuts down",
                 (StartSecondary(1, 0x42, DEV, 4, (Hypercall(0x5EC, HC_ARGS),)),),
                 semantic="cpu-on-secondary-runs", images=("riscv64-smp",),
                 # Finding: the parked hart is woken onto CPU 1's run queue without an IPI
                 # (ax-task 0.5.16 src/run_queue.rs:271-272 ignores `resched` for another
                 # CPU's queue); if CPU 1 sits in WFI with no timer armed, it never runs and
                 # the VM never stops (1 CI run in ~40). The exits are all logged before that.
                 may_stick="run VCpu[0] SystemDown"),
    ]
    for width, op in ((1, "b"), (2, "h"), (8, "d")):
        out.append(Scenario(
            f"mmio-store-s{op}", "riscv64",
            f"s{op}: {width}-byte store (the vPLIC then asserts Dword and panics)",
            (MmioStore(DEV, width, PATTERN, reg=12),), expect_panic=WIDTH_PANIC,
            semantic="store-byte-outside-ram" if width == 1 else ""))
        signed_ops = ((True, f"l{op}"),) + (((False, f"l{op}u"),) if width != 8 else ())
        for signed, name in signed_ops:
            out.append(Scenario(
                f"mmio-load-{name}", "riscv64",
                f"{name}: {width}-byte load (the vPLIC then asserts Dword and panics)",
                (MmioLoad(DEV, width, reg=13, signed=signed),), expect_panic=WIDTH_PANIC))
    return out


SCENARIOS: tuple[Scenario, ...] = tuple(_scenarios())
