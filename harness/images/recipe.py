"""Image recipes: the declarative TOML files in images/recipes/, loaded into typed values.

A recipe says everything that determines an image: the axvisor release (exact version and the
sha256 crates.io publishes for it), the exit schema it reports with, cargo target (or a std
build for a custom target spec), features, log level, rustflags, environment, files and crate
patches the published sources need, the guest it embeds and the QEMU profile it is meant for.
Every key is checked; an unknown key or a bad value is a UsageError naming the file, the line
and what was expected.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.digest import sha256_file
from harness.errors import UsageError
from harness.images.local import LocalCrate, local_crate
from harness.images.recipe_check import Checker, exit_schema, std_spec
from harness.images.std_target import StdSpec

ARCHES = ("aarch64", "riscv64", "x86_64")
LOG_LEVELS = ("off", "error", "warn", "info", "debug", "trace")
# How the image puts exits on the console: the upstream trace record, printed synchronously
# ("trace"); the same record through a queue that can drop it ("lossy-trace"); one
# `AXH-EXIT vm=… vcpu=…` line per exit written synchronously by an instrumentation patch
# ("sync").
EXIT_LOGS = ("trace", "lossy-trace", "sync")
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CRATE = re.compile(r"^[A-Za-z0-9_-]+$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class CratePatch:
    """A unified diff (our own) applied to one crates.io dependency, used via [patch.crates-io].
    Several patches of one crate are applied in recipe order."""

    crate: str
    version: str
    patch: Path  # absolute path of the .patch file
    why: str


@dataclass(frozen=True, slots=True)
class ExtraFile:
    """A file the published axvisor crate lacks, written into its source tree before building."""

    dest: str  # relative to the unpacked crate root
    source: Path  # absolute path
    why: str


@dataclass(frozen=True, slots=True)
class AxConfigSpec:
    """How to generate AX_CONFIG_PATH: defaults from one crate's file, the platform crate's
    axconfig.toml over them, then dotted-key overrides (harness.images.axconfig)."""

    base_crate: str
    base_file: str
    platform_crate: str
    overrides: tuple[tuple[str, int | str], ...]


@dataclass(frozen=True, slots=True)
class GuestSpec:
    """The guest the image embeds: its source under guest-src/ and its VM config template."""

    source: Path  # absolute path of the guest's assembly source
    vm_config: Path  # absolute path of the VM config template (kernel_path is filled in)
    entry: int  # load address and entry point of the guest (guest-physical)
    # base.phys_cpu_ids of the VM config: vCPU i is pinned to physical CPU phys_cpu_ids[i].
    phys_cpu_ids: tuple[int, ...] = (0,)
    # A prebuilt guest (`[guest] kernel`, e.g. a Linux kernel) instead of an assembled runtime:
    # `source` is then that kernel, `files` what the VM config names beside it (DTB, ramdisk);
    # both under guests_root(), made by ci/fetch-guest-kernels.sh. Such a guest has no payload.
    prebuilt: bool = False
    files: tuple[Path, ...] = ()

    @property
    def vcpu_of_cpu(self) -> dict[int, int]:
        """Physical CPU → the vCPU pinned to it (how a log record's CPU names its vCPU)."""
        return {cpu: vcpu for vcpu, cpu in enumerate(self.phys_cpu_ids)}


@dataclass(frozen=True, slots=True)
class ImageRecipe:
    """One buildable axvisor image."""

    path: Path
    name: str
    arch: str
    axvisor_version: str
    axvisor_sha256: str
    axvcpu_version: str  # the AxVCpuExitReason generation this image reports with ("" if none)
    target: str
    features: tuple[str, ...]
    log_level: str
    rustflags: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    to_bin: bool
    extra_files: tuple[ExtraFile, ...]
    crate_patches: tuple[CratePatch, ...]
    qemu_profile: str
    guest: GuestSpec
    axconfig: AxConfigSpec | None = None
    notes: str = field(default="")
    own_scenarios_only: bool = False  # run only scenarios that name this recipe
    # The exit schema id (the model's data file) and the crate + version it is pinned to; for
    # recipes that name `axvcpu` both are derived from it.
    schema: str = ""
    exit_crate: tuple[str, str] = ("", "")
    exit_log: str = "trace"
    std: StdSpec | None = None  # a std build for a custom target spec, else core+alloc
    libclang: bool = False  # a build script runs bindgen, which loads libclang
    # Crates built from a local directory ([[local]], --crate, --axvisor), sorted by crate.
    local_crates: tuple[LocalCrate, ...] = ()

    @property
    def backend(self) -> str:
        """x86 virtualisation backend the image is built with ("svm", "vmx"); "" elsewhere."""
        if self.arch != "x86_64":
            return ""
        return "svm" if "svm" in self.features else "vmx"

    def canonical(self) -> dict[str, Any]:
        """Everything that determines the build output, in a stable form (for the cache key).
        Keys a recipe of the first format cannot have are added only when used, so those
        recipes keep their keys."""
        out: dict[str, Any] = {
            "name": self.name,
            "arch": self.arch,
            "axvisor": [self.axvisor_version, self.axvisor_sha256],
            "axvcpu": self.axvcpu_version,
            "target": self.target,
            "features": list(self.features),
            "log_level": self.log_level,
            "rustflags": list(self.rustflags),
            "env": [list(kv) for kv in self.env],
            "to_bin": self.to_bin,
            "extra_files": [[f.dest, sha256_file(f.source)] for f in self.extra_files],
            "crate_patches": [
                [p.crate, p.version, sha256_file(p.patch)] for p in self.crate_patches
            ],
            "guest": [sha256_file(self.guest.source), sha256_file(self.guest.vm_config),
                      self.guest.entry, *[[f.name, sha256_file(f)] for f in self.guest.files]]
            if not self.guest.prebuilt else [
                *[_sha256_or_absent(f) for f in (self.guest.source, self.guest.vm_config)],
                self.guest.entry, *[[f.name, _sha256_or_absent(f)] for f in self.guest.files]],
            "axconfig": None if self.axconfig is None else [
                self.axconfig.base_crate, self.axconfig.base_file, self.axconfig.platform_crate,
                [list(kv) for kv in self.axconfig.overrides]],
        }
        if not self.axvcpu_version:
            out["schema"] = [self.schema, *self.exit_crate]
        if self.exit_log != "trace":
            out["exit_log"] = self.exit_log
        if self.std is not None:
            out["std"] = self.std.canonical()
        if self.libclang:
            out["libclang"] = True
        if self.local_crates:  # the content, never the path (harness.images.local)
            out["local"] = [[c.crate, c.digest] for c in self.local_crates]
        return out

    def digest(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def _sha256_or_absent(path: Path) -> str:
    """A prebuilt guest file may not be fetched yet: the key says so instead of failing (the
    build refuses to start without it, harness.images.build)."""
    return sha256_file(path) if path.is_file() else f"absent:{path}"


def guests_root() -> Path:
    """Where prebuilt guests live: $AXHARNESS_GUESTS, else ~/.cache/axharness/guests (what
    ci/fetch-guest-kernels.sh fills)."""
    env = os.environ.get("AXHARNESS_GUESTS")
    return Path(env) if env else Path.home() / ".cache" / "axharness" / "guests"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read recipe {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise UsageError(f"{path}:{line}: not a UTF-8 text file (a recipe is TOML; byte "
                         f"{exc.start} is {exc.object[exc.start]:#04x})") from None


_TOP = {"recipe", "axvisor", "build", "patch", "file", "guest", "qemu", "axconfig", "std",
        "local"}


def load_recipe(path: Path, repo_root: Path) -> ImageRecipe:
    """Load and validate one recipe file, wherever it is. Paths inside it are relative to the
    checkout's images/ (patches, files, VM configs) and guest-src/ (guest sources), so a copy
    of a recipe works from anywhere; a `[[local]]` path is relative to the recipe's own
    directory (the developer's tree is beside their recipe, not in the checkout)."""
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc
    c = Checker(path, text)
    for key in data:
        if key not in _TOP:
            raise c.at((key,), f"unknown table or key `{key}`")
    images_dir = repo_root / "images"
    r = c.table(data, "recipe", {"name", "arch", "notes", "own_scenarios_only"},
                {"name", "arch"})
    a = c.table(data, "axvisor", {"version", "sha256", "axvcpu", "schema", "exit_crate",
                                  "exit_log"}, {"version", "sha256"})
    b = c.table(data, "build", {"target", "features", "log_level", "rustflags", "env", "to_bin",
                                "libclang"}, {"target", "log_level"})
    g = c.table(data, "guest", {"source", "vm_config", "entry", "kernel", "files"},
                {"vm_config", "entry"})
    if ("source" in g) == ("kernel" in g):
        raise c.fail(("guest",), "exactly one of `source` (a runtime to assemble) "
                     "and `kernel` (a prebuilt guest under the guests directory)")
    q = c.table(data, "qemu", {"profile"}, {"profile"})

    env = b.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise c.fail(("build", "env"), "a table of string values")
    entry = g.get("entry")
    if not isinstance(entry, int) or isinstance(entry, bool) or entry < 0:
        raise c.fail(("guest", "entry"), "a non-negative integer address")
    axvcpu, schema, exit_crate = exit_schema(c, a, SEMVER, CRATE)

    patches = []
    for i, p in enumerate(c.entries(data, "patch", {"crate", "version", "file", "why"})):
        at = ("patch", i)
        patches.append(CratePatch(
            crate=c.string(p, (*at, "crate"), CRATE),
            version=c.string(p, (*at, "version"), SEMVER),
            patch=c.existing(images_dir, p, (*at, "file")),
            why=c.string(p, (*at, "why")),
        ))
    files = []
    for i, f in enumerate(c.entries(data, "file", {"dest", "source", "why"})):
        at = ("file", i)
        dest = c.string(f, (*at, "dest"))
        if dest.startswith("/") or ".." in Path(dest).parts:
            raise c.fail((*at, "dest"), "a path inside the crate")
        files.append(ExtraFile(dest=dest, source=c.existing(images_dir, f, (*at, "source")),
                               why=c.string(f, (*at, "why"))))

    locals_: dict[str, LocalCrate] = {}
    for i, lc in enumerate(c.entries(data, "local", {"crate", "path"})):
        at = ("local", i)
        crate = c.string(lc, (*at, "crate"), CRATE)
        where = f"{path}:{c.locations.line(at)}"
        if crate in locals_ or any(p.crate == crate for p in patches):
            raise c.at(at, f"{crate} is already taken from "
                       f"{'another [[local]]' if crate in locals_ else 'a [[patch]]'}; "
                       "a crate comes from one place")
        locals_[crate] = local_crate(crate, path.parent / c.string(lc, (*at, "path")), where)

    axconfig = None
    if "axconfig" in data:
        x = c.table(data, "axconfig", {"base_crate", "base_file", "platform_crate", "overrides"},
                    {"base_crate", "base_file", "platform_crate"})
        ov = x.get("overrides", {})
        if not isinstance(ov, dict) or not all(c.is_int(v) or isinstance(v, str)
                                               for v in ov.values()):
            raise c.fail(("axconfig", "overrides"),
                         "a table of dotted keys to integers or strings")
        axconfig = AxConfigSpec(
            base_crate=c.string(x, ("axconfig", "base_crate"), CRATE),
            base_file=c.string(x, ("axconfig", "base_file")),
            platform_crate=c.string(x, ("axconfig", "platform_crate"), CRATE),
            overrides=tuple(sorted((str(k), v) for k, v in ov.items())),
        )

    vm_config = c.existing(images_dir, g, ("guest", "vm_config"))
    return ImageRecipe(
        path=path,
        axconfig=axconfig,
        own_scenarios_only=c.boolean(r, ("recipe", "own_scenarios_only")),
        name=c.string(r, ("recipe", "name"), _NAME),
        arch=c.string(r, ("recipe", "arch"), choices=ARCHES),
        notes=c.string(r, ("recipe", "notes"), default=""),
        axvisor_version=c.string(a, ("axvisor", "version"), SEMVER),
        axvisor_sha256=c.string(a, ("axvisor", "sha256"), _SHA256),
        axvcpu_version=axvcpu,
        schema=schema,
        exit_crate=exit_crate,
        exit_log=c.string(a, ("axvisor", "exit_log"), choices=EXIT_LOGS, default="trace"),
        target=c.string(b, ("build", "target"), CRATE),
        features=c.strings(b, ("build", "features")),
        log_level=c.string(b, ("build", "log_level"), choices=LOG_LEVELS),
        rustflags=c.strings(b, ("build", "rustflags")),
        env=tuple(sorted((str(k), str(v)) for k, v in env.items())),
        to_bin=c.boolean(b, ("build", "to_bin")),
        libclang=c.boolean(b, ("build", "libclang")),
        std=std_spec(c, data) if "std" in data else None,
        extra_files=tuple(files),
        crate_patches=tuple(patches),
        local_crates=tuple(locals_[k] for k in sorted(locals_)),
        qemu_profile=_profile(c, q, str(data.get("recipe", {}).get("arch", ""))),
        guest=GuestSpec(
            source=c.existing(repo_root / "guest-src", g, ("guest", "source")) if "source" in g
            else guests_root() / c.string(g, ("guest", "kernel")),
            vm_config=vm_config,
            entry=entry,
            phys_cpu_ids=_phys_cpu_ids(vm_config, entry),
            prebuilt="kernel" in g,
            files=tuple(guests_root() / f for f in c.strings(g, ("guest", "files"))),
        ),
    )


def render_vm_config(template: str, kernel_path: str, entry: int) -> str:
    """The VM config axvisor gets: the template with its two placeholders filled in."""
    return template.replace("@KERNEL_PATH@", kernel_path).replace("@ENTRY@", f"0x{entry:x}")


def _phys_cpu_ids(path: Path, entry: int) -> tuple[int, ...]:
    """base.phys_cpu_ids of a VM config template (default: vCPU i on CPU i)."""
    try:
        data = tomllib.loads(render_vm_config(path.read_text(), "guest.bin", entry))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: not a readable TOML VM config: {exc}") from exc
    base = data.get("base")
    if not isinstance(base, dict) or not isinstance(base.get("cpu_num"), int):
        raise UsageError(f"{path}: [base] needs an integer cpu_num")
    ids = base.get("phys_cpu_ids", list(range(base["cpu_num"])))
    if not isinstance(ids, list) or len(ids) != base["cpu_num"] or \
            not all(isinstance(i, int) and i >= 0 for i in ids) or len(set(ids)) != len(ids):
        raise UsageError(f"{path}: base.phys_cpu_ids must list cpu_num distinct CPU numbers")
    return tuple(ids)


def _profile(c: Checker, q: dict[str, Any], arch: str) -> str:
    """[qemu] profile: one of harness.qemu.profiles, for the recipe's architecture."""
    from harness.qemu.profiles import PROFILES

    name = c.string(q, ("qemu", "profile"), choices=tuple(sorted(PROFILES)))
    if PROFILES[name].arch != arch:
        raise c.fail(("qemu", "profile"), f"a profile of {arch}, got {name!r} "
                     f"({PROFILES[name].arch})")
    return name


def find_recipes(repo_root: Path) -> list[Path]:
    return sorted((repo_root / "images" / "recipes").glob("*.toml"))
