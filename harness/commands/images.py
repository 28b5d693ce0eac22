"""`axharness images build|list`: build images from recipes into the content-addressed cache."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.images.build import build_image
from harness.images.cache import cache_root
from harness.images.progress import for_stream
from harness.images.recipe import ARCHES, ImageRecipe
from harness.images.select import local_options, select_recipes
from harness.paths import repo_root


def register(sub: Any) -> None:
    p = sub.add_parser("images", help="build or list axvisor images")
    p.add_argument("action", choices=("build", "list"))
    p.add_argument("--arch", choices=ARCHES, action="append",
                   help="only this architecture (repeatable; default: all recipes)")
    add_local_options(p)
    p.add_argument("--cache-dir", type=Path, help="image cache (default ~/.cache/axharness "
                   "or $AXHARNESS_CACHE)")
    p.add_argument("--force", action="store_true", help="rebuild even on a cache hit")
    p.set_defaults(func=run)


def add_local_options(p: Any) -> None:
    """--recipe NAME|FILE, --crate NAME=PATH, --axvisor PATH: the same for run and images."""
    p.add_argument("--recipe", action="append", metavar="NAME|FILE",
                   help="an image recipe: a name in images/recipes/ or a recipe file anywhere "
                   "(repeatable; default: every recipe in images/recipes/)")
    p.add_argument("--crate", action="append", metavar="NAME=PATH",
                   help="build crate NAME of the graph from the directory PATH instead of "
                   "crates.io (repeatable); its content is part of the image key and the image "
                   "is named <recipe>+NAME@<digest8>")
    p.add_argument("--axvisor", type=Path, metavar="PATH",
                   help="build axvisor itself from the directory PATH (as --crate axvisor=PATH)")


def selected_recipes(args: argparse.Namespace) -> list[ImageRecipe]:
    locals_ = local_options(args.crate, args.axvisor)
    return select_recipes(repo_root(), tuple(args.arch or ()), tuple(args.recipe or ()),
                          locals_)


def describe_locals(recipe: ImageRecipe) -> str:
    """One line naming the image's local crates, or ""."""
    if not recipe.local_crates:
        return ""
    return f"image {recipe.name}: " + "; ".join(
        f"{c.crate} from {c.path} (content {c.short})" for c in recipe.local_crates)


def run(args: argparse.Namespace) -> int:
    cache = cache_root(args.cache_dir)
    for recipe in selected_recipes(args):
        if recipe.local_crates:
            print(describe_locals(recipe), file=sys.stderr)
        if args.action == "list":
            print(f"{recipe.name:12} {recipe.arch:8} axvisor {recipe.axvisor_version:8} "
                  f"schema {recipe.schema:10} {recipe.path}")
            continue
        image = build_image(recipe, cache, force=args.force,
                            progress=lambda m: print(m, file=sys.stderr),
                            status=for_stream(sys.stderr))
        print(f"{image.recipe}: {image.kernel} (schema {image.schema}, "
              f"key {image.key[:12]})")
    return 0
