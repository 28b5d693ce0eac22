"""Make the Linux guest's initramfs and DTB from what ci/fetch-guest-kernels.sh unpacked.

    python -m harness.oracle.linux.prepare DIR    (DIR holds Image and busybox)

The architecture is busybox's (its ELF e_machine). For arm64 it writes DIR/initramfs.cpio,
DIR/guest.dtb and DIR/guest-hvc.dtb, which the recipes in images/recipes-linux/ embed
(guest-hvc.dtb: the same tree with the PSCI conduit `hvc`); for riscv64 DIR/initramfs.cpio and
DIR/guest.dtb compiled from guest-src/linux/riscv64.dts (harness.oracle.linux.dts). All
are deterministic: the same inputs give the same bytes (the image cache key hashes them).

The DTB is QEMU's own `virt` DTB (`-machine …,dumpdtb=`, same machine line as the image's
profile) reduced to what the guest is given, rather than a DTS of ours: the GIC, UART and timer
nodes, their interrupts and phandles are then exactly those of the machine axvisor runs on and
passes through, and no DTS compiler is needed. Kept: psci (conduit `smc`, as QEMU writes it),
the GICv3 (distributor and redistributor), the PL011 and its clock, the architected timer,
/cpus and /aliases (axvisor replaces /cpus with the host's and adds /memory itself); dropped:
every other device (flash, fw-cfg, virtio-mmio, PCIe, RTC, GPIO, PMU, platform bus), the GIC's
ITS (no device uses MSIs; and axvisor 0.3.0-preview.2 panics creating a VM with an emulated
ITS, docs/oracle.md) and /chosen's random seeds.
/chosen's bootargs name the initramfs with `initrd=ADDR,SIZE`, because axvisor 0.3.0-preview.2
drops `linux,initrd-*` from the DTB it is given (src/vmm/fdt/create.rs:308).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from dataclasses import replace
from pathlib import Path

from harness.errors import HarnessError, UsageError
from harness.images.recipe import render_vm_config
from harness.oracle.linux import dts, fdt, initramfs
from harness.paths import repo_root
from harness.qemu.profiles import get_profile

PROFILE = "aarch64-virt-el2-tcg"
VM_CONFIG = Path("images/vm-configs/aarch64-linux.toml")
INIT = Path("guest-src/linux/init")
RV_VM_CONFIG = Path("images/vm-configs/riscv64-linux.toml")
RV_DTS = Path("guest-src/linux/riscv64.dts")
RV_BOOTARGS = "console=ttyS0 earlycon=sbi rdinit=/init panic=-1"
EM_AARCH64, EM_RISCV = 0xB7, 0xF3
KEEP = ("psci", "intc@8000000", "pl011@9000000", "apb-pclk", "timer", "cpus", "aliases",
        "chosen")
BOOTARGS = "console=ttyAMA0 earlycon rdinit=/init nokaslr panic=-1"
MARKER_START = "AXH-LINUX: init running"
MARKER_OFF = "AXH-LINUX: powering off"


def initramfs_entries(busybox: bytes, init: bytes) -> list[initramfs.Entry]:
    """busybox as /bin/busybox and /bin/sh, our /init, and /dev/console for init's output
    (the kernel opens it before running init; an initramfs has no devtmpfs)."""
    return [initramfs.directory("bin"), initramfs.file("bin/busybox", busybox, 0o755),
            initramfs.symlink("bin/sh", "busybox"), initramfs.directory("dev"),
            initramfs.char_device("dev/console", 5, 1), initramfs.directory("proc"),
            initramfs.directory("sys"), initramfs.file("init", init, 0o755)]


def ramdisk_addr(vm_config_text: str, name: Path = VM_CONFIG) -> int:
    """kernel.ramdisk_load_addr of the VM config template."""
    data = tomllib.loads(render_vm_config(vm_config_text, "guest.bin", 0))
    addr = data.get("kernel", {}).get("ramdisk_load_addr")
    if not isinstance(addr, int):
        raise UsageError(f"{name}: kernel.ramdisk_load_addr must be an integer")
    return addr


def elf_machine(path: Path, blob: bytes) -> int:
    """e_machine of an ELF file (which architecture a busybox is for)."""
    if blob[:4] != b"\x7fELF" or len(blob) < 20:
        raise UsageError(f"{path}: not an ELF file")
    return int.from_bytes(blob[18:20], "little" if blob[5] == 1 else "big")


def reduce_dtb(machine_dtb: bytes, bootargs: str, *, psci: str = "") -> bytes:
    """QEMU's DTB with only the nodes in KEEP, /chosen holding `bootargs` and no seeds; `psci`
    replaces the PSCI conduit ("hvc" or "smc") when given."""
    root = fdt.read(machine_dtb)
    missing = [n for n in KEEP if root.child(n) is None]
    if missing:
        raise UsageError(f"QEMU's virt DTB lacks {', '.join(missing)}: a different machine?")
    children = []
    for child in root.children:
        if child.name not in KEEP:
            continue
        if child.name == "chosen":
            child = child.without_props(("rng-seed", "kaslr-seed")).with_prop(
                "bootargs", fdt.encode_string(bootargs))
        if child.name == "psci" and psci:
            child = child.with_prop("method", fdt.encode_string(psci))
        if child.name.startswith("intc@"):  # no ITS: nothing uses MSIs, see the docstring
            child = replace(child, children=tuple(c for c in child.children
                                                  if not c.name.startswith("its@")))
        children.append(child)
    return fdt.write(type(root)(root.name, root.props, tuple(children)))


def dump_machine_dtb() -> bytes:
    """The DTB QEMU builds for the image's machine (the profile's machine, CPU, memory)."""
    profile = get_profile(PROFILE)
    with tempfile.TemporaryDirectory(prefix="axh-dtb-") as tmp:
        out = Path(tmp) / "virt.dtb"
        argv = [profile.binary, "-machine", f"{profile.machine},dumpdtb={out}", "-cpu",
                profile.cpu, "-m", profile.memory, "-smp", str(profile.smp), "-display", "none"]
        try:
            res = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HarnessError(f"{profile.binary} -machine …,dumpdtb= failed: {exc}") from None
        if not out.is_file():
            raise HarnessError(f"{profile.binary} wrote no DTB (exit {res.returncode}): "
                               f"{res.stderr.strip()[:300]}")
        return out.read_bytes()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{exc.filename}: cannot read: {exc.strerror}") from None


def prepare(directory: Path, root: Path) -> tuple[Path, ...]:
    """Write the guest files of DIR's architecture; returns their paths."""
    busybox = _read(directory / "busybox")
    machine = elf_machine(directory / "busybox", busybox)
    if machine == EM_RISCV:
        return prepare_riscv64(directory, root, busybox)
    if machine != EM_AARCH64:
        raise UsageError(f"{directory / 'busybox'}: ELF machine {machine:#x} is neither "
                         "aarch64 nor riscv64")
    init = _read(root / INIT)
    vm_text = _read(root / VM_CONFIG).decode()
    cpio = initramfs.archive(initramfs_entries(busybox, init))
    bootargs = f"{BOOTARGS} initrd={ramdisk_addr(vm_text):#x},{len(cpio):#x}"
    qemu_dtb = dump_machine_dtb()
    (directory / "initramfs.cpio").write_bytes(cpio)
    (directory / "guest.dtb").write_bytes(reduce_dtb(qemu_dtb, bootargs))
    (directory / "guest-hvc.dtb").write_bytes(reduce_dtb(qemu_dtb, bootargs, psci="hvc"))
    return tuple(directory / n for n in ("initramfs.cpio", "guest.dtb", "guest-hvc.dtb"))


