"""The riscv64 Linux guest's DTB: guest-src/linux/riscv64.dts with its placeholders filled in,
compiled by dtc (Debian's device-tree-compiler, installed by ci/install-host-deps.sh).

A DTS of ours here, not QEMU's DTB reduced as on aarch64: QEMU's riscv64 DTB describes the
host hart (the H extension, Sstc and forty other extensions, Sv57), and the guest must be told
what the VM gives it instead; the source says so line by line.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from harness.errors import InfraError, UsageError
from harness.oracle.linux import fdt

PLACEHOLDERS = ("@BOOTARGS@", "@INITRD_START@", "@INITRD_END@")


def render(template: str, bootargs: str, initrd_start: int, initrd_end: int) -> str:
    """The DTS with its placeholders replaced (each must occur; the bootargs must not end the
    string early)."""
    missing = [p for p in PLACEHOLDERS if p not in template]
    if missing:
        raise UsageError(f"the guest DTS lacks {', '.join(missing)}")
    if '"' in bootargs or "\\" in bootargs:
        raise UsageError(f"bootargs {bootargs!r}: quotes and backslashes are not allowed")
    text = (template.replace("@BOOTARGS@", bootargs)
            .replace("@INITRD_START@", f"{initrd_start:#x}")
            .replace("@INITRD_END@", f"{initrd_end:#x}"))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise UsageError(f"the guest DTS has unknown placeholders {', '.join(sorted(set(left)))}")
    return text


def compile_dts(text: str, *, name: str = "riscv64.dts") -> bytes:
    """dtc's DTB of `text`; its diagnostics name `name` on failure."""
    dtc = shutil.which("dtc")
    if dtc is None:
        raise InfraError("dtc is missing (Debian package device-tree-compiler; "
                         "ci/install-host-deps.sh installs it)")
    try:
        res = subprocess.run([dtc, "-q", "-I", "dts", "-O", "dtb", "-o", "-", "-"],
                             input=text.encode(), capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfraError(f"dtc failed to run: {exc}") from None
    if res.returncode != 0:
        first = res.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(f"{name}: dtc: {first[0] if first else f'exit {res.returncode}'}"
                         .replace("<stdin>", name))
    return res.stdout


def with_isa_extension(dtb: bytes, ext: str) -> bytes:
    """The DTB with `ext` added to every hart's riscv,isa (as `_ext`) and
    riscv,isa-extensions: the same guest told it may use one more extension."""
    root = fdt.read(dtb)
    cpus = root.child("cpus")
    if cpus is None:
        raise UsageError("the guest DTB has no /cpus")
    harts = []
    for node in cpus.children:
        isa = node.prop("riscv,isa")
        exts = node.prop("riscv,isa-extensions")
        if isa is not None and exts is not None:
            node = node.with_prop("riscv,isa", fdt.encode_string(f"{fdt.string(isa)}_{ext}"))
            node = node.with_prop("riscv,isa-extensions", exts + fdt.encode_string(ext))
        harts.append(node)
    new_cpus = type(cpus)(cpus.name, cpus.props, tuple(harts))
    return fdt.write(type(root)(root.name, root.props, tuple(
        new_cpus if c.name == "cpus" else c for c in root.children)))


def with_harts(dtb: bytes, n: int) -> bytes:
    """The DTB with `n` harts: cpu@0 copied as cpu@1.. (reg = hart id, its interrupt controller
    under a new phandle) and every PLIC's interrupts-extended given each new hart's M- and
    S-mode external interrupt (11, 9), as QEMU virt numbers the contexts (two per hart)."""
    root = fdt.read(dtb)
    cpus, soc = root.child("cpus"), root.child("soc")
    hart0 = cpus.child("cpu@0") if cpus is not None else None
    intc0 = hart0.child("interrupt-controller") if hart0 is not None else None
    if cpus is None or soc is None or hart0 is None or intc0 is None:
        raise UsageError("the guest DTB has no /cpus/cpu@0/interrupt-controller or no /soc")
    phandles = [fdt.cells(v)[0] for node in _walk(root) for k, v in node.props
                if k == "phandle"]
    added: list[fdt.Node] = []
    extra_irqs = b""
    for hart in range(1, n):
        handle = max(phandles) + hart
        intc = intc0.with_prop("phandle", fdt.encode_cells(handle))
        node = fdt.Node(f"cpu@{hart}", hart0.props, (intc,)).with_prop(
            "reg", fdt.encode_cells(hart))
        node = node.without_props(("phandle",))
        added.append(node)
        extra_irqs += fdt.encode_cells(handle, 11, handle, 9)
    new_cpus = fdt.Node(cpus.name, cpus.props, (*cpus.children, *added))
    new_soc = fdt.Node(soc.name, soc.props, tuple(
        c.with_prop("interrupts-extended", (c.prop("interrupts-extended") or b"") + extra_irqs)
        if c.name.startswith("plic@") else c for c in soc.children))
    return fdt.write(fdt.Node(root.name, root.props, tuple(
        new_cpus if c.name == "cpus" else new_soc if c.name == "soc" else c
        for c in root.children)))


def _walk(node: fdt.Node) -> list[fdt.Node]:
    return [node, *(d for c in node.children for d in _walk(c))]
