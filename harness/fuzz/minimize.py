"""Delta debugging (Zeller's ddmin) over a program's actions: the smallest program that still
fails the same way is what a human reads first, and each test is a QEMU boot, so tests are
cached and may be evaluated a batch at a time (in parallel) without changing the result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# Evaluates candidate index subsequences, returns whether each still fails. It may evaluate them
# in any order or all at once; ddmin only ever uses the first failing one, so results agree.
BatchTest = Callable[[Sequence[tuple[int, ...]]], Sequence[bool]]


@dataclass(frozen=True, slots=True)
class Minimised(Generic[T]):
    """The 1-minimal subsequence and what it cost."""

    items: tuple[T, ...]
    indices: tuple[int, ...]  # positions in the original sequence
    tests: int  # predicate evaluations (cache misses), i.e. QEMU runs


def _chunks(idx: tuple[int, ...], n: int) -> list[tuple[int, ...]]:
    size, extra = divmod(len(idx), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(idx[start:end])
        start = end
    return out


def ddmin(items: Sequence[T], fails: Callable[[tuple[T, ...]], bool], *,
          batch: int = 1) -> Minimised[T]:
    """A 1-minimal subsequence of `items` for which `fails` holds (`fails(items)` must hold).

    1-minimal: removing any single remaining item makes `fails` false. `batch` candidates are
    evaluated per round (with `fails` called from the caller's threads if it parallelises);
    the result does not depend on `batch`.
    """
    def run_batch(cands: Sequence[tuple[int, ...]]) -> list[bool]:
        return [fails(tuple(items[i] for i in c)) for c in cands]

    return ddmin_indices(len(items), run_batch, batch=batch, items=items)


def ddmin_indices(n_items: int, test: BatchTest, *, batch: int = 1,
                  items: Sequence[T] = ()) -> Minimised[T]:
    """ddmin on index subsequences with a batch predicate (see BatchTest)."""
    cache: dict[tuple[int, ...], bool] = {}
    count = 0

    def first_failing(cands: list[tuple[int, ...]]) -> tuple[int, ...] | None:
        nonlocal count
        for start in range(0, len(cands), max(1, batch)):
            group = cands[start:start + max(1, batch)]
            todo = [c for c in dict.fromkeys(group) if c not in cache]
            if todo:
                for c, r in zip(todo, test(todo), strict=True):
                    cache[c] = bool(r)
                count += len(todo)
            for c in group:
                if cache[c]:
                    return c
        return None

    current = tuple(range(n_items))
    cache[current] = True  # the caller's precondition
    if n_items and first_failing([()]) == ():
        current = ()
    n = 2
    while len(current) >= 2:
        subsets = _chunks(current, min(n, len(current)))
        hit = first_failing(subsets)
        if hit is not None:
            current, n = hit, 2
            continue
        complements = [tuple(i for i in current if i not in set(s)) for s in subsets]
        hit = first_failing(complements) if len(subsets) > 2 else None
        if hit is not None:
            current, n = hit, max(n - 1, 2)
            continue
        if n >= len(current):
            break
        n = min(2 * n, len(current))
    kept = tuple(items[i] for i in current) if items else ()
    return Minimised(kept, current, count)
