"""The riscv64 Linux guest's set-up: guest-src/linux/riscv64.dts filled in and compiled by dtc
into the DTB the VM config describes (one hart without H, RAM, the ns16550 and the PLIC, no
virtio; the initramfs named in /chosen at the VM config's ramdisk address), bad DTS input as
one line naming the file, and prepare's choice of architecture from busybox's ELF header."""

from __future__ import annotations

import struct
import tomllib
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.images.recipe import render_vm_config
from harness.oracle.linux import dts, fdt
from harness.oracle.linux.prepare import RV_DTS, RV_VM_CONFIG, elf_machine, prepare
from harness.oracle.pairing import Rules
from harness.oracle.records import RvTrap

ROOT = Path(__file__).resolve().parents[2]


def _elf(machine: int) -> bytes:
    """The first 20 bytes of a little-endian ELF64 header naming `machine`."""
    return b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack("<HH", 2, machine)


def test_the_guest_dtb_describes_what_the_vm_config_gives(tmp_path: Path) -> None:
    (tmp_path / "busybox").write_bytes(_elf(0xF3) + b"busybox")
    written = prepare(tmp_path, ROOT)
    assert [p.name for p in written] == ["initramfs.cpio", "guest.dtb", "guest-sstc.dtb",
                                         "guest-smp.dtb"]
    root = fdt.read((tmp_path / "guest.dtb").read_bytes())
    vm = tomllib.loads(render_vm_config((ROOT / RV_VM_CONFIG).read_text(), "g.bin", 0))
    start, size = vm["kernel"]["ramdisk_load_addr"], (tmp_path / "initramfs.cpio").stat().st_size
    chosen = root.child("chosen")
    assert chosen is not None
    assert fdt.cells(chosen.prop("linux,initrd-start") or b"") == (0, start)
    assert fdt.cells(chosen.prop("linux,initrd-end") or b"") == (0, start + size)
    assert fdt.string(chosen.prop("bootargs") or b"").split()[:3] == [
        "console=ttyS0", "earlycon=sbi", "rdinit=/init"]
    soc, cpus = root.child("soc"), root.child("cpus")
    assert soc is not None and cpus is not None
    assert sorted(c.name for c in soc.children) == ["plic@c000000", "serial@10000000"]
    cpu = cpus.child("cpu@0")
    assert cpu is not None and len(cpus.children) == 1
    isa = fdt.string(cpu.prop("riscv,isa") or b"")
    assert isa.startswith("rv64imafdc") and "h" not in isa.split("_")[0][4:]
    # the VM's RAM, and the devices the VM config maps or emulates
    gpa, length = vm["kernel"]["memory_regions"][0][:2]
    mem = root.child(f"memory@{gpa:x}")
    assert mem is not None and fdt.cells(mem.prop("reg") or b"") == (0, gpa, 0, length)
    plic = soc.child("plic@c000000")
    assert plic is not None
    emu = vm["devices"]["emu_devices"][0]
    assert fdt.cells(plic.prop("reg") or b"") == (0, emu[1], 0, emu[2])
    assert [a[0] for a in vm["devices"]["passthrough_addresses"]] == [0x1000_0000]


def test_a_placeholder_missing_from_the_dts_or_bootargs_that_would_end_the_string_is_refused(
        ) -> None:
    text = (ROOT / RV_DTS).read_text()
    with pytest.raises(UsageError, match="lacks @INITRD_END@"):
        dts.render(text.replace("@INITRD_END@", "0x0"), "x", 1, 2)
    with pytest.raises(UsageError, match="quotes"):
        dts.render(text, 'console=ttyS0" ; evil', 1, 2)
    with pytest.raises(UsageError, match="unknown placeholders @OTHER@"):
        dts.render(text + "// @OTHER@\n", "x", 1, 2)


def test_a_dts_dtc_rejects_is_one_line_naming_the_file_and_line() -> None:
    with pytest.raises(UsageError) as err:
        dts.compile_dts("/dts-v1/;\n/ {\n\tbad = <1>\n};\n", name="guest-src/linux/x.dts")
    message = str(err.value)
    assert message.startswith("guest-src/linux/x.dts: dtc: ") and "\n" not in message
    assert "x.dts:4" in message or "x.dts:3" in message


