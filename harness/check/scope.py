"""Which code an image runs, as far as known divergences care: the versions of the crates that
carry the exits, and every crate the image does not take unmodified from crates.io.

A known divergence quotes the source of one published crate version (`crate = "arm_vcpu
0.2.2"`). It can explain an image's behaviour only when that image builds exactly that crate
from crates.io, unmodified: on an image with the crate patched or taken from a local directory,
the reviewed code is not what runs, so the entry does not apply there (and says so), and the
scenarios it lists are judged against the model alone.

The case records this (`image.crates`, `image.modified_crates` in manifest.json and
results.json), so the decision is made from the case alone, and `axharness compare` can say
what changed between two images.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The crates whose versions a case records: those that produce the exits (axvcpu and the
# architecture's backend up to axvisor 0.5; axvm and ax-cpu from 0.6 on) and axvisor itself.
# A modified crate is always recorded too.
EXIT_CRATES = ("axvisor", "axvcpu", "axvm", "ax-cpu")
BACKENDS = {"aarch64": "arm_vcpu", "riscv64": "riscv_vcpu", "x86_64": "x86_vcpu"}


@dataclass(frozen=True, slots=True)
class ModifiedCrate:
    """One crate of an image's graph that is not the published crates.io source."""

    crate: str
    version: str
    how: str  # "patch" (our diffs on the published source) or "path" (a local directory)
    sha256: str  # of the patch (of the patches' digests, several), or of the directory
    detail: str = ""  # patch file names, or the directory

    @property
    def word(self) -> str:
        """"patched", "local" (or the lock's source for a crate from elsewhere)."""
        return {"patch": "patched", "path": "local"}.get(self.how, f"from {self.how}")

    @property
    def evidence(self) -> str:
        """What identifies the change: patch files or directory, and the digest."""
        return ", ".join(p for p in (self.detail, self.sha256 and f"sha256 {self.sha256[:12]}")
                         if p)

    def describe(self) -> str:
        return f"{self.word} ({self.evidence})" if self.evidence else self.word

    def to_json(self) -> dict[str, str]:
        return {"crate": self.crate, "version": self.version, "how": self.how,
                "sha256": self.sha256, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class ImageCrates:
    """What a case recorded about its image's crates."""

    recipe: str
    versions: tuple[tuple[str, str], ...]  # (crate, resolved version), the recorded ones
    modified: tuple[ModifiedCrate, ...]

    def version(self, crate: str) -> str | None:
        return dict(self.versions).get(crate)

    def modification(self, crate: str) -> ModifiedCrate | None:
        return next((m for m in self.modified if m.crate == crate), None)


@dataclass(frozen=True, slots=True)
class KnownNote:
    """A known divergence that lists a case's scenario and did not turn it into an xfail:
    `not-applicable` (the image does not run the code it quotes), `stale` (it applies and did
    not match) or `expired`. Evaluated, never "not run"."""

    entry: str
    status: str  # "not-applicable", "stale", "expired"
    why: str

    def describe(self) -> str:
        return f"entry {self.entry} {self.status.replace('-', ' ')}: {self.why}"

    def to_json(self) -> dict[str, str]:
        return {"entry": self.entry, "status": self.status, "why": self.why}


NOTE_STATUSES = ("not-applicable", "stale", "expired")


def _modified(value: object) -> tuple[ModifiedCrate, ...]:
    out = []
    for m in value if isinstance(value, list) else []:
        if isinstance(m, Mapping) and isinstance(m.get("crate"), str):
            out.append(ModifiedCrate(str(m["crate"]), str(m.get("version", "")),
                                     str(m.get("how", "patch")), str(m.get("sha256", "")),
                                     str(m.get("detail", ""))))
    return tuple(out)


CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
_LOCK_ENTRY = re.compile(r"^(\S+) (\S+) \((.*)\)$")  # build._lock_diff: "name version (source)"


def modified_in_manifest(manifest: Mapping[str, Any]) -> tuple[ModifiedCrate, ...]:
    """The image manifest's `modified_crates` (for a manifest written before that list
    existed: its `patches`), plus any crate its resolved lock takes from elsewhere than
    crates.io that the list misses: such a crate is not the published source either."""
    if "modified_crates" in manifest:
        listed = _modified(manifest["modified_crates"])
    else:
        patches = manifest.get("patches", [])
        listed = _modified([{**p, "how": "patch",
                             "detail": str(p.get("file", "")).rsplit("/", 1)[-1]}
                            for p in patches if isinstance(p, Mapping)]
                           if isinstance(patches, list) else [])
    resolved = manifest.get("resolved", {})
    changed = resolved.get("changed_from_published_lock", []) \
        if isinstance(resolved, Mapping) else []
    names = {m.crate for m in listed}
    extra = []
    for entry in changed if isinstance(changed, list) else []:
        m = _LOCK_ENTRY.match(str(entry))
        if m and m[3] != CRATES_IO and m[1] not in names:
            names.add(m[1])
            extra.append(ModifiedCrate(m[1], m[2], "path" if m[3] == "path" else m[3], "",
                                       "not from crates.io in the resolved lock"))
    return (*listed, *extra)


def image_record(manifest: Mapping[str, Any], arch: str) -> dict[str, Any]:
    """What a case records about its image's crates (into its `image`), from the image
    manifest: the exit crates' resolved versions and every modified crate."""
    resolved = manifest.get("resolved", {})
    crates = resolved.get("crates", {}) if isinstance(resolved, Mapping) else {}
    crates = crates if isinstance(crates, Mapping) else {}
    modified = modified_in_manifest(manifest)
    names = [*EXIT_CRATES, BACKENDS.get(arch, ""), *(m.crate for m in modified)]
    versions = {n: str(crates[n]) for n in names if n in crates}
    axvisor = manifest.get("axvisor", {})
    if isinstance(axvisor, Mapping) and axvisor.get("version"):
        versions["axvisor"] = str(axvisor["version"])
    return {"crates": dict(sorted(versions.items())),
            "modified_crates": [m.to_json() for m in modified]}


def case_crates(image: Mapping[str, Any]) -> ImageCrates | None:
    """A case's record of its image's crates; None when it has none (results written before
    cases recorded it, or a case whose image was never built)."""
    crates = image.get("crates")
    if not isinstance(crates, Mapping):
        return None
    return ImageCrates(recipe=str(image.get("recipe", "")),
                       versions=tuple(sorted((str(k), str(v)) for k, v in crates.items())),
                       modified=_modified(image.get("modified_crates", [])))


def not_applicable(crate: str, image: ImageCrates | None, reviewed_patches: tuple[str, ...] = ()
                   ) -> str:
    """Why an entry quoting `crate` ("NAME VERSION") does not apply to `image`; "" when it does
    (or when either side recorded nothing to decide by: the entry's other keys decide). A crate
    patched with a set the entry's reviewer checked (`reviewed_patches`, by digest) is still
    the reviewed code; any other change, or a local directory, is not."""
    if not crate or image is None:
        return ""
    name, _, version = crate.partition(" ")
    mod = image.modification(name)
    if mod is not None and not (mod.how == "patch" and mod.sha256 in reviewed_patches):
        return f"{name} modified in image {image.recipe} ({mod.describe()})"
    have = image.version(name)
    if have is not None and have != version:
        return f"image {image.recipe} resolves {name} {have}, the entry quotes {version}"
    return ""
