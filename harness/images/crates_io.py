"""Downloads of published crate sources from crates.io, verified by sha256 and cached."""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from harness.errors import InfraError

CRATE_URL = "https://static.crates.io/crates/{name}/{name}-{version}.crate"


def fetch_crate(name: str, version: str, sha256: str, downloads: Path) -> Path:
    """The .crate file for name@version, from the cache or crates.io; sha256 must match."""
    downloads.mkdir(parents=True, exist_ok=True)
    dest = downloads / f"{name}-{version}.crate"
    if dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() == sha256:
        return dest
    url = CRATE_URL.format(name=name, version=version)
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            data: bytes = resp.read()
    except (urllib.error.URLError, OSError) as exc:
        raise InfraError(
            f"cannot download {name} {version} from crates.io ({url}): {exc}; the image cache "
            f"has no copy at {dest}"
        ) from exc
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise InfraError(f"{url}: sha256 {got} does not match the pinned {sha256}")
    tmp = dest.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(dest)
    return dest


def unpack_crate(crate_file: Path, into: Path) -> Path:
    """Unpack a .crate (a gzipped tar with one top directory) and return that directory."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(crate_file.read_bytes()), mode="r:gz") as tar:
        tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
        if len(tops) != 1:
            raise InfraError(f"{crate_file}: expected one top directory, found {sorted(tops)}")
        tar.extractall(into, filter="data")
    return into / tops.pop()


def lock_checksum(cargo_lock: Path, name: str, version: str) -> str:
    """The checksum Cargo.lock records for name@version (its sha256 on crates.io)."""
    import tomllib

    lock = tomllib.loads(cargo_lock.read_text())
    for pkg in lock.get("package", []):
        if pkg.get("name") == name and pkg.get("version") == version and "checksum" in pkg:
            return str(pkg["checksum"])
    raise InfraError(f"{cargo_lock}: no crates.io entry for {name} {version}")