def test_prepare_takes_the_architecture_from_busybox_s_elf_header(tmp_path: Path) -> None:
    assert elf_machine(tmp_path / "b", _elf(0xB7)) == 0xB7
    with pytest.raises(UsageError, match="not an ELF file"):
        elf_machine(tmp_path / "b", b"#!/bin/sh\n")
    (tmp_path / "busybox").write_bytes(_elf(0x3E))  # x86-64
    with pytest.raises(UsageError, match=r"ELF machine 0x3e is neither aarch64 nor riscv64"):
        prepare(tmp_path, ROOT)


def test_an_m_level_interrupt_at_a_guest_pc_is_not_the_guest_s() -> None:
    """mideleg never delegates MSIP/MTIP/MEIP: OpenSBI takes them, axvisor never sees them."""
    rules = Rules(guest_pc=((0xFFFF_FFFF_8000_0000, 1 << 64),))
    pc = 0xFFFF_FFFF_8000_DD54
    assert rules.is_guest(RvTrap(1, 0, True, 5, pc, 0, "s_timer"))
    assert not rules.is_guest(RvTrap(2, 0, True, 7, pc, 0, "m_timer"))
    assert not rules.is_guest(RvTrap(3, 0, True, 6, pc, 0, "vs_timer"))


def _hart(root: fdt.Node) -> fdt.Node:
    cpus = root.child("cpus")
    cpu = cpus.child("cpu@0") if cpus is not None else None
    assert cpu is not None
    return cpu


def test_the_sstc_dtb_is_the_guest_dtb_with_one_more_extension(tmp_path: Path) -> None:
    (tmp_path / "busybox").write_bytes(_elf(0xF3))
    prepare(tmp_path, ROOT)
    plain = fdt.read((tmp_path / "guest.dtb").read_bytes())
    sstc = fdt.read((tmp_path / "guest-sstc.dtb").read_bytes())
    cpu, cpu_sstc = _hart(plain), _hart(sstc)
    assert fdt.string(cpu_sstc.prop("riscv,isa") or b"") == \
        fdt.string(cpu.prop("riscv,isa") or b"") + "_sstc"
    assert (cpu_sstc.prop("riscv,isa-extensions") or b"").split(b"\0")[-2] == b"sstc"
    assert [c.name for c in sstc.children] == [c.name for c in plain.children]
    assert sstc.child("chosen") == plain.child("chosen")


def test_the_smp_dtb_has_a_second_hart_with_its_own_interrupt_controller_and_plic_contexts(
        tmp_path: Path) -> None:
    (tmp_path / "busybox").write_bytes(_elf(0xF3))
    prepare(tmp_path, ROOT)
    smp = fdt.read((tmp_path / "guest-smp.dtb").read_bytes())
    cpus, soc = smp.child("cpus"), smp.child("soc")
    assert cpus is not None and soc is not None
    assert [c.name for c in cpus.children] == ["cpu@0", "cpu@1"]
    handles = []
    for hart, node in enumerate(cpus.children):
        assert fdt.cells(node.prop("reg") or b"") == (hart,)
        intc = node.child("interrupt-controller")
        assert intc is not None
        handles.append(fdt.cells(intc.prop("phandle") or b"")[0])
    plic = soc.child("plic@c000000")
    assert plic is not None and len(set(handles)) == 2
    # QEMU virt's contexts, two per hart: M-mode external (11), then S-mode external (9)
    assert fdt.cells(plic.prop("interrupts-extended") or b"") == (
        handles[0], 11, handles[0], 9, handles[1], 11, handles[1], 9)
    every = [fdt.cells(v)[0] for n in (smp, *smp.children, *cpus.children, *soc.children,
                                       *(c for h in cpus.children for c in h.children))
             for k, v in n.props if k == "phandle"]
    assert len(every) == len(set(every))  # no phandle given twice
