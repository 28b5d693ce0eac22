"""Which recipes a command builds or runs: `--arch`, `--recipe NAME|FILE` and the local crates
of `--crate NAME=PATH` / `--axvisor PATH`, the same for `axharness run` and `images build`.

Without `--recipe` the set is images/recipes/*.toml: a recipe file kept elsewhere (a variant,
tests/variants/) joins a run only when named. `--crate` and `--axvisor` apply to every selected
image, each renamed `<recipe>+<crate>@<digest8>` (harness.images.local.with_locals)."""

from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError
from harness.images.local import AXVISOR, LocalCrate, parse_crate_option, with_locals
from harness.images.recipe import ImageRecipe, find_recipes, load_recipe


def is_file_arg(value: str) -> bool:
    """A --recipe value names a file (else a recipe of images/recipes/ by name)."""
    return value.endswith(".toml") or "/" in value or Path(value).is_file()


def local_options(crates: list[str] | None, axvisor: Path | None) -> tuple[LocalCrate, ...]:
    out = [parse_crate_option(v) for v in crates or ()]
    if axvisor is not None:
        out.append(parse_crate_option(f"{AXVISOR}={axvisor}", "--axvisor"))
    return tuple(out)


def select_recipes(root: Path, arches: tuple[str, ...], recipes: tuple[str, ...],
                   locals_: tuple[LocalCrate, ...] = ()) -> list[ImageRecipe]:
    """The recipes chosen (UsageError naming what matches nothing), local crates applied."""
    names = tuple(r for r in recipes if not is_file_arg(r))
    files = [Path(r) for r in recipes if is_file_arg(r)]
    chosen = [load_recipe(p, root) for p in find_recipes(root)] if names or not files else []
    if arches:
        chosen = [r for r in chosen if r.arch in arches]
    if names:
        unknown = set(names) - {r.name for r in chosen}
        if unknown:
            raise UsageError(f"no recipe named {', '.join(sorted(unknown))} in images/recipes/ "
                             "(for the chosen architectures)")
        chosen = [r for r in chosen if r.name in names]
    from_files = [load_recipe(f.resolve(), root) for f in files]
    chosen += [r for r in from_files if not arches or r.arch in arches]
    if not chosen:
        raise UsageError("no recipe matches the selection")
    seen: dict[str, ImageRecipe] = {}
    for r in chosen:
        if r.name in seen and seen[r.name].path != r.path:
            raise UsageError(f"{r.path}: recipe name {r.name} is also the name of "
                             f"{seen[r.name].path}")
        seen.setdefault(r.name, r)
    return [with_locals(r, locals_) for r in seen.values()]
