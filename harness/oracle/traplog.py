"""Parse QEMU's trap log (`-d int` for AArch64 and RISC-V, the `vmexit(...)` lines of
`-d in_asm` for x86 SVM) into typed records, per CPU, in order.

Lines the oracle has no use for (interrupts QEMU logs for the host side, SMM dumps, `vmrun!`,
`Exception return`, PSCI notes) are skipped; a line that starts a record but does not have its
expected shape, or an AArch64 record cut short, is an error naming FILE:LINE. With `-d ...,tid`
QEMU writes one file per vCPU thread (`parse_trap_dir`), which keeps each CPU's multi-line
records whole: in one shared file two CPUs' lines can interleave.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from harness.errors import UsageError
from harness.model.arch import Arch
from harness.oracle.records import A64Trap, RvTrap, SvmExit, Trap


class TrapLogError(UsageError):
    """A malformed trap log; the message is `FILE:LINE: error: ...`."""


_HEX = r"0x([0-9a-fA-F]+)"
_A64_START = re.compile(r"Taking exception (\d+) \[([^\]]*)\] on CPU (\d+)$")
_A64_FROM = re.compile(r"\.\.\.from EL(\d) to EL(\d)$")
_A64_ESR = re.compile(rf"\.\.\.with ESR {_HEX}/{_HEX}$")
_A64_FAR = re.compile(rf"\.\.\.with FAR {_HEX}$")
_A64_ELR = re.compile(rf"\.\.\.with ELR {_HEX}$")
_A64_OTHER = re.compile(r"\.\.\.(with SPSR |to EL\d PC |handled as |as semihosting)")
_RV = re.compile(
    r"riscv_cpu_do_interrupt: hart:(\d+), async:([01]), cause:([0-9a-fA-F]+), "
    rf"epc:{_HEX}, tval:{_HEX}, desc=(\S+)$")
_SVM = re.compile(rf"vmexit\({_HEX[2:]}, {_HEX[2:]}, {_HEX[2:]}, {_HEX[2:]}\)!$")


def _err(source: str, line: int, msg: str) -> TrapLogError:
    return TrapLogError(f"{source}:{line}: error: {msg}")


def _a64(lines: list[str], source: str) -> list[A64Trap]:
    out: list[A64Trap] = []
    cur: dict[str, int | str | None] | None = None

    def close() -> None:
        if cur is None:
            return
        if cur["from_el"] is None:
            raise _err(source, int(cur["line"] or 0),
                       "exception record without its '...from ELx to ELy' line")
        out.append(A64Trap(line=int(cur["line"] or 0), cpu=int(cur["cpu"] or 0),
                           index=int(cur["index"] or 0), name=str(cur["name"]),
                           from_el=int(cur["from_el"] or 0), to_el=int(cur["to_el"] or 0),
                           esr=_opt(cur["esr"]), far=_opt(cur["far"]), elr=_opt(cur["elr"])))

    for n, text in enumerate(lines, 1):
        m = _A64_START.match(text)
        if m:
            close()
            cur = {"line": n, "index": int(m.group(1)), "name": m.group(2),
                   "cpu": int(m.group(3)), "from_el": None, "to_el": None, "esr": None,
                   "far": None, "elr": None}
            continue
        if not text.startswith("..."):
            close()
            cur = None
            continue
        if cur is None:
            continue  # a continuation of something that is not an exception record
        if (m := _A64_FROM.match(text)) is not None:
            cur["from_el"], cur["to_el"] = int(m.group(1)), int(m.group(2))
        elif (m := _A64_ESR.match(text)) is not None:
            esr = int(m.group(2), 16)
            if esr >> 26 != int(m.group(1), 16):
                raise _err(source, n, f"ESR class {m.group(1)} does not match ESR {esr:#x}")
            cur["esr"] = esr
        elif (m := _A64_FAR.match(text)) is not None:
            cur["far"] = int(m.group(1), 16)
        elif (m := _A64_ELR.match(text)) is not None:
            cur["elr"] = int(m.group(1), 16)
        elif not _A64_OTHER.match(text):
            raise _err(source, n, f"unknown exception detail line {text!r}")
    close()
    return out


def _opt(value: int | str | None) -> int | None:
    return None if value is None else int(value)


def _rv(lines: list[str], source: str) -> list[RvTrap]:
    out: list[RvTrap] = []
    for n, text in enumerate(lines, 1):
        if not text.startswith("riscv_cpu_do_interrupt:"):
            continue
        m = _RV.match(text)
        if m is None:
            raise _err(source, n, f"malformed riscv_cpu_do_interrupt line {text!r}")
        out.append(RvTrap(line=n, cpu=int(m.group(1)), is_async=m.group(2) == "1",
                          cause=int(m.group(3), 16), epc=int(m.group(4), 16),
                          tval=int(m.group(5), 16), desc=m.group(6)))
    return out


def _svm(lines: list[str], source: str, cpu: int) -> list[SvmExit]:
    out: list[SvmExit] = []
    for n, text in enumerate(lines, 1):
        if not text.startswith("vmexit("):
            continue
        m = _SVM.match(text)
        if m is None:
            raise _err(source, n, f"malformed vmexit line {text!r}")
        code, info1, info2, rip = (int(g, 16) for g in m.groups())
        out.append(SvmExit(line=n, cpu=cpu, exitcode=code, exitinfo1=info1, exitinfo2=info2,
                           rip=rip))
    return out


def parse_trap_log(text: str, arch: Arch, source: str = "<trap log>", *, cpu: int = 0
                   ) -> list[Trap]:
    """Every record of one log file in file order. `cpu` names the CPU of x86 records, whose
    lines do not say it."""
    lines = text.splitlines()
    if arch is Arch.AARCH64:
        return list(_a64(lines, source))
    if arch is Arch.RISCV64:
        return list(_rv(lines, source))
    return list(_svm(lines, source, cpu))


def by_cpu(traps: Iterable[Trap]) -> dict[int, list[Trap]]:
    """Records grouped by CPU, each CPU's in the order given."""
    out: dict[int, list[Trap]] = {}
    for t in traps:
        out.setdefault(t.cpu, []).append(t)
    return out


def parse_trap_dir(directory: Path, arch: Arch) -> dict[int, list[Trap]]:
    """Every `*.log` of a `-d ...,tid` directory, per CPU. Each file is one thread; a CPU whose
    records are spread over two files (its thread changed) is an error, since their relative
    order is then lost. x86 lines name no CPU: more than one file with exits is an error."""
    files = sorted(directory.glob("*.log"))
    if not files:
        raise TrapLogError(f"{directory}: error: no trap log (*.log) in the directory")
    out: dict[int, list[Trap]] = {}
    owner: dict[int, Path] = {}
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            raise TrapLogError(f"{path}: error: cannot read: {exc}") from None
        for cpu, traps in by_cpu(parse_trap_log(text, arch, str(path))).items():
            if cpu in owner:
                what = "x86 exits (their lines name no CPU)" if arch is Arch.X86_64 \
                    else f"CPU {cpu}'s records"
                raise TrapLogError(f"{path}:{traps[0].line}: error: {what} also in "
                                   f"{owner[cpu]}; their order is lost")
            owner[cpu] = path
            out[cpu] = traps
    return out
