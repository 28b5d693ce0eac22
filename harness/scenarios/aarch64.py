"""aarch64 scenarios. MMIO targets lie in the emulated vGIC distributor window
(0x0800_0000–0x0800_ffff, arm_vgic 0.2): accesses there are decoded by the vCPU and survive;
offsets 0xe00–0xeff are not registers this vGIC implements, so reads return 0 and writes are
ignored. Data values use distinct bytes so truncation and extension errors are visible."""

from __future__ import annotations

from harness.scenarios.actions import (
    Hypercall,
    JumpTo,
    MmioLoad,
    MmioStore,
    PsciCall,
    StartSecondary,
    SysRegRead,
    SysRegWrite,
    SystemOff,
    WaitForInterrupt,
)
from harness.scenarios.catalogue import Scenario

DEV = 0x0800_0E00
PATTERN = 0x1122_3344_5566_7788
HC_ARGS = (0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666)

_SIZES = {1: "b", 2: "h", 4: "w", 8: "x"}


def _scenarios() -> list[Scenario]:
    out = [
        Scenario("first-guest", "aarch64",
                 "32-bit MMIO store, HVC hypercall with six arguments, PSCI SYSTEM_OFF",
                 (MmioStore(DEV, 4, 0xDEAD_BEEF, reg=1), Hypercall(0x4AB1, HC_ARGS))),
        Scenario("hypercall-six-args", "aarch64", "HVC #0 with x0 = nr and x1..x6 = arguments",
                 (Hypercall(0x4AB1, HC_ARGS),), semantic="hypercall-six-args"),
        Scenario("mmio-store-w-deadbeef", "aarch64", "str w1 of 0xdeadbeef at the device",
                 (MmioStore(DEV, 4, 0xDEAD_BEEF, reg=1),), semantic="mmio-store-dword-deadbeef"),
        Scenario("system-off-smc", "aarch64", "PSCI SYSTEM_OFF through SMC instead of HVC",
                 (SystemOff(conduit="smc"),), semantic="system-off"),
        Scenario("system-off-hvc", "aarch64", "PSCI SYSTEM_OFF through HVC from the payload",
                 (SystemOff(conduit="hvc"),)),
    ]
    for width, suffix in _SIZES.items():
        out.append(Scenario(
            f"mmio-store-{suffix}", "aarch64",
            f"{width}-byte store of a 64-bit register pattern (only {width} bytes reach memory)",
            (MmioStore(DEV, width, PATTERN, reg=2),),
            semantic="store-byte-outside-ram" if width == 1 else ""))
        out.append(Scenario(
            f"mmio-load-{suffix}", "aarch64", f"{width}-byte zero-extending load into x/w3",
            (MmioLoad(DEV, width, reg=3),),
            semantic="load-dword-outside-ram" if width == 4 else ""))
    for width, suffix in ((1, "sb"), (2, "sh")):
        for wide in (False, True):
            out.append(Scenario(
                f"mmio-load-{suffix}-{'x' if wide else 'w'}", "aarch64",
                f"ldr{suffix} into a {'64' if wide else '32'}-bit register (sign-extending)",
                (MmioLoad(DEV, width, reg=4, signed=True, reg64=wide),)))
    out.append(Scenario("mmio-load-sw-x", "aarch64", "ldrsw into x5 (sign-extending)",
                        (MmioLoad(DEV, 4, reg=5, signed=True, reg64=True),)))
    out += [
        Scenario("mmio-store-wzr", "aarch64", "str wzr: the zero register as source",
                 (MmioStore(DEV, 4, 0, reg=31),)),
        Scenario("mmio-store-xzr", "aarch64", "str xzr: the zero register as source",
                 (MmioStore(DEV, 8, 0, reg=31),)),
        Scenario("mmio-store-pre-index", "aarch64", "str w6, [x9, #0]! (writeback: ISV = 0)",
                 (MmioStore(DEV, 4, 0xCAFE_F00D, reg=6, form="pre"),)),
        Scenario("mmio-load-post-index", "aarch64", "ldr x7, [x9], #0 (writeback: ISV = 0)",
                 (MmioLoad(DEV, 8, reg=7, form="post"),)),
        Scenario("mixed-sequence", "aarch64", "store, load, hypercall, store in one run",
                 (MmioStore(DEV, 1, 0xA5, reg=1), MmioLoad(DEV, 4, reg=2),
                  Hypercall(7, (1, 2, 3, 4, 5, 6)), MmioStore(DEV, 2, 0xBEEF, reg=8))),
    ]
    out += [
        Scenario("psci-cpu-off", "aarch64",
                 "PSCI CPU_OFF (0x8400_0002) via HVC: the only vCPU powers down and stays down",
                 (PsciCall(0x8400_0002),), semantic="cpu-off", expect_hang=True),
        Scenario("psci-cpu-on-absent", "aarch64",
                 "PSCI CPU_ON (0xC400_0003) for MPIDR 1, entry 0x8020_0000, context 0x42: "
                 "the VM has one vCPU",
                 (PsciCall(0xC400_0003, (1, 0x8020_0000, 0x42)),), semantic="cpu-on",
                 # Finding: a guest can panic axvisor 0.3.0-preview.2 this way (src/vmm/
                 # vcpus.rs:520) instead of getting PSCI INVALID_PARAMETERS back.
                 expect_panic="Physical CPU ID 1 not found in VM configuration"),
        # Finding: arm_vcpu 0.2.2 has no handler for an instruction abort (EC 0x20) and panics
        # the hypervisor (src/exception.rs:125-135) instead of returning NestedPageFault.
        Scenario("fetch-unmapped-gpa", "aarch64",
                 "br to 0x9000_0000: guest-physical memory with neither RAM nor a device",
                 (JumpTo(0x9000_0000),), semantic="fetch-unmapped-gpa",
                 expect_panic="handler not presents for EC_32"),
        Scenario("smc-non-psci", "aarch64",
                 "SMC with a non-PSCI function id (0x8200_0000, SiP service): for firmware",
                 (PsciCall(0x8200_0000, conduit="smc"),)),
        Scenario("psci-version-hvc", "aarch64",
                 "PSCI_VERSION (0x8400_0000) via HVC: not a power call, reported as a hypercall",
                 (PsciCall(0x8400_0000),)),
    ]
    emu = ("aarch64-emu-irq",)
    out += [
        Scenario("sysreg-read-cntpct", "aarch64", "mrs x5, cntpct_el0 (EL1 physical counter)",
                 (SysRegRead("cntpct_el0", reg=5),), images=emu),
        Scenario("sysreg-read-cntp-ctl", "aarch64", "mrs x6, cntp_ctl_el0",
                 (SysRegRead("cntp_ctl_el0", reg=6),), images=emu),
        Scenario("sysreg-write-cntp-ctl", "aarch64", "msr cntp_ctl_el0, x7 (timer disabled)",
                 (SysRegWrite("cntp_ctl_el0", 0, reg=7),), images=emu),
        Scenario("sysreg-write-cntp-tval", "aarch64", "msr cntp_tval_el0, x7 (far deadline)",
                 (SysRegWrite("cntp_tval_el0", 0x7FFF_FFFF, reg=7),), images=emu),
        Scenario("sgi1r-to-cpu0", "aarch64",
                 "msr icc_sgi1r_el1: SGI 1 to Aff0 = 0 (target list bit 0)",
                 (SysRegWrite("icc_sgi1r_el1", (1 << 24) | 1, reg=8),), images=emu),
        # axvisor 0.3.0-preview.2 logs the SendIPI exit, then src/vmm/vcpus.rs:541 panics with
        # `unimplemented!`: the exit is checked, the panic is this scenario's documented end.
        Scenario("sgi1r-to-all", "aarch64", "msr icc_sgi1r_el1: SGI 2 with IRM = 1 (all but self)",
                 (SysRegWrite("icc_sgi1r_el1", (1 << 40) | (2 << 24), reg=8),), images=emu,
                 expect_panic="Send IPI to all CPUs is not implemented yet"),
        # The guest's EL1 physical timer, emulated (CNTP_* trap as system registers): the
        # deadline is a host timer event; when it fires the vCPU exits with
        # ExternalInterrupt and axvisor injects the virtual timer PPI 30 through a list
        # register. The guest waits in WFI until ISR_EL1 shows that virtual IRQ pending, so a
        # timer that never reached the guest ends in a timeout, not a pass.
        Scenario("timer-interrupt-wakes-wfi", "aarch64",
                 "msr cntp_tval_el0 (1 ms), msr cntp_ctl_el0 (enable), wfi until ISR_EL1.I, "
                 "msr cntp_ctl_el0 (disable)",
                 (SysRegWrite("cntp_tval_el0", 62_500, reg=7),
                  SysRegWrite("cntp_ctl_el0", 1, reg=8),
                  WaitForInterrupt(),
                  SysRegWrite("cntp_ctl_el0", 0, reg=10)),
                 images=emu, expect_async=("ExternalInterrupt",),
                 semantic="interrupt-while-guest-runs"),
        Scenario("emu-first-guest", "aarch64",
                 "the first guest on the emulated-interrupt image",
                 (MmioStore(DEV, 4, 0xDEAD_BEEF, reg=1), Hypercall(0x4AB1, HC_ARGS)), images=emu),
    ]
    smp = ("aarch64-smp",)
    # Finding: axvisor 0.3.0-preview.2 handles SystemDown by marking the VM Stopping without
    # waking vCPUs parked after CpuDown (src/vmm/vcpus.rs:526-529; 0.5.8 adds
    # notify_all_vcpus there), so once vCPU 1 has powered off the VM never stops.
    stuck = "VM[1] run VCpu[0] SystemDown"
    out += [
        Scenario("psci-cpu-on-secondary", "aarch64",
                 "PSCI CPU_ON of vCPU 1 (MPIDR 1) with context 0x42: it stores x0 at the "
                 "device, makes a hypercall and powers off with CPU_OFF; vCPU 0 then powers the "
                 "system off",
                 (StartSecondary(1, 0x42, DEV + 0x10, 8, (Hypercall(0x5EC, HC_ARGS),)),),
                 semantic="cpu-on-secondary-runs", images=smp, expect_stuck=stuck),
        Scenario("psci-cpu-on-then-mmio", "aarch64",
                 "vCPU 0 and the started vCPU 1 both store to the device; each vCPU's exits are "
                 "checked in its own order",
                 (StartSecondary(1, 0xC0FFEE, DEV + 0x10, 8,
                                 (MmioStore(DEV, 4, 0x1111_2222, reg=4),)),
                  MmioStore(DEV + 4, 4, 0x3333_4444, reg=5)), images=smp, expect_stuck=stuck),
    ]
    return out


SCENARIOS: tuple[Scenario, ...] = tuple(_scenarios())
