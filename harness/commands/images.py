"""`axharness images build|list`: build images from recipes into the content-addressed cache."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.images.build import build_image
from harness.images.cache import cache_root
from harness.images.recipe import ARCHES, ImageRecipe, find_recipes, load_recipe
from harness.paths import repo_root


def register(sub: Any) -> None:
    p = sub.add_parser("images", help="build or list axvisor images")
    p.add_argument("action", choices=("build", "list"))
    p.add_argument("--arch", choices=ARCHES, action="append",
                   help="only this architecture (repeatable; default: all recipes)")
    p.add_argument("--recipe", type=Path, action="append", help="a recipe file (repeatable)")
    p.add_argument("--cache-dir", type=Path, help="image cache (default ~/.cache/axharness "
                   "or $AXHARNESS_CACHE)")
    p.add_argument("--force", action="store_true", help="rebuild even on a cache hit")
    p.set_defaults(func=run)


def selected_recipes(arches: list[str] | None, files: list[Path] | None) -> list[ImageRecipe]:
    root = repo_root()
    paths = [f.resolve() for f in files] if files else find_recipes(root)
    recipes = [load_recipe(p, root) for p in paths]
    if arches:
        recipes = [r for r in recipes if r.arch in arches]
    if not recipes:
        raise UsageError("no recipe matches the selection")
    return recipes


def run(args: argparse.Namespace) -> int:
    cache = cache_root(args.cache_dir)
    for recipe in selected_recipes(args.arch, args.recipe):
        if args.action == "list":
            print(f"{recipe.name:12} {recipe.arch:8} axvisor {recipe.axvisor_version:8} "
                  f"schema {recipe.schema:10} {recipe.path}")
            continue
        image = build_image(recipe, cache, force=args.force,
                            progress=lambda m: print(m, file=sys.stderr))
        print(f"{image.recipe}: {image.kernel} (schema {image.schema}, "
              f"key {image.key[:12]})")
    return 0
