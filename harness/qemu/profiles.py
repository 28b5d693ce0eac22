"""QEMU machine profiles: how each kind of image is booted (binary, machine, CPU, accelerator).

A profile is data; the machine module turns it into a command line. `timeout_s` is the
wall-clock budget of one run under TCG; KVM runs get a fraction of it (see `scaled`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from harness.errors import UsageError


@dataclass(frozen=True, slots=True)
class MachineProfile:
    name: str
    arch: str
    binary: str
    machine: str
    cpu: str
    accel: str  # "tcg" or "kvm"
    memory: str
    smp: int
    extra: tuple[str, ...] = ()
    timeout_s: float = 120.0  # whole run, TCG
    watchdog_s: float = 30.0  # longest silence on the console, TCG
    needs: str = ""  # host capability the profile requires ("kvm", "kvm-vmx", ...), "" for none

    def argv(self, kernel: str) -> list[str]:
        return [
            self.binary,
            "-machine", self.machine,
            "-cpu", self.cpu,
            "-accel", self.accel,
            "-m", self.memory,
            "-smp", str(self.smp),
            "-kernel", kernel,
            *self.extra,
        ]

    def scaled(self, scale: float) -> tuple[float, float]:
        """(timeout, watchdog) for this accelerator and the user's --timeout-scale."""
        check_timeout_scale(scale)
        factor = scale * (0.25 if self.accel == "kvm" else 1.0)
        return self.timeout_s * factor, self.watchdog_s * factor


# 120 s × 1000 is 33 hours: beyond that a "timeout" no longer bounds anything.
MAX_TIMEOUT_SCALE = 1000.0


def check_timeout_scale(scale: float) -> float:
    """`scale` if it is a usable --timeout-scale: NaN or infinity would switch every timeout
    off (a case could run forever), zero or less would end every run at once."""
    if not (math.isfinite(scale) and 0 < scale <= MAX_TIMEOUT_SCALE):
        raise UsageError(f"--timeout-scale must be a number > 0 and <= {MAX_TIMEOUT_SCALE:g}, "
                         f"not {scale!r}")
    return scale


PROFILES: dict[str, MachineProfile] = {
    p.name: p
    for p in (
        MachineProfile(
            name="aarch64-virt-el2-tcg",
            arch="aarch64",
            binary="qemu-system-aarch64",
            machine="virt,virtualization=on,gic-version=3",
            cpu="cortex-a72",
            accel="tcg",
            memory="2G",
            smp=1,
        ),
        MachineProfile(
            name="riscv64-virt-h-tcg",
            arch="riscv64",
            binary="qemu-system-riscv64",
            machine="virt",
            cpu="rv64,h=true",
            accel="tcg",
            memory="2G",
            smp=1,
            extra=("-bios", "default"),
        ),
        MachineProfile(
            name="x86_64-q35-vmx-kvm",
            arch="x86_64",
            binary="qemu-system-x86_64",
            machine="q35",
            cpu="host,+vmx,-arch-capabilities",
            accel="kvm",
            memory="1G",
            smp=1,
            needs="kvm-vmx",
        ),
        MachineProfile(
            name="x86_64-q35-svm-tcg",
            arch="x86_64",
            binary="qemu-system-x86_64",
            machine="q35",
            cpu="qemu64,+svm,+npt,+nrip-save",
            accel="tcg",
            memory="1G",
            smp=1,
        ),
    )
}


def _two_cpus(base: str) -> MachineProfile:
    """`base` with a second CPU, for the images whose VM has two vCPUs."""
    return replace(PROFILES[base], name=f"{base}-smp2", smp=2)


PROFILES.update({p.name: p for p in (_two_cpus("aarch64-virt-el2-tcg"),
                                     _two_cpus("riscv64-virt-h-tcg"))})


def get_profile(name: str) -> MachineProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(
            f"unknown QEMU profile {name!r} (known: {', '.join(sorted(PROFILES))})"
        ) from None
