"""recipe → image: fetch the pinned axvisor crate, prepare its tree, build it, cache the result.

The cache is content-addressed: the key hashes the recipe (with the contents of every file it
names), the toolchain and binutils versions and this builder's own version, so anything that
can change the output changes the key. A hit is verified against the sha256 of every output
recorded in its manifest before it is trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.digest import sha256_file
from harness.errors import InfraError
from harness.guests.binutils import assemble, binutils_for
from harness.images import local, prepare
from harness.images.cache import build_lock
from harness.images.crates_io import fetch_crate, lock_checksum, unpack_crate
from harness.images.progress import CARGO_ENV, CargoOutput, StatusSink, via_messages
from harness.images.recipe import ImageRecipe, render_vm_config
from harness.images.recipe_check import schema_of_axvcpu
from harness.images.step import run_step
from harness.images.toolchain import Toolchain, detect, find_libclang

BUILDER_VERSION = "1"  # bump when the build procedure changes what it produces
PAYLOAD_MAGIC = b"AXH-PAYLOAD-AREA"


@dataclass(frozen=True, slots=True)
class Image:
    """A built image in the cache, with what a run needs to boot and patch it."""

    recipe: str
    arch: str
    key: str
    dir: Path
    kernel: Path  # what QEMU's -kernel gets (flat binary or ELF)
    elf: Path  # axvisor ELF with symbols (for gdb)
    axvisor_version: str
    axvcpu_version: str
    qemu_profile: str
    payload_offset: int  # file offset of the payload hole in `kernel`
    payload_capacity: int
    payload_base: int  # guest-physical address of the payload hole
    # The exit schema id the image reports with ("axvcpu-0.2", "axvm-0.8", …) and how its
    # exits reach the console (recipe.EXIT_LOGS); derived from axvcpu for old manifests.
    schema: str = ""
    exit_log: str = "trace"

    @property
    def manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.manifest_path.read_text())
        return data


def cache_key(recipe: ImageRecipe, tc: Toolchain) -> str:
    parts = {
        "recipe": recipe.digest(),
        "rustc": tc.rustc_version,
        "binutils": binutils_for(recipe.arch).version(),
        "builder": BUILDER_VERSION,
    }
    if recipe.libclang:  # bindgen's output follows the libclang version
        parts["libclang"] = find_libclang().version
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def find_payload(kernel: Path) -> tuple[int, int]:
    """(offset of the payload hole, its capacity) inside the kernel image."""
    data = kernel.read_bytes()
    at = data.find(PAYLOAD_MAGIC)
    if at < 0 or data.find(PAYLOAD_MAGIC, at + 1) >= 0:
        raise InfraError(f"{kernel}: the guest payload marker must occur exactly once")
    capacity = int.from_bytes(data[at + 16: at + 24], "little")
    return at + 24, capacity  # the runtime puts the hole right after magic and capacity


def read_image(d: Path, key: str, recipe: str, arch: str, qemu_profile: str) -> Image:
    """The image in cache directory `d`, after checking every output against the sha256 its
    manifest records; InfraError saying what is wrong otherwise."""
    mf = d / "manifest.json"
    try:
        m = json.loads(mf.read_text())
        for name, digest in m["outputs"].items():
            if sha256_file(d / name) != digest:
                raise InfraError(f"{d / name}: not the file its manifest records")
        axvcpu = m["resolved"]["axvcpu"]
        axvcpu = "" if axvcpu == "absent" else str(axvcpu)
        return Image(
            recipe=recipe, arch=arch, key=key, dir=d, kernel=d / m["kernel"],
            elf=d / "axvisor.elf", axvisor_version=m["axvisor"]["version"],
            axvcpu_version=axvcpu, qemu_profile=qemu_profile,
            payload_offset=int(m["payload"]["offset"]),
            payload_capacity=int(m["payload"]["capacity"]),
            payload_base=int(m["payload"]["base"]),
            schema=str(m.get("schema") or schema_of_axvcpu(axvcpu)),
            exit_log=str(m.get("exit_log", "trace")),
        )
    except OSError as exc:
        raise InfraError(f"{mf}: an output is unreadable ({exc.filename}: {exc.strerror})"
                         ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InfraError(f"{mf}: unreadable image manifest or output ({exc!r})") from None


def _load_cached(recipe: ImageRecipe, key: str, root: Path, progress: Any) -> Image | None:
    """The cached image, or None; a cache entry that exists but cannot be trusted is reported
    (with what is wrong) before it is rebuilt."""
    d = root / "images" / key
    if not d.exists():
        return None
    try:
        return read_image(d, key, recipe.name, recipe.arch, recipe.qemu_profile)
    except InfraError as exc:
        progress(f"cached image {key[:12]} of {recipe.name} is unusable, rebuilding: {exc}")
        return None


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> None:
    """A build step in its own process group, output to `log` (harness.images.step)."""
    run_step(cmd, cwd=cwd, env=env, log=log)


def _apply_patch(patch: Path, tree: Path, log: Path) -> None:
    _run(["patch", "-p1", "--forward", "--batch", "-i", str(patch)], cwd=tree,
         env=dict(os.environ), log=log)


def _render_vm_config(recipe: ImageRecipe, guest_name: str) -> str:
    return render_vm_config(recipe.guest.vm_config.read_text(), guest_name, recipe.guest.entry)


def build_image(recipe: ImageRecipe, cache: Path, *, force: bool = False,
                progress: Any = print, status: StatusSink | None = None) -> Image:
    """Build (or find in the cache) the image a recipe describes. `progress` gets messages
    (the build log's path first), `status` the live progress of cargo (default: a line every
    5 s through `progress`).

    One build per recipe at a time, across processes (pytest-xdist workers, parallel CI jobs):
    the others wait on a lock file, say so, and then find the result in the cache.
    """
    local.check_unchanged(recipe.local_crates, "since the recipe was read")
    with build_lock(cache, recipe.name, progress):
        return _build_locked(recipe, cache, force=force, progress=progress,
                             status=status or via_messages(progress))


def _build_locked(recipe: ImageRecipe, cache: Path, *, force: bool, progress: Any,
                  status: StatusSink) -> Image:
    guest = recipe.guest
    absent = [f for f in (guest.source, *guest.files) if guest.prebuilt and not f.is_file()]
    if absent:
        raise InfraError(f"{recipe.name}: prebuilt guest file {absent[0]} is missing; run "
                         "ci/fetch-guest-kernels.sh")
    tc = detect()
    key = cache_key(recipe, tc)
    if not force:
        hit = _load_cached(recipe, key, cache, progress)
        if hit is not None:
            return hit
    started = time.monotonic()
    log = cache / "logs" / f"{recipe.name}-{key[:12]}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"# build of {recipe.path} (key {key})\n")
    locals_ = ", ".join(f"{c.crate} from {c.path}" for c in recipe.local_crates)
    progress(f"building image {recipe.name} (axvisor {recipe.axvisor_version}, key {key[:12]}"
             f"{'; ' + locals_ if locals_ else ''}); build log: {log}")
    try:
        return _build(recipe, cache, tc, key, log, started, progress, status)
    except InfraError as exc:
        if str(log) in str(exc):
            raise
        raise InfraError(f"{exc}; build log: {log}") from None
    finally:
        status(None)


def _build(recipe: ImageRecipe, cache: Path, tc: Toolchain, key: str, log: Path,
           started: float, progress: Any, status: StatusSink) -> Image:
    guest = recipe.guest
    src_root = cache / "src" / recipe.name
    shutil.rmtree(src_root, ignore_errors=True)
    src_root.mkdir(parents=True)
    crate = fetch_crate("axvisor", recipe.axvisor_version, recipe.axvisor_sha256,
                        cache / "downloads")
    tree = unpack_crate(crate, src_root)
    published_lock = (tree / "Cargo.lock").read_text()
    own = {c.crate: c for c in recipe.local_crates}.get(local.AXVISOR)
    if own is not None:  # axvisor itself from a directory: a copy of its content
        shutil.rmtree(tree)
        tree = local.copy_tree(own.path, src_root / "axvisor-local")
    lock = tree / "Cargo.lock"
    if lock.is_file():
        local.check_in_graph(recipe.local_crates, lock.read_text(),
                             f"axvisor {recipe.axvisor_version}")
    for extra in recipe.extra_files:
        dest = tree / extra.dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(extra.source, dest)

    patch_lines = prepare.patch_lines(recipe, lock, cache,
                                      lambda patch, tree: _apply_patch(patch, tree, log))
    patch_lines += local.patch_lines(recipe.local_crates)
    if patch_lines:
        with (tree / "Cargo.toml").open("a") as f:
            f.write("\n[patch.crates-io]\n" + "\n".join(patch_lines) + "\n")

    axconfig_path: Path | None = None
    if recipe.axconfig is not None:
        axconfig_path = _write_axconfig(recipe, lock, src_root, cache)

    # The guest runtime, assembled and embedded through a VM config (image_location="memory").
    # A prebuilt guest (a Linux kernel) is embedded as it is, with the files its VM config
    # names beside it (DTB, ramdisk), and has no payload hole.
    guest_bin = guest.source.read_bytes() if guest.prebuilt else \
        assemble(recipe.arch, guest.source, guest.entry)
    axh = tree / "axh"
    axh.mkdir()
    (axh / "guest.bin").write_bytes(guest_bin)
    for extra_guest_file in guest.files:
        shutil.copyfile(extra_guest_file, axh / extra_guest_file.name)
    (axh / "vm.toml").write_text(_render_vm_config(recipe, "guest.bin"))

    # One target directory per axvisor version: recipes that differ only in features or
    # target (x86 SVM and VMX, riscv64) reuse each other's dependency builds.
    target_dir = cache / "target" / f"axvisor-{recipe.axvisor_version}"
    cargo = prepare.cargo_build(recipe, tc, target_dir, cache)
    env = dict(os.environ)
    env.update(tc.env())
    env.update(dict(recipe.env))
    env.update({
        "AX_LOG": recipe.log_level,
        "AX_ARCH": recipe.arch,
        "AX_TARGET": recipe.target,
        "AXVISOR_VM_CONFIGS": str(axh / "vm.toml"),
        "CARGO_TERM_COLOR": "never",
        **CARGO_ENV,  # cargo's progress bar, read by CargoOutput and kept out of the log
        **cargo.env,
    })
    if axconfig_path is not None:
        env["AX_CONFIG_PATH"] = str(axconfig_path)
    output = CargoOutput()
    run_step(cargo.argv, cwd=tree, env=env, log=log, filter_output=output.feed,
             tick=lambda: status(output.status(recipe.name, time.monotonic() - started)))
    status(None)

    elf = cargo.elf
    resolved = tomllib.loads(lock.read_text())
    all_versions: dict[str, list[str]] = {}
    for pkg in resolved.get("package", []):
        if "version" in pkg:
            all_versions.setdefault(pkg["name"], []).append(pkg["version"])
    versions = {name: vs[-1] for name, vs in all_versions.items()}
    axvcpu = versions.get("axvcpu", "absent")
    prepare.check_exit_crate(recipe, all_versions)
    published: dict[str, list[str]] = {}
    for pkg in tomllib.loads(published_lock).get("package", []):
        published.setdefault(pkg["name"], []).append(pkg.get("version", ""))
    local_versions = local.check_used(recipe.local_crates, lock.read_text(), published)
    prepare.check_exit_log(recipe, elf)

    out = cache / "images" / key
    tmp_out = out.with_name(key + ".part")
    shutil.rmtree(tmp_out, ignore_errors=True)
    tmp_out.mkdir(parents=True)
    shutil.copyfile(elf, tmp_out / "axvisor.elf")
    if recipe.to_bin:
        subprocess.run([str(tc.objcopy), "-O", "binary", str(elf), str(tmp_out / "axvisor.bin")],
                       check=True)
        kernel_name = "axvisor.bin"
    else:
        kernel_name = "axvisor.elf"
    (tmp_out / "guest.bin").write_bytes(guest_bin)
    shutil.copyfile(axh / "vm.toml", tmp_out / "vm.toml")
    shutil.copyfile(lock, tmp_out / "Cargo.lock")
    shutil.copyfile(log, tmp_out / "build.log")
    g_off, g_cap = find_payload(tmp_out / "guest.bin") if not guest.prebuilt else (0, 0)
    k_off, k_cap = find_payload(tmp_out / kernel_name) if not guest.prebuilt else (0, 0)
    outputs = {name: sha256_file(tmp_out / name) for name in
               sorted({kernel_name, "axvisor.elf", "guest.bin", "vm.toml", "Cargo.lock"})}
    qemu = shutil.which({"aarch64": "qemu-system-aarch64", "riscv64": "qemu-system-riscv64",
                         "x86_64": "qemu-system-x86_64"}[recipe.arch])
    qemu_version = subprocess.run([qemu, "--version"], capture_output=True, text=True,
                                  check=False).stdout.splitlines()[0] if qemu else "absent"
    manifest = {
        "key": key,
        "recipe": {"path": str(recipe.path), "digest": recipe.digest(),
                   "canonical": recipe.canonical()},
        "axvisor": {"version": recipe.axvisor_version, "sha256": recipe.axvisor_sha256},
        "schema": recipe.schema,
        "exit_crate": " ".join(recipe.exit_crate),
        "exit_log": recipe.exit_log,
        "resolved": {"axvcpu": axvcpu, "crates": versions,
                     "changed_from_published_lock": _lock_diff(published_lock, lock.read_text())},
        "patches": [{"crate": p.crate, "version": p.version, "file": str(p.patch),
                     "sha256": sha256_file(p.patch), "why": p.why} for p in recipe.crate_patches],
        "modified_crates": modified_crates(recipe, local_versions),
        "extra_files": [{"dest": f.dest, "sha256": sha256_file(f.source), "why": f.why}
                        for f in recipe.extra_files],
        "toolchain": tc.describe(),
        "binutils": binutils_for(recipe.arch).version(),
        "qemu_at_build": qemu_version,
        "kernel": kernel_name,
        "payload": {"offset": k_off, "capacity": k_cap,
                    "base": recipe.guest.entry + g_off},
        "outputs": outputs,
        "build_seconds": round(time.monotonic() - started, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if cache_key(recipe, tc) != key:
        raise InfraError(f"{recipe.path} or a file it names changed during the build; run again")
    local.check_unchanged(recipe.local_crates, "during the build")
    if k_cap != g_cap:
        raise InfraError(f"payload capacity differs between guest ({g_cap}) and image ({k_cap})")
    (tmp_out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    shutil.rmtree(out, ignore_errors=True)
    tmp_out.replace(out)
    progress(f"built {recipe.name} in {manifest['build_seconds']}s → {out}")
    return read_image(out, key, recipe.name, recipe.arch, recipe.qemu_profile)


def _locked_version(lock: Path, name: str) -> str:
    versions = [p["version"] for p in tomllib.loads(lock.read_text()).get("package", [])
                if p.get("name") == name]
    if len(versions) != 1:
        raise InfraError(f"{lock}: expected one {name} in the lock, found {versions}")
    return str(versions[0])


def _write_axconfig(recipe: ImageRecipe, lock: Path, src_root: Path, cache: Path) -> Path:
    from harness.images.axconfig import generate

    spec = recipe.axconfig
    assert spec is not None
    trees = {}
    for crate in (spec.base_crate, spec.platform_crate):
        version = _locked_version(lock, crate)
        dep = fetch_crate(crate, version, lock_checksum(lock, crate, version),
                          cache / "downloads")
        trees[crate] = unpack_crate(dep, src_root / "axconfig-inputs")
    text = generate(trees[spec.base_crate] / spec.base_file,
                    trees[spec.platform_crate] / "axconfig.toml", dict(spec.overrides))
    out = src_root / "axconfig.toml"
    out.write_text(text)
    return out


def modified_crates(recipe: ImageRecipe, local_versions: dict[str, str] | None = None
                    ) -> list[dict[str, str]]:
    """Every crate of the graph whose source is not the published crates.io one, one entry per
    crate: how it differs ("patch": our diffs applied in order) and a digest of the change.
    A known divergence quoting that crate's source does not apply to this image
    (harness.check.scope); a local-directory crate belongs here too ("path")."""
    out: dict[tuple[str, str], list[Path]] = {}
    for p in recipe.crate_patches:
        out.setdefault((p.crate, p.version), []).append(p.patch)
    patched = [{"crate": crate, "version": version, "how": "patch",
             "sha256": hashlib.sha256("\n".join(sha256_file(f) for f in files).encode()
                                      ).hexdigest() if len(files) > 1 else sha256_file(files[0]),
             "detail": ", ".join(f.name for f in files)}
            for (crate, version), files in sorted(out.items())]
    return sorted([*patched, *local.modified_entries(recipe.local_crates, local_versions or {})],
                  key=lambda m: m["crate"])


def _lock_diff(before: str, after: str) -> list[str]:
    """Packages whose entry differs between the published and the resolved Cargo.lock."""
    def entries(text: str) -> set[tuple[str, str, str]]:
        return {(p.get("name", ""), p.get("version", ""), p.get("source", "path"))
                for p in tomllib.loads(text).get("package", [])}
    a, b = entries(before), entries(after)
    return sorted(f"{n} {v} ({s})" for n, v, s in b - a)
