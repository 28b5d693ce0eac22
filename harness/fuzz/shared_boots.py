"""A fuzz session's persistent-mode runners: one per worker thread, each with its own boots
(harness.persist.runner), their counts pooled in one Stats."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

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
