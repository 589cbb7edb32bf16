"""Whether the disk holding the state folder is full. Workers keep their states in memory and
write them once they can (``retry.py``); readers say so, instead of showing states that are
behind without a word."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .. import paths
from ..errors import NeuroJupyterError

FULL_BELOW = 64 << 10  # bytes free under which a disk is full for our writes (SQLite pages, logs)
CHECK_EVERY = 2.0  # seconds between two looks of a SpaceWatch


def free_bytes(folder: Path) -> int | None:
    """Bytes an unprivileged writer may still use on the disk holding ``folder``."""
    try:
        stat = os.statvfs(folder)
    except OSError:
        return None
    return stat.f_bavail * stat.f_frsize


def full_disk_note(folder: Path | None = None) -> str:
    """A line saying the disk holding the state folder is full and what that means; ``""``
    when it is not."""
    try:
        folder = folder or paths.home()
    except (OSError, NeuroJupyterError):  # no state folder: the command itself says why
        return ""
    free = free_bytes(folder)
    if free is None or free >= FULL_BELOW:
        return ""
    return (f"The disk holding {folder} is full ({free:,} bytes free): running jobs and bakes "
            "keep their states and write them when space is freed, so states shown now may be "
            "behind and output may be lost. Free some space on it.")


def disk_full(folder: Path) -> bool:
    """Whether the disk holding ``folder`` has no room left for our writes."""
    return bool(full_disk_note(folder))


class SpaceWatch:
    """For a follower: a line when the disk holding the state folder fills up, and one when
    it has room again (at most one look every CHECK_EVERY seconds)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.full = False
        self.next_look = 0.0

    def check(self) -> str:
        now = time.monotonic()
        if now < self.next_look:
            return ""
        self.next_look = now + CHECK_EVERY
        note = full_disk_note(self.folder)
        if bool(note) == self.full:
            return ""
        self.full = bool(note)
        return note or "The disk holding the state folder has room again."
