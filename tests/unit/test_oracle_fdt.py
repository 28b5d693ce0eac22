"""The Linux guest's device tree: FDT blobs read and written by hand-checked layout (devicetree
specification v0.4, chapter 5), and QEMU's virt DTB reduced to what the guest is given."""

from __future__ import annotations

import struct

import pytest

from harness.errors import UsageError
from harness.oracle.linux import fdt
from harness.oracle.linux.prepare import KEEP, reduce_dtb


def _tree() -> fdt.Node:
    uart = fdt.Node("pl011@9000000", (("reg", fdt.encode_cells(0, 0x9000000, 0, 0x1000)),
                                      ("compatible", b"arm,pl011\0arm,primecell\0")))
    return fdt.Node("", (("#address-cells", fdt.encode_cells(2)),
                         ("compatible", b"linux,dummy-virt\0")), (uart,))


def test_a_written_blob_has_the_specified_header_and_reads_back_as_the_same_tree() -> None:
    blob = fdt.write(_tree())
    magic, total, off_struct, off_strings, off_rsv, version, last, _, size_strings, \
        size_struct = struct.unpack_from(">10I", blob)
    assert (magic, version, last) == (0xD00DFEED, 17, 16)
    assert total == len(blob) == off_strings + size_strings
    assert off_rsv % 8 == 0 and blob[off_rsv:off_rsv + 16] == b"\0" * 16
    assert off_struct == off_rsv + 16 and off_strings == off_struct + size_struct
    # the strings block holds each property name once, in order of first use
    assert blob[off_strings:] == b"#address-cells\0compatible\0reg\0"
    # the structure block starts with the root's BEGIN_NODE and its empty name, padded
    assert blob[off_struct:off_struct + 8] == struct.pack(">I", 1) + b"\0\0\0\0"
    assert fdt.read(blob) == _tree()


def test_a_hand_assembled_blob_reads_as_its_nodes_and_properties() -> None:
    strings = b"model\0"
    body = (struct.pack(">I", 1) + b"\0\0\0\0"  # root
            + struct.pack(">III", 3, 3, 0) + b"ab\0\0"  # model = "ab"
            + struct.pack(">I", 4)  # NOP
            + struct.pack(">I", 1) + b"cpus\0\0\0\0" + struct.pack(">I", 2)
            + struct.pack(">II", 2, 9))
    head = struct.pack(">10I", 0xD00DFEED, 40 + 16 + len(body) + len(strings), 56,
                       56 + len(body), 40, 17, 16, 0, len(strings), len(body))
    root = fdt.read(head + b"\0" * 16 + body + strings)
    assert root.props == (("model", b"ab\0"),)
    assert [c.name for c in root.children] == ["cpus"]
    assert fdt.string(root.prop("model") or b"") == "ab"


def test_a_blob_with_a_bad_magic_is_refused_naming_the_offset() -> None:
    with pytest.raises(fdt.FdtError, match="offset 0: magic 0xdeadbeef"):
        fdt.read(struct.pack(">10I", 0xDEADBEEF, 40, 0, 0, 0, 17, 16, 0, 0, 0))


def _machine() -> bytes:
    """A QEMU-virt-like tree: what the reduction keeps, and what it must drop."""
    its = fdt.Node("its@8080000", (("msi-controller", b""),))
    intc = fdt.Node("intc@8000000", (("phandle", fdt.encode_cells(0x8002)),), (its,))
    chosen = fdt.Node("chosen", (("stdout-path", b"/pl011@9000000\0"),
                                 ("rng-seed", b"\1" * 32), ("kaslr-seed", b"\2" * 8)))
    kept = [fdt.Node(n) for n in KEEP if n not in ("intc@8000000", "chosen")]
    dropped = [fdt.Node(n) for n in ("memory@40000000", "pcie@10000000", "flash@0",
                                     "virtio_mmio@a000000", "pmu")]
    return fdt.write(fdt.Node("", (), (intc, chosen, *kept, *dropped)))


def test_the_guest_dtb_keeps_the_machine_s_gic_uart_timer_and_psci_and_sets_bootargs() -> None:
    root = fdt.read(reduce_dtb(_machine(), "console=ttyAMA0 initrd=0x88000000,0x10"))
    assert sorted(c.name for c in root.children) == sorted(KEEP)
    chosen = root.child("chosen")
    assert chosen is not None
    assert fdt.string(chosen.prop("bootargs") or b"") == "console=ttyAMA0 initrd=0x88000000,0x10"
    assert chosen.prop("rng-seed") is None and chosen.prop("kaslr-seed") is None
    assert chosen.prop("stdout-path") == b"/pl011@9000000\0"
    intc = root.child("intc@8000000")
    assert intc is not None and intc.children == () and intc.prop("phandle") is not None


def test_a_machine_dtb_without_a_gic_is_a_usage_error_naming_what_is_missing() -> None:
    blob = fdt.write(fdt.Node("", (), tuple(fdt.Node(n) for n in KEEP if n != "timer")))
    with pytest.raises(UsageError, match="lacks timer"):
        reduce_dtb(blob, "")


def test_the_psci_conduit_is_replaced_only_when_asked() -> None:
    psci = fdt.Node("psci", (("method", b"smc\0"),))
    blob = fdt.write(fdt.Node("", (), (psci, *(fdt.Node(n) for n in KEEP if n != "psci"))))
    for asked, method in (("", "smc"), ("hvc", "hvc")):
        got = fdt.read(reduce_dtb(blob, "", psci=asked)).child("psci")
        assert got is not None and fdt.string(got.prop("method") or b"") == method
