"""Which programs may share an axvisor boot, decided before anything is sent.

A program shares a boot only when everything it does is known to leave no state behind and
to return to the loader: loads and stores inside the MMIO windows the fuzz generator already
uses because the emulated device ignores them (harness.fuzz.generate), hypercalls that axvisor
rejects (no axhvc code, no PSCI id, no marker), and SBI console output. Everything else ends
the VM, parks or starts a vCPU, panics axvisor, changes translation or interrupt routing,
shares the console channel or waits on it: it runs on a fresh boot of its own (the standalone
path, unchanged). A whitelist, not a blacklist: a new action kind is standalone until someone
shows it is safe. Fresh boots are also forced every `every` programs and after any verdict but
pass/xfail (harness.persist.runner).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.fuzz.generate import HYPERCALL_CODES, PSCI_RANGES, RUNTIME_MARKERS, WINDOW
from harness.images.build import Image
from harness.persist.frame import NR_BAD, NR_READY
from harness.persist.loader import ARCHES
from harness.scenarios import aarch64 as sc_aarch64
from harness.scenarios import riscv64 as sc_riscv64
from harness.scenarios.actions import Action, Hypercall, MmioLoad, MmioStore, SbiCall
from harness.scenarios.catalogue import Scenario

WINDOWS = {"aarch64": (sc_aarch64.DEV, sc_aarch64.DEV + WINDOW),
           "riscv64": (sc_riscv64.DEV, sc_riscv64.DEV + WINDOW)}
SBI_CONSOLE = (1, sc_riscv64.EID_DBCN)  # legacy console putchar, DBCN
EVERY = 200  # a fresh boot after this many programs, to bound what any one could leave behind
LOSSY_WHY = ("the image's exit log may drop records (unpatched trace): a program's end "
             "boundary could be lost")


@dataclass(frozen=True, slots=True)
class Decision:
    persistent: bool
    why: str  # why not (empty when persistent)


def image_allows(image: Image) -> Decision:
    """Whether programs may share boots of `image`: a loader for its architecture, and an exit
    log that keeps every record (the 0.8 line's text-free loader is found by its records)."""
    if image.arch not in ARCHES:
        return Decision(False, f"no persistent-mode loader for {image.arch}")
    if image.exit_log == "lossy-trace":
        return Decision(False, LOSSY_WHY)
    return Decision(True, "")


def _action_why(arch: str, action: Action) -> str:
    if isinstance(action, MmioLoad | MmioStore):
        lo, hi = WINDOWS[arch]
        if not (lo <= action.addr and action.addr + action.width <= hi):
            return f"MMIO at {action.addr:#x}, outside the ignored window {lo:#x}-{hi:#x}"
        if arch == "riscv64" and action.width != 4:
            return "a vPLIC access that is not 32 bits panics axvisor"
        return ""
    if isinstance(action, Hypercall):
        low = action.nr & 0xFFFF_FFFF
        if low < HYPERCALL_CODES or low in RUNTIME_MARKERS or low in (NR_BAD, NR_READY) or \
                any(lo <= low <= hi or lo <= action.nr <= hi for lo, hi in PSCI_RANGES):
            return f"hypercall {action.nr:#x} is one axvisor acts on (axhvc, PSCI or a marker)"
        return ""
    if isinstance(action, SbiCall) and arch == "riscv64":
        return "" if action.eid in SBI_CONSOLE else f"SBI extension {action.eid:#x}"
    return f"{type(action).__name__} may leave state behind or end the VM"


def scenario_allows(scenario: Scenario) -> Decision:
    """Whether `scenario` (already `for_image`) may run inside a shared boot."""
    ends = [k for k in ("expect_panic", "expect_hang", "expect_stuck", "may_stick",
                        "expect_vm_error", "last_exit_repeats", "may_repeat_last_exit",
                        "console_input", "expect_async") if getattr(scenario, k)]
    if ends:
        return Decision(False, f"declares {', '.join(ends)}")
    if not scenario.actions:
        return Decision(False, "no actions")
    for action in scenario.actions:
        why = _action_why(scenario.arch, action)
        if why:
            return Decision(False, why)
    return Decision(True, "")


def fits(code_len: int, program_max: int) -> Decision:
    if code_len > program_max:
        return Decision(False, f"{code_len} bytes of code, the loader takes {program_max}")
    return Decision(True, "")
