"""A known divergence that names an architecture, an axvisor version or a scenario this checkout
does not have, or that lists no scenario and has no access class, is a one-line error naming
its file and line before anything runs: before session 7 such an entry loaded fine and silently
stopped applying, and the cases it meant failed without naming it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from harness.check.known import check_references, load_known
from harness.errors import UsageError
from harness.paths import repo_root
from harness.run.suite import KNOWN_FILE, catalogue_references

PATH = repo_root() / KNOWN_FILE
KNOWN = load_known(PATH)
REFS = catalogue_references(repo_root())


def test_the_shipped_entries_name_only_what_the_checkout_has() -> None:
    check_references(KNOWN, PATH, *REFS)


@pytest.mark.parametrize(("change", "message"), [
    ({"arch": "arm64"}, "`arch` 'arm64' is none of aarch64, riscv64, x86_64"),
    ({"axvisor": ("0.3.0-preview.3",)}, "no aarch64 recipe builds axvisor 0.3.0-preview.3"),
    ({"scenarios": ("mmio-store-bb",)}, "no aarch64 scenario named mmio-store-bb"),
    ({"scenarios": (), "access": None}, "lists no scenario and has no `access` class"),
])
def test_an_entry_naming_what_does_not_exist_is_one_line_with_file_and_line(
        change: dict[str, Any], message: str) -> None:
    entry = KNOWN[0]
    with pytest.raises(UsageError, match=message) as e:
        check_references((replace(entry, **change),), PATH, *REFS)
    assert str(e.value).startswith(f"{PATH}:{entry.line}: [[divergence]] {entry.id}: ")
