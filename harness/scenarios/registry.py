"""All scenarios by architecture: the catalogue's files (scenarios/*.toml), or the files a
user named (`axharness run --scenarios FILE`), loaded once."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path

from harness.errors import UsageError
from harness.scenarios.catalogue import Scenario
from harness.scenarios.load import load_file, shipped_files

_chosen: tuple[Path, ...] | None = None  # None: the catalogue
_loaded: dict[str, tuple[Scenario, ...]] | None = None


def use_files(paths: Sequence[Path] | None) -> None:
    """From now on the scenarios are those of `paths` (None: the catalogue again), checked
    here, so that a bad file is a usage error before anything is built."""
    global _chosen, _loaded
    _chosen, _loaded = (None if paths is None else tuple(paths)), None
    _by_arch()


def _by_arch() -> dict[str, tuple[Scenario, ...]]:
    global _loaded
    if _loaded is None:
        files = shipped_files() if _chosen is None else _chosen
        by_arch: dict[str, list[Scenario]] = {}
        where: dict[str, Path] = {}
        for path in files:
            loaded = load_file(path)
            for s in loaded.scenarios:
                if s.case_id in where:
                    raise UsageError(f"{path}: scenario {s.case_id} is also in "
                                     f"{where[s.case_id]}")
                where[s.case_id] = path
            by_arch.setdefault(loaded.arch, []).extend(loaded.scenarios)
        _loaded = {arch: tuple(s) for arch, s in by_arch.items()}
    return _loaded


def scenarios_for(arch: str, pattern: str = "*") -> tuple[Scenario, ...]:
    return tuple(s for s in _by_arch().get(arch, ()) if fnmatch.fnmatch(s.name, pattern))


def scenarios_for_recipe(name: str, arch: str, own_only: bool, pattern: str = "*"
                         ) -> tuple[Scenario, ...]:
    """Scenarios an image runs: those that name it, plus (unless the recipe runs only its
    own) those that name no image."""
    return tuple(s for s in scenarios_for(arch, pattern)
                 if name in s.images or (not s.images and not own_only))


def all_arches() -> tuple[str, ...]:
    return tuple(_by_arch())
