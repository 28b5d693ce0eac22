#!/usr/bin/env python3
"""Check the look-alike types of golden_axvm08.rs against axvm's own types (a developer tool:
network and rustc needed, run by hand after changing the generator or pinning a new axvm).

Downloads axvm 0.8.5, ax-cpu 0.10.3 and bitflags 2.13.2 (the versions axvisor 0.8.2's
Cargo.lock resolves, sha256 checked) into a temporary directory, compiles the real
src/arch/*/policy/types.rs (plus the X86PortIoStringExit/X86ByteRegister/ax_cpu Exit items)
with the real bitflags, prints the values of axvm08_values.rs in the four Debug forms, and
compares the text with tests/unit/golden/axvm-0.8/debug-forms-*.txt.  Only edits for building
outside the crate are made (thiserror derives and the From impls that need other crates
dropped, module paths provided); no Debug impl is touched.  Nothing upstream is kept.

    python3 tests/unit/golden/gen/verify_axvm08.py
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "axvm-0.8"
CRATES = {  # name: (version, sha256 from axvisor 0.8.2's Cargo.lock)
    "axvm": ("0.8.5", "22ae93d5141ef13ae0138ae27f515622b42e29add002f0382a25f1af1cae1986"),
    "ax-cpu": ("0.10.3", "9ddc7485e87b8122fd9d364cbeac2ef1352d96b37c045bae95559e2b1fd64f74"),
    "bitflags": ("2.13.2", "3ded4057c258ba199e2d26386d3af3780957ecaee6c4ef4041c6b4b8b97c0b06"),
}
RUSTC = "/usr/bin/rustc"


def fetch(name: str, into: Path) -> Path:
    version, sha = CRATES[name]
    url = f"https://static.crates.io/crates/{name}/{name}-{version}.crate"
    data = urllib.request.urlopen(url, timeout=60).read()
    if hashlib.sha256(data).hexdigest() != sha:
        sys.exit(f"{url}: sha256 mismatch")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
    return into / f"{name}-{version}"


def item(text: str, head: str) -> str:
    """The item starting with `head` (with its attributes) up to its closing brace."""
    start = text.index(head)
    while True:  # take the attribute and doc lines above it
        prev = text.rfind("\n", 0, start - 1) + 1
        if not text[prev:start].lstrip().startswith(("#[", "///")):
            break
        start = prev
    end = text.index("\n}\n", start) + 3
    return text[start:end]


def strip_thiserror(text: str) -> str:
    text = re.sub(r",\s*thiserror::Error", "", text)
    return re.sub(r"^\s*#\[error\(.*\)\]\n", "", text, flags=re.M)


def strip_impls(text: str, *traits: str) -> str:
    for t in traits:
        while (at := text.find(f"impl From<{t}")) != -1:
            text = text[:at] + text[text.index("\n}\n", at) + 3:]
    return text


PRINT = r"""
const FORMS: [&str; 4] = ["{:?}", "{:x?}", "{:#?}", "{:#x?}"];
fn forms<T: core::fmt::Debug>(values: &[T]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        for (k, f) in FORMS.iter().enumerate() {
            let t = match k {
                0 => format!("{:?}", v),
                1 => format!("{:x?}", v),
                2 => format!("{:#?}", v),
                _ => format!("{:#x?}", v),
            };
            out.push_str(&format!("### {} {}\n{}\n", i, f, t));
        }
    }
    out
}
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    std::fs::write(format!("{}/debug-forms-aarch64.txt", dir), forms(&arm_values())).unwrap();
    std::fs::write(format!("{}/debug-forms-riscv64.txt", dir), forms(&riscv_values())).unwrap();
    std::fs::write(format!("{}/debug-forms-x86_64.txt", dir), forms(&x86_values())).unwrap();
}
"""


def program(axvm: Path, ax_cpu: Path) -> str:
    arch = axvm / "src" / "arch"
    arm = strip_thiserror((arch / "aarch64/policy/types.rs").read_text())
    riscv = strip_thiserror((arch / "riscv64/policy/types.rs").read_text())
    x86 = strip_impls((arch / "x86_64/policy/types.rs").read_text(), "ax_cpu::", "x86_vlapic::")
    port_io = (arch / "x86_64/policy/port_io.rs").read_text()
    decode = (arch / "x86_64/policy/decode.rs").read_text()
    exit_ = (ax_cpu / "src/arch/riscv64/virtualization/context.rs").read_text()
    golden = """
impl X86PortIoStringExit {
    pub fn golden(port: X86Port, width: X86AccessWidth, direction: X86PortIoDirection,
                  guest_paddr: X86GuestPhysAddr, updated_index: u64, updated_count: Option<u64>,
                  instruction_complete: bool, next_rip: u64) -> Self {
        Self { port, width, direction, guest_paddr, updated_index, updated_count,
               instruction_complete, next_rip }
    }
}
"""
    return "\n".join([
        "#![allow(dead_code, unused_imports, unexpected_cfgs)]",
        "mod ax_cpu { pub mod virtualization {", item(exit_, "pub struct Exit {"), "} }",
        "mod arm {", arm, "}",
        "mod riscv {", riscv, "use crate::ax_cpu; }",
        "mod arch { pub mod x86_64 { pub mod policy {",
        "pub use port_io::*;",
        "pub mod types {", x86, "}",
        "pub mod decode {", item(decode, "pub struct X86ByteRegister {"), "}",
        "pub mod port_io { use super::types::*;",
        item(port_io, "pub enum X86PortIoDirection {"),
        item(port_io, "pub struct X86PortIoStringExit {"), golden, "}",
        "} } }",
        "use arm::*; use riscv::*;",
        "use arch::x86_64::policy::{types::*, port_io::*, decode::*};",
        (HERE / "axvm08_values.rs").read_text(),
        PRINT,
    ])


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bitflags = fetch("bitflags", root)
        axvm, ax_cpu = fetch("axvm", root), fetch("ax-cpu", root)
        run = [RUSTC, "--edition", "2021", "-O"]
        subprocess.run([*run, "--crate-type", "rlib", "--crate-name", "bitflags",
                        "-o", str(root / "libbitflags.rlib"), str(bitflags / "src/lib.rs")],
                       check=True)
        (root / "main.rs").write_text(program(axvm, ax_cpu))
        subprocess.run([*run, "--extern", f"bitflags={root / 'libbitflags.rlib'}",
                        "-o", str(root / "real"), str(root / "main.rs")], check=True)
        out = root / "out"
        out.mkdir()
        subprocess.run([str(root / "real"), str(out)], check=True)
        bad = 0
        for arch in ("aarch64", "riscv64", "x86_64"):
            name = f"debug-forms-{arch}.txt"
            same = (out / name).read_text() == (GOLDEN / name).read_text()
            blocks = (out / name).read_text().count("\n### ") + 1
            print(f"{name}: {blocks} blocks, {'identical' if same else 'DIFFERENT'}")
            if not same:
                bad += 1
                subprocess.run(["diff", str(GOLDEN / name), str(out / name)], check=False)
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
