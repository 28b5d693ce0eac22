"""Where a run's results come from: harness version and commit, QEMU, toolchain, images.

Read once after the run from the cases and the image manifests, so the reports (HTML, JUnit
properties, results.json) say what produced them without anyone re-running anything.
"""

from __future__ import annotations

import json
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import HarnessError
from harness.qemu.profiles import get_profile
from harness.run.case import CaseResult

# The crates that carry the vCPU exits (axvcpu and the architecture's backend up to axvisor
# 0.5; axvm and ax-cpu from 0.6 on). A lock file lists every architecture's backend: only the
# image's own counts.
VCPU_CRATES = ("axvcpu", "axvm", "ax-cpu")
BACKENDS = {"aarch64": "arm_vcpu", "riscv64": "riscv_vcpu", "x86_64": "x86_vcpu"}


@dataclass(frozen=True, slots=True)
class ImageProvenance:
    recipe: str
    arch: str
    axvisor: str
    key: str  # "" when the image was not built (skipped or failed)
    vcpu_crates: tuple[tuple[str, str], ...]
    qemu: str  # QEMU version line
    accel: str
    cpu: str
    toolchain: str
    build_seconds: float | None

    def properties(self) -> tuple[tuple[str, str], ...]:
        """(name, value) pairs for a JUnit <properties> block; empty values left out."""
        pairs = [("arch", self.arch), ("image", self.recipe), ("axvisor", self.axvisor),
                 ("image_key", self.key), ("qemu", self.qemu), ("accelerator", self.accel),
                 ("cpu", self.cpu), ("toolchain", self.toolchain),
                 *((f"crate.{n}", v) for n, v in self.vcpu_crates)]
        return tuple((n, v) for n, v in pairs if v)


@dataclass(frozen=True, slots=True)
class Provenance:
    harness: str
    commit: str
    command: str
    host: str
    python: str
    images: tuple[ImageProvenance, ...]

    @property
    def qemu_versions(self) -> tuple[str, ...]:
        return tuple(sorted({i.qemu for i in self.images if i.qemu}))

    @property
    def toolchains(self) -> tuple[str, ...]:
        return tuple(sorted({i.toolchain for i in self.images if i.toolchain}))

    def to_json(self) -> dict[str, Any]:
        return {"harness": self.harness, "commit": self.commit, "command": self.command,
                "host": self.host, "python": self.python,
                "images": [{"recipe": i.recipe, "arch": i.arch, "axvisor": i.axvisor,
                            "key": i.key, "vcpu_crates": dict(i.vcpu_crates), "qemu": i.qemu,
                            "accel": i.accel, "cpu": i.cpu, "toolchain": i.toolchain,
                            "build_seconds": i.build_seconds} for i in self.images]}


def git_commit(root: Path) -> str:
    """HEAD of the checkout, `+dirty` when tracked files differ; why not, when it is not one."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], check=True, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


def _manifest(path: object) -> dict[str, Any]:
    try:
        data = json.loads(Path(str(path)).read_text())
    except (OSError, ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def _image(recipe: str, cases: Sequence[CaseResult], built: Mapping[str, Any]
           ) -> ImageProvenance:
    first = next((c for c in cases if c.qemu.get("version")), cases[0])
    image, qemu = first.image, dict(first.qemu)
    if not qemu.get("accel") and qemu.get("profile"):  # not run: the profile still tells
        try:
            profile = get_profile(str(qemu["profile"]))
            qemu |= {"accel": profile.accel, "cpu": profile.cpu}
        except HarnessError:
            pass
    manifest = _manifest(built.get("manifest", ""))
    crates = manifest.get("resolved", {}).get("crates", {})
    names = (VCPU_CRATES[0], BACKENDS.get(first.arch, ""), *VCPU_CRATES[1:])
    vcpu = tuple((n, str(crates[n])) for n in names if n in crates)
    if not vcpu and image.get("axvcpu"):
        vcpu = (("axvcpu", str(image["axvcpu"])),)
    tc = manifest.get("toolchain", {})
    seconds = built.get("build_seconds")
    return ImageProvenance(
        recipe=recipe, arch=first.arch,
        axvisor=str(image.get("axvisor") or built.get("axvisor") or ""),
        key=str(image.get("key") or built.get("key") or ""), vcpu_crates=vcpu,
        qemu=str(qemu.get("version", "")), accel=str(qemu.get("accel", "")),
        cpu=str(qemu.get("cpu", "")), toolchain=str(tc.get("rustc_version", "")),
        build_seconds=float(seconds) if isinstance(seconds, int | float) else None)


def images_of(cases: Sequence[CaseResult], extra: Mapping[str, Any]
              ) -> tuple[ImageProvenance, ...]:
    """One entry per image of `cases`; `extra` is what the suite returned beside the cases
    (its "images": recipe → key, manifest path, versions)."""
    by_recipe: dict[str, list[CaseResult]] = {}
    for c in cases:
        by_recipe.setdefault(c.case_id.split("/", 1)[0],
                             []).append(c)
    built = extra.get("images", {})
    built = built if isinstance(built, Mapping) else {}
    return tuple(_image(r, items, built.get(r, {})) for r, items in sorted(by_recipe.items()))


def collect(cases: Sequence[CaseResult], extra: Mapping[str, Any], command: str,
            root: Path) -> Provenance:
    return Provenance(
        harness=__version__, commit=git_commit(root), command=command,
        host=f"{platform.machine()} {platform.system()} {platform.release()}",
        python=platform.python_version(), images=images_of(cases, extra))
