"""Where built images live: a content-addressed cache outside the repository."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "AXHARNESS_CACHE"


def cache_root(override: Path | None = None) -> Path:
    """The cache directory: --cache-dir, else $AXHARNESS_CACHE, else ~/.cache/axharness."""
    if override is not None:
        return override.expanduser().resolve()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return (base / "axharness").resolve()
