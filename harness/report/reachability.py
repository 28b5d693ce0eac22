"""Variants a pinned vCPU implementation never returns, read from its source and reviewed.

The coverage report must tell "no scenario produced it yet" apart from "the implementation
under test has no code path that returns it". The second is a fact about one vCPU crate
version (and x86 backend), cited to its source, kept in tests/conformance/vcpu-reachability.toml
and checked against the images that ran: it changes a report note, never a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.model.exits import VARIANT_BY_NAME
from harness.reviewed_list import read_entries

REACHABILITY_FILE = Path("tests/conformance/vcpu-reachability.toml")
_KEYS = {"arch", "axvisor", "backend", "vcpu", "variant", "why", "source"}
_VARIANTS = frozenset(VARIANT_BY_NAME)  # the canonical kinds (schemas/canonical.toml)


@dataclass(frozen=True, slots=True)
class Unreachable:
    """`variant` is never returned by the vCPU of `arch` images of these axvisor versions
    (and x86 `backend`)."""

    arch: str
    axvisor: tuple[str, ...]
    backend: str
    vcpu: str  # crate and version, e.g. "arm_vcpu 0.2.2"
    variant: str
    why: str
    source: str
    line: int

    def applies(self, arch: str, axvisor: str, backend: str) -> bool:
        return arch == self.arch and axvisor in self.axvisor and backend == self.backend


def load_reachability(path: Path) -> tuple[Unreachable, ...]:
    """Read and validate the file; every problem names the file and the entry's line."""
    out = []
    seen: set[tuple[str, str, str, str]] = set()
    for line, e in read_entries(path, "unreachable"):
        where = f"{path}:{line}: [[unreachable]]"
        if set(e) != _KEYS:
            raise UsageError(f"{where} needs exactly {sorted(_KEYS)}; missing "
                             f"{sorted(_KEYS - set(e))}, unknown {sorted(set(e) - _KEYS)}")
        if not isinstance(e["axvisor"], list) or not e["axvisor"] or \
                not all(isinstance(v, str) for v in e["axvisor"]):
            raise UsageError(f"{where} `axvisor` must be a non-empty list of versions")
        if e["variant"] not in _VARIANTS:
            raise UsageError(f"{where} unknown variant {e['variant']!r}")
        if e["backend"] not in ("", "svm", "vmx") or \
                (e["backend"] == "") != (e["arch"] != "x86_64"):
            raise UsageError(f"{where} `backend` is \"svm\" or \"vmx\" on x86_64, \"\" elsewhere")
        if not re.match(r"^[a-z0-9_-]+ \d+\.\d+\.\d+\S*$", str(e["vcpu"])):
            raise UsageError(f"{where} `vcpu` must be '<crate> <version>', got {e['vcpu']!r}")
        for text_key in ("why", "source"):
            if not isinstance(e[text_key], str) or not e[text_key].strip():
                raise UsageError(f"{where} `{text_key}` must be a non-empty string")
        for version in e["axvisor"]:
            key = (e["arch"], version, e["backend"], e["variant"])
            if key in seen:
                raise UsageError(f"{where} a second entry for {e['variant']} on {e['arch']} "
                                 f"axvisor {version}")
            seen.add(key)
        out.append(Unreachable(e["arch"], tuple(e["axvisor"]), e["backend"], e["vcpu"],
                               e["variant"], e["why"], e["source"], line))
    return tuple(out)


def unreachable_for(entries: Sequence[Unreachable], arch: str, axvisor: str, backend: str
                    ) -> dict[str, Unreachable]:
    """Variant name → entry, for one image."""
    return {e.variant: e for e in entries if e.applies(arch, axvisor, backend)}
