"""How long-running workers (job supervisors, bake executors, their keepers) write: a write the
store refuses (a full disk, a damaged, missing or replaced file, a lock held too long) is kept
and tried again after a pause that doubles up to ``CAP`` seconds, so the worker lives on and
records the true state once it can. A worker never moves a store aside (``Store(repair=False)``);
front ends do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import StoreError

T = TypeVar("T")

FIRST = 0.05
CAP = 5.0


class Backoff:
    """The pause before the next try of a failing write: FIRST, doubling, at most CAP."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.due = 0.0  # time.monotonic() of the next try; 0 while writes go through
        self.failures = 0
        self.last_error: StoreError | None = None

    def failed(self, error: StoreError) -> None:
        self.failures += 1
        self.last_error = error
        self.delay = min(CAP, self.delay * 2 if self.delay else FIRST)
        self.due = time.monotonic() + self.delay

    def succeeded(self) -> None:
        self.delay = self.due = 0.0
        self.failures = 0
        self.last_error = None

    def wait_left(self) -> float:
        """Seconds until the next try may run (0 when it may now)."""
        return max(0.0, self.due - time.monotonic()) if self.due else 0.0


def until_written(
    write: Callable[[], T], *, pause: Callable[[float], object] = time.sleep,
    tries: int | None = None,
) -> T:
    """Call ``write`` until the store takes it (at most ``tries`` times, then the last error
    is raised); between tries, ``pause(seconds)``."""
    backoff = Backoff()
    while True:
        try:
            return write()
        except StoreError as exc:
            backoff.failed(exc)
            if tries is not None and backoff.failures >= tries:
                raise
            pause(backoff.delay)
