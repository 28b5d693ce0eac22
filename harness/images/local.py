"""Crates taken from a local directory instead of crates.io (the `[patch]`-to-a-path way a Rust
developer iterates on a crate): `[[local]]` in a recipe, `--crate NAME=PATH` and `--axvisor
PATH` on the command line.

What identifies such a crate is its directory's CONTENT, never its path or mtimes: every file's
relative path, executable bit and bytes (a symlink: its target text), walked once in sorted
order. The top-level `target/` (cargo's output) and version-control metadata at any depth
(`.git`, `.hg`, `.svn`, `.jj`, …) are left out, so a build or a commit never changes it, an
edit always does, and reverting the edit gives the earlier digest back (and the earlier image).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import InfraError, UsageError

if TYPE_CHECKING:
    from harness.images.recipe import ImageRecipe

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".jj", ".pijul", "_darcs", ".bzr"})
TOP_SKIPPED = frozenset({"target"})  # cargo's output beside Cargo.toml
AXVISOR = "axvisor"  # the crate name that means the root package itself
_CRATE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class LocalCrate:
    """One crate of the graph built from a directory; `digest` is its content at load time."""

    crate: str
    path: Path  # absolute
    digest: str  # tree_digest(path) when the recipe or option was read
    origin: str  # where it was asked for: "recipe.toml:12" or "--crate arm_vcpu=…"

    @property
    def short(self) -> str:
        return self.digest[:8]


def walk(root: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(relative POSIX path, entry) of every file and symlink under `root`, sorted by path,
    without the skipped directories. One scandir per directory."""
    def rec(d: str, rel: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
        with os.scandir(d) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            r = f"{rel}{e.name}"
            if e.is_dir(follow_symlinks=False):
                if e.name in VCS_DIRS or (not rel and e.name in TOP_SKIPPED):
                    continue
                yield from rec(e.path, r + "/")
            else:
                yield r, e
    yield from rec(str(root), "")


def tree_digest(root: Path) -> str:
    """sha256 over the directory's content (see the module docstring)."""
    h = hashlib.sha256()
    for rel, e in walk(root):
        st = e.stat(follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            h.update(f"L {rel}\0{os.readlink(e.path)}\0".encode())
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # sockets, fifos: no content a build reads
        with open(e.path, "rb") as f:
            content = hashlib.file_digest(f, "sha256").hexdigest()
        h.update(f"{'X' if st.st_mode & 0o111 else 'F'} {rel}\0{content}\0".encode())
    return h.hexdigest()


def local_crate(crate: str, path: Path, origin: str) -> LocalCrate:
    """A LocalCrate after checking the directory holds a Cargo.toml (UsageError naming
    `origin` otherwise); its digest is taken now."""
    if not _CRATE.match(crate):
        raise UsageError(f"{origin}: {crate!r} is not a crate name")
    path = path.expanduser().resolve()
    if not (path / "Cargo.toml").is_file():
        raise UsageError(f"{origin}: {path} is not a crate directory (no Cargo.toml)")
    try:
        name = tomllib.loads((path / "Cargo.toml").read_text()).get("package", {}).get("name")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{origin}: {path / 'Cargo.toml'} is unreadable: {exc}") from None
    if name is not None and str(name).replace("-", "_") != crate.replace("-", "_"):
        raise UsageError(f"{origin}: {path} holds crate {name}, not {crate}")
    return LocalCrate(crate=crate, path=path, digest=tree_digest(path), origin=origin)


def parse_crate_option(value: str, option: str = "--crate") -> LocalCrate:
    """`NAME=PATH` of --crate (or PATH of --axvisor, passed as `axvisor=PATH`)."""
    crate, sep, path = value.partition("=")
    shown = f"{option} {value}" if option == "--crate" else f"{option} {path}"
    if not sep or not crate or not path:
        raise UsageError(f"{shown}: expected NAME=PATH (a crate of the graph and its directory)")
    return local_crate(crate, Path(path), shown)


def with_locals(recipe: ImageRecipe, locals_: tuple[LocalCrate, ...]) -> ImageRecipe:
    """`recipe` with crates from the command line: each replaces the recipe's own [[local]] or
    [[patch]] entries of that crate, and the name gets `+crate@digest8` per crate, so the image
    has its own cache entry and case directories beside the stock one."""
    if not locals_:
        return recipe
    names = {c.crate for c in locals_}
    if len(names) != len(locals_):
        raise UsageError(f"{locals_[-1].origin}: the crate is given twice")
    suffix = "".join(f"+{c.crate}@{c.short}" for c in sorted(locals_, key=lambda c: c.crate))
    return replace(
        recipe, name=recipe.name + suffix,
        local_crates=tuple(sorted((*(c for c in recipe.local_crates if c.crate not in names),
                                   *locals_), key=lambda c: c.crate)),
        crate_patches=tuple(p for p in recipe.crate_patches if p.crate not in names))


def check_unchanged(locals_: tuple[LocalCrate, ...], when: str) -> None:
    """InfraError if a local directory's content is no longer the one the key was made of."""
    for c in locals_:
        now = tree_digest(c.path)
        if now != c.digest:
            raise InfraError(f"{c.path} ({c.origin}) changed {when} (content {c.short} → "
                             f"{now[:8]}); run again to build what it holds now")


def patch_lines(locals_: tuple[LocalCrate, ...]) -> list[str]:
    """`[patch.crates-io]` lines pointing at the directories themselves (cargo's fingerprints
    then rebuild exactly what an edit touches); the root package is copied, not patched."""
    return [f"{c.crate} = {{ path = {_toml_string(str(c.path))} }}"
            for c in locals_ if c.crate != AXVISOR]


def _toml_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_in_graph(locals_: tuple[LocalCrate, ...], lock_text: str, what: str) -> None:
    """UsageError naming the option or recipe line of a crate the graph does not have."""
    names = {p.get("name") for p in tomllib.loads(lock_text).get("package", [])}
    for c in locals_:
        if c.crate != AXVISOR and c.crate not in names:
            raise UsageError(f"{c.origin}: {c.crate} is not in the dependency graph of {what}")


def check_used(locals_: tuple[LocalCrate, ...], lock_text: str,
               published: dict[str, list[str]]) -> dict[str, str]:
    """The version each local crate resolved to; UsageError when cargo did not use the
    directory (a [patch] replaces only a version the graph's requirement accepts)."""
    out = {}
    packages = tomllib.loads(lock_text).get("package", [])
    for c in locals_:
        if c.crate == AXVISOR:
            root = [p for p in packages if "source" not in p and p.get("name") == AXVISOR]
            out[c.crate] = str(root[0]["version"]) if root else ""
            continue
        used = [p for p in packages if p.get("name") == c.crate and "source" not in p]
        if not used:
            raise UsageError(
                f"{c.origin}: cargo did not use {c.path}: the graph wants {c.crate} "
                f"{', '.join(published.get(c.crate, [])) or '?'} and [patch] only replaces a "
                "version its requirement accepts")
        out[c.crate] = str(used[0]["version"])
    return out


def modified_entries(locals_: tuple[LocalCrate, ...], versions: dict[str, str]
                     ) -> list[dict[str, str]]:
    """The manifest's `modified_crates` entries of the local crates (harness.check.scope)."""
    return [{"crate": c.crate, "version": versions.get(c.crate, ""), "how": "path",
             "sha256": c.digest, "detail": str(c.path)} for c in locals_]


def copy_tree(src: Path, dest: Path) -> Path:
    """A copy of a local root package's content (what tree_digest covers) at `dest`."""
    for rel, e in walk(src):
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if e.is_symlink():
            out.symlink_to(os.readlink(e.path))
        elif e.is_file(follow_symlinks=False):
            out.write_bytes(Path(e.path).read_bytes())
            os.chmod(out, e.stat(follow_symlinks=False).st_mode & 0o777)
    return dest