def prepare_riscv64(directory: Path, root: Path, busybox: bytes) -> tuple[Path, ...]:
    """Write DIR/initramfs.cpio, DIR/guest.dtb (riscv64.dts naming the initramfs at the VM
    config's ramdisk_load_addr in /chosen) and DIR/guest-sstc.dtb (the hart also has Sstc)."""
    init = _read(root / INIT)
    start = ramdisk_addr(_read(root / RV_VM_CONFIG).decode(), RV_VM_CONFIG)
    cpio = initramfs.archive(initramfs_entries(busybox, init))
    text = dts.render(_read(root / RV_DTS).decode(), RV_BOOTARGS, start, start + len(cpio))
    dtb = dts.compile_dts(text, name=str(RV_DTS))
    (directory / "initramfs.cpio").write_bytes(cpio)
    (directory / "guest.dtb").write_bytes(dtb)
    # The same guest told it has Sstc: Linux then programs stimecmp itself, which traps to
    # the hypervisor (henvcfg.STCE = 0) as a virtual-instruction exception (riscv64-linux-sstc).
    (directory / "guest-sstc.dtb").write_bytes(dts.with_isa_extension(dtb, "sstc"))
    # Two harts (riscv64-linux-smp): Linux starts the second through SBI HSM HART_START.
    (directory / "guest-smp.dtb").write_bytes(dts.with_harts(dtb, 2))
    return tuple(directory / n for n in ("initramfs.cpio", "guest.dtb", "guest-sstc.dtb",
                                         "guest-smp.dtb"))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m harness.oracle.linux.prepare DIR", file=sys.stderr)
        return 1
    try:
        for path in prepare(Path(argv[0]), repo_root()):
            print(f"prepare: wrote {path} ({path.stat().st_size} bytes)")
    except UsageError as exc:
        print(f"prepare: error: {exc}", file=sys.stderr)
        return 1
    except HarnessError as exc:
        print(f"prepare: error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
