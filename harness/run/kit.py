"""What one case needs to run anywhere, as data: the QEMU line (with the kernel as a token),
the kernel and ELF file names, the scenario's declared end with its watchdogs, the expected
exits, the recorded ones and the known divergences that explained the recorded run.

A case directory holds `end.json` (written while the case ran, harness.run.keep); a bundle
holds `case.json`, this whole kit. Standard library only: a bundle carries this module to a
machine that has nothing but QEMU and Python.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KIT_FORMAT = "axharness-kit/1"
END_FORMAT = "axharness-end/1"
KERNEL_TOKEN = "@KERNEL@"  # where the QEMU line names the kernel


class KitError(Exception):
    """A kit or end file that cannot be used (one line naming the file)."""


@dataclass(frozen=True, slots=True)
class DeclaredEnd:
    """How the scenario ends and how long a run may take (harness.scenarios.catalogue)."""

    timeout_s: float
    watchdog_s: float
    expect_panic: str = ""
    expect_hang: bool = False
    expect_stuck: str = ""
    may_stick: str = ""
    last_exit_repeats: bool = False
    may_repeat_last_exit: bool = False
    expect_vm_error: str = ""
    expect_async: tuple[str, ...] = ()
    console_input: bytes = b""
    stuck_settle_s: float = 5.0
    # The current axvisor line (harness.run.current_line): its end is the last VM stopping,
    # and the guest runtime's marker hypercalls (start, end) are the runtime's exits.
    current_line: bool = False
    markers: tuple[int, ...] = ()
    # The model has the guest reach the runtime's power-off: its end marker must have come.
    end_marker_due: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"format": END_FORMAT, "timeout_s": self.timeout_s,
                "watchdog_s": self.watchdog_s, "expect_panic": self.expect_panic,
                "expect_hang": self.expect_hang, "expect_stuck": self.expect_stuck,
                "may_stick": self.may_stick, "last_exit_repeats": self.last_exit_repeats,
                "may_repeat_last_exit": self.may_repeat_last_exit,
                "expect_vm_error": self.expect_vm_error, "expect_async": list(self.expect_async),
                "console_input": base64.b64encode(self.console_input).decode(),
                "stuck_settle_s": self.stuck_settle_s, "current_line": self.current_line,
                "markers": list(self.markers), "end_marker_due": self.end_marker_due}

    @staticmethod
    def from_json(obj: object, where: str) -> DeclaredEnd:
        if not isinstance(obj, Mapping) or obj.get("format") != END_FORMAT:
            raise KitError(f"{where}: not a declared end ({END_FORMAT})")
        try:
            return DeclaredEnd(
                timeout_s=float(obj["timeout_s"]), watchdog_s=float(obj["watchdog_s"]),
                expect_panic=str(obj.get("expect_panic", "")),
                expect_hang=bool(obj.get("expect_hang", False)),
                expect_stuck=str(obj.get("expect_stuck", "")),
                may_stick=str(obj.get("may_stick", "")),
                last_exit_repeats=bool(obj.get("last_exit_repeats", False)),
                may_repeat_last_exit=bool(obj.get("may_repeat_last_exit", False)),
                expect_vm_error=str(obj.get("expect_vm_error", "")),
                expect_async=tuple(str(v) for v in obj.get("expect_async", [])),
                console_input=base64.b64decode(str(obj.get("console_input", ""))),
                stuck_settle_s=float(obj.get("stuck_settle_s", 5.0)),
                current_line=bool(obj.get("current_line", False)),
                markers=tuple(int(m) for m in obj.get("markers", [])),
                end_marker_due=bool(obj.get("end_marker_due", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise KitError(f"{where}: bad declared end ({exc!r})") from None

    def describe(self) -> str:
        if self.expect_panic:
            return f"expected hypervisor panic {self.expect_panic!r}"
        if self.expect_hang:
            return f"the vCPU stays blocked (watchdog {self.watchdog_s:.0f}s)"
        if self.expect_stuck:
            return f"stuck after {self.expect_stuck!r} ({self.stuck_settle_s:.0f}s settle)"
        if self.expect_vm_error:
            return f"axvisor stops the VM on {self.expect_vm_error!r}"
        return "axvisor's shell after the VM stops"


@dataclass(frozen=True, slots=True)
class KnownCover:
    """A known divergence as far as judging needs it (harness.check.known)."""

    id: str
    kind: str
    variant: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Kit:
    case_id: str
    arch: str
    schema: str  # the exit schema id (harness.model.schemas; older kits: a Generation name)
    argv: tuple[str, ...]  # the QEMU line, KERNEL_TOKEN for the kernel
    kernel: str  # file name of the patched kernel, next to the kit
    elf: str  # file name of the ELF with symbols ("" none)
    end: DeclaredEnd
    expected: tuple[dict[str, Any], ...] | None  # expected.json; None: not predicted
    recorded: tuple[dict[str, Any], ...] | None  # observed.jsonl; None: not recorded
    recorded_verdict: str
    vcpu_of_cpu: tuple[tuple[int, int], ...] = ((0, 0),)
    known: tuple[KnownCover, ...] = ()
    patched_sha256: str = ""
    # The recorded exits are one program's slice of a shared boot (persistent mode): the
    # runtime's power-off, which a standalone run adds after them, is not among them.
    recorded_slice: bool = False
    runtime_after: int = -1  # ... and how many exits the runtime adds after it (-1: unknown)
    # The recorded run started from a snapshot: the restore adds a timer tick or two, so
    # only the synchronous exits are compared (harness.persist.snapshot).
    recorded_restored: bool = False

    def qemu_argv(self, kernel: Path, binary: str = "") -> list[str]:
        out = [str(kernel) if a == KERNEL_TOKEN else a for a in self.argv]
        return [binary or out[0], *out[1:]]

    def to_json(self) -> dict[str, Any]:
        return {"format": KIT_FORMAT, "case": self.case_id, "arch": self.arch,
                "schema": self.schema, "argv": list(self.argv),
                "kernel": self.kernel, "elf": self.elf, "end": self.end.to_json(),
                "expected": None if self.expected is None else list(self.expected),
                "recorded": None if self.recorded is None else list(self.recorded),
                "recorded_verdict": self.recorded_verdict,
                "vcpu_of_cpu": [list(p) for p in self.vcpu_of_cpu],
                "known": [{"id": k.id, "kind": k.kind, "variant": k.variant,
                           "fields": list(k.fields)} for k in self.known],
                "patched_sha256": self.patched_sha256, "recorded_slice": self.recorded_slice,
                "runtime_after": self.runtime_after,
                "recorded_restored": self.recorded_restored}

    @staticmethod
    def from_json(obj: object, where: str) -> Kit:
        if not isinstance(obj, Mapping) or obj.get("format") != KIT_FORMAT:
            raise KitError(f"{where}: not a case kit ({KIT_FORMAT})")
        try:
            return Kit(
                case_id=str(obj["case"]), arch=str(obj["arch"]),
                schema=str(obj.get("schema") or obj["generation"]),
                argv=tuple(str(a) for a in obj["argv"]),
                kernel=str(obj["kernel"]), elf=str(obj.get("elf", "")),
                end=DeclaredEnd.from_json(obj["end"], where),
                expected=None if obj.get("expected") is None else tuple(obj["expected"]),
                recorded=None if obj.get("recorded") is None else tuple(obj["recorded"]),
                recorded_verdict=str(obj.get("recorded_verdict", "?")),
                vcpu_of_cpu=tuple((int(c), int(v)) for c, v in obj.get("vcpu_of_cpu", [])),
                known=tuple(KnownCover(str(k["id"]), str(k["kind"]), str(k["variant"]),
                                       tuple(str(f) for f in k["fields"]))
                            for k in obj.get("known", [])),
                patched_sha256=str(obj.get("patched_sha256", "")),
                recorded_slice=bool(obj.get("recorded_slice", False)),
                runtime_after=int(obj.get("runtime_after", -1)),
                recorded_restored=bool(obj.get("recorded_restored", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise KitError(f"{where}: bad case kit ({exc!r})") from None


def read_kit(path: Path) -> Kit:
    try:
        return Kit.from_json(json.loads(path.read_text()), str(path))
    except (OSError, ValueError) as exc:
        raise KitError(f"{path}: unreadable ({exc})") from None
