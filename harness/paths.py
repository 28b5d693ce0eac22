"""Where the repository's data lives (recipes, guest sources, known divergences)."""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import UsageError


def repo_root() -> Path:
    """The checkout the harness runs from ($AXHARNESS_REPO overrides, for installed copies)."""
    env = os.environ.get("AXHARNESS_REPO")
    root = Path(env) if env else Path(__file__).resolve().parent.parent
    if not (root / "images" / "recipes").is_dir():
        raise UsageError(f"{root} is not an axharness checkout (no images/recipes); "
                         "set AXHARNESS_REPO")
    return root
