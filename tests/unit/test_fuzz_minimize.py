"""ddmin with pure predicates: the result still fails, is 1-minimal, keeps the original order,
does not depend on the batch size, and never re-tests a subsequence."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.fuzz.minimize import ddmin, ddmin_indices


def contains(*needles: int) -> Callable[[tuple[int, ...]], bool]:
    return lambda xs: all(n in xs for n in needles)


def one_minimal(result: tuple[int, ...], fails: Callable[[tuple[int, ...]], bool]) -> bool:
    return all(not fails(result[:i] + result[i + 1:]) for i in range(len(result)))


def test_a_single_culprit_is_found_among_many() -> None:
    res = ddmin(list(range(64)), contains(37))
    assert res.items == (37,) and res.indices == (37,)


def test_two_interacting_culprits_are_both_kept_in_original_order() -> None:
    res = ddmin(list(range(40)), contains(31, 3))
    assert res.items == (3, 31)


def test_an_order_dependent_failure_keeps_the_order() -> None:
    def fails(xs: tuple[int, ...]) -> bool:
        return 5 in xs and 9 in xs and xs.index(5) < xs.index(9)
    assert ddmin([9, 1, 5, 2, 9, 3], fails).items == (5, 9)


def test_equal_items_are_told_apart_by_position() -> None:
    res = ddmin(["a", "b", "a", "b"], lambda xs: xs.count("a") >= 2)
    assert res.items == ("a", "a") and res.indices == (0, 2)


def test_an_empty_program_that_still_fails_is_the_answer() -> None:
    assert ddmin([1, 2, 3], lambda xs: True).items == ()


def test_nothing_is_removed_when_every_item_is_needed() -> None:
    res = ddmin([1, 2, 3, 4, 5], lambda xs: len(xs) == 5)
    assert res.items == (1, 2, 3, 4, 5)


def test_no_subsequence_is_tested_twice() -> None:
    seen: list[tuple[int, ...]] = []

    def batch(cands: Sequence[tuple[int, ...]]) -> list[bool]:
        seen.extend(cands)
        return [7 in c and 20 in c for c in cands]

    res = ddmin_indices(32, batch, items=list(range(32)))
    assert len(seen) == len(set(seen)) == res.tests
    assert res.items == (7, 20)


@pytest.mark.parametrize("batch", [1, 2, 3, 8])
def test_the_result_does_not_depend_on_the_batch_size(batch: int) -> None:
    def fails(xs: tuple[int, ...]) -> bool:
        return sum(1 for x in xs if x % 7 == 0) >= 3
    reference = ddmin(list(range(50)), fails, batch=1)
    assert ddmin(list(range(50)), fails, batch=batch).items == reference.items


@settings(max_examples=150, deadline=None)
@given(n=st.integers(min_value=1, max_value=24),
       needles=st.lists(st.integers(min_value=0, max_value=23), max_size=4),
       threshold=st.integers(min_value=0, max_value=3))
def test_results_fail_and_are_one_minimal(n: int, needles: list[int], threshold: int) -> None:
    wanted = {x for x in needles if x < n}

    def fails(xs: tuple[int, ...]) -> bool:  # monotone: a superset of a failing set fails
        return wanted <= set(xs) and len(xs) >= threshold

    if not fails(tuple(range(n))):
        return
    res = ddmin(list(range(n)), fails)
    assert fails(res.items)
    assert one_minimal(res.items, fails)
    assert list(res.items) == sorted(res.items)


def test_a_non_monotone_predicate_still_yields_a_failing_one_minimal_result() -> None:
    def fails(xs: tuple[int, ...]) -> bool:  # an odd number of odd items
        return sum(x % 2 for x in xs) % 2 == 1
    for items in itertools.islice(itertools.permutations(range(7)), 0, 200, 37):
        res = ddmin(list(items), fails)
        assert fails(res.items) and one_minimal(res.items, fails)
