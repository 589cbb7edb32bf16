"""Waiting for file descriptors with ``poll``: ``select`` refuses descriptors numbered 1024 or
more, which a long-lived process (the Jupyter server, a kernel) reaches."""

from __future__ import annotations

import select
from collections.abc import Sequence
from typing import Protocol


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


def readable(fds: Sequence[int | _HasFileno], timeout: float | None) -> list[int]:
    """The descriptors of ``fds`` that are readable (or closed, or in error) within ``timeout``
    seconds (None: no limit), as numbers."""
    poller = select.poll()
    numbers = [fd if isinstance(fd, int) else fd.fileno() for fd in fds]
    for fd in numbers:
        poller.register(fd, select.POLLIN)
    millis = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
    return [fd for fd, _ in poller.poll(millis)]
