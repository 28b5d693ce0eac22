"""What this host can run: QEMU binaries, accelerators, /dev/kvm, nested VMX/SVM.

Nested virtualisation is judged from what KVM offers a guest (KVM_GET_SUPPORTED_CPUID), not from
/proc/cpuinfo: a paravirtual KVM (kvm_pvm, seen on these machines) lists vmx in the host's flags
but offers neither VMX nor SVM to guests.
"""

from __future__ import annotations

import array
import fcntl
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from harness.qemu.profiles import MachineProfile

# The Debian package of each QEMU binary (QEMU 10 from bookworm-backports: riscv has its own).
QEMU_PACKAGES = {"qemu-system-aarch64": "qemu-system-arm",
                 "qemu-system-riscv64": "qemu-system-riscv",
                 "qemu-system-x86_64": "qemu-system-x86"}

_KVMIO = 0xAE
_KVM_GET_SUPPORTED_CPUID = 0xC008AE05  # _IOWR(KVMIO, 0x05, struct kvm_cpuid2)
_MAX_ENTRIES = 256
_ENTRY_WORDS = 10  # struct kvm_cpuid_entry2: function index flags eax ebx ecx edx padding[3]


@dataclass(frozen=True, slots=True)
class HostCaps:
    kvm: str  # "" if usable, else why not
    vmx: str  # "" if KVM offers VMX to guests, else why not
    svm: str
    # The host has KVM, but this user or this process cannot use it (permissions, a failing
    # ioctl): a set-up fault, never a capability the host lacks, so never a skip.
    setup_fault: str = ""

    def infra(self, profile: MachineProfile) -> str:
        """Why `profile` cannot run here when the reason is the host's set-up, not a missing
        capability (an infra verdict, not a skip); "" otherwise."""
        return self.setup_fault if profile.accel == "kvm" else ""

    def why_not(self, profile: MachineProfile) -> str:
        """Empty if the profile can run here, else the precise reason it cannot. A missing
        binary is among the reasons, but it is the harness's tool, not a property of the host:
        callers that turn reasons into skips ask `missing_tools` first (infrastructure)."""
        missing = missing_tools([profile.binary])
        if missing:
            return missing
        if profile.accel == "kvm" and self.kvm:
            return self.kvm
        if profile.needs == "kvm-vmx" and self.vmx:
            return self.vmx
        if profile.needs == "kvm-svm" and self.svm:
            return self.svm
        return ""

    def lacking(self, profile: MachineProfile) -> str:
        """The host capability `profile` needs and this host lacks — "kvm", "kvm-vmx" or
        "kvm-svm" — or "": why_not's reason as a key results files carry, so that a skip's
        cause is never read from prose (harness.report.compare)."""
        for need, why in (("kvm", self.kvm if profile.accel == "kvm" else ""),
                          ("kvm-vmx", self.vmx if profile.needs == "kvm-vmx" else ""),
                          ("kvm-svm", self.svm if profile.needs == "kvm-svm" else "")):
            if why:
                return need
        return ""


def missing_tools(binaries: Iterable[str]) -> str:
    """One line naming the binaries not on PATH and how to install them, or ""."""
    absent = sorted({b for b in binaries if shutil.which(b) is None})
    if not absent:
        return ""
    packages = " ".join(sorted({QEMU_PACKAGES.get(b, b) for b in absent}))
    return (f"{', '.join(absent)} not found on PATH; install QEMU 10 "
            f"(`apt-get install -t bookworm-backports {packages}`, "
            "or run ci/install-host-deps.sh as root)")


def _supported_cpuid() -> dict[int, tuple[int, int, int, int]]:
    fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    try:
        buf = array.array("I", [_MAX_ENTRIES, 0] + [0] * (_MAX_ENTRIES * _ENTRY_WORDS))
        fcntl.ioctl(fd, _KVM_GET_SUPPORTED_CPUID, buf, True)
    finally:
        os.close(fd)
    n = buf[0]
    out = {}
    for i in range(n):
        e = buf[2 + i * _ENTRY_WORDS: 2 + (i + 1) * _ENTRY_WORDS]
        if e[1] == 0:  # index 0 of each leaf
            out[e[0]] = (e[3], e[4], e[5], e[6])
    return out


@cache
def probe() -> HostCaps:
    if not os.path.exists("/dev/kvm"):
        none = "no /dev/kvm on this host"
        return HostCaps(none, none, none)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        why = "/dev/kvm is not readable and writable by this user (the kvm group?)"
        return HostCaps(why, why, why, setup_fault=why)
    try:
        leaves = _supported_cpuid()
    except OSError as exc:
        why = f"KVM_GET_SUPPORTED_CPUID failed: {exc}"
        return HostCaps(why, why, why, setup_fault=why)
    ecx1 = leaves.get(1, (0, 0, 0, 0))[2]
    ecx_ext = leaves.get(0x8000_0001, (0, 0, 0, 0))[2]
    vmx = "" if ecx1 & (1 << 5) else "host KVM offers no VMX to guests (CPUID.1:ECX.VMX[bit 5] " \
        "is 0 in KVM_GET_SUPPORTED_CPUID)"
    svm = "" if ecx_ext & (1 << 2) else "host KVM offers no SVM to guests " \
        "(CPUID.80000001h:ECX.SVM[bit 2] is 0 in KVM_GET_SUPPORTED_CPUID)"
    return HostCaps("", vmx, svm)
