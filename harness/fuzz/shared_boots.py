"""A fuzz session's persistent-mode runners: one per worker thread, each with its own boots
(harness.persist.runner), their counts pooled in one Stats; and the workers' streams."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from harness import signals
from harness.images.build import Image
from harness.images.recipe import ImageRecipe
from harness.persist.runner import Accept, PersistentRunner, Standalone, Stats
from harness.qemu.profiles import MachineProfile


class SharedBoots:
    def __init__(self, image: Image, recipe: ImageRecipe, profile: MachineProfile,
                 workdir: Path, standalone: Standalone, accept: Accept, *,
                 timeout_scale: float, keep: bool) -> None:
        self._make: Callable[[int], PersistentRunner] = lambda worker: PersistentRunner(
            image, recipe, profile, workdir, standalone, accept, timeout_scale=timeout_scale,
            stats=self.stats, keep_boots=keep, worker=worker, kit=keep)
        self.stats = Stats()
        self._local = threading.local()
        self._runners: list[PersistentRunner] = []
        self._lock = threading.Lock()

    def runner(self) -> PersistentRunner:
        """This thread's runner (a boot is used by one thread only)."""
        runner: PersistentRunner | None = getattr(self._local, "runner", None)
        if runner is None:
            with self._lock:
                runner = self._make(len(self._runners))
                self._runners.append(runner)
            self._local.runner = runner
        return runner

    def close(self) -> None:
        for runner in self._runners:
            runner.close()


T = TypeVar("T")


def run_streams(stream: Callable[[Iterator[int]], Iterator[T]], seeds: Sequence[int],
                jobs: int, on_each: Callable[[T], None], key: Callable[[T], int]) -> list[T]:
    """`jobs` workers, each one `stream` (its own boots) taking the next seed from one shared
    iterator until none is left or a stop is requested; results reported as they come and
    returned sorted by `key` (the seed)."""
    pending = iter(seeds)
    lock = threading.Lock()
    done: list[T] = []

    def next_seed() -> Iterator[int]:
        while True:
            with lock:
                seed = next(pending, None)
            if seed is None or signals.current().requested:
                return
            yield seed

    def worker() -> None:
        for item in stream(next_seed()):
            with lock:
                done.append(item)
                on_each(item)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        signals.wait_all([pool.submit(worker) for _ in range(max(1, min(jobs, len(seeds))))])
    return sorted(done, key=key)
