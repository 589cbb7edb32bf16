"""Log files that grow while something writes them (jobs, environment builds): read from an
offset without cutting a UTF-8 character, and follow them until their writer has ended."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path


def decode(data: bytes, partial: bool) -> tuple[str, int]:
    """Decode UTF-8, keeping an incomplete trailing character for the next read."""
    if partial:
        for cut in range(0, 4):
            try:
                return data[: len(data) - cut].decode("utf-8"), len(data) - cut
            except UnicodeDecodeError:
                continue
    return data.decode("utf-8", errors="replace"), len(data)


def read_from(path: Path | str, offset: int = 0, limit: int | None = None) -> tuple[str, int]:
    """The text of ``path`` from byte ``offset`` (up to ``limit`` bytes) and the offset to read
    next; nothing when there is no file (yet)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read() if limit is None else handle.read(limit)
    except OSError:
        return "", offset
    text, used = decode(data, partial=True)
    return text, offset + used


def read_tail(path: Path | str, max_bytes: int) -> tuple[str, int, int]:
    """The text of the last ``max_bytes`` bytes of ``path`` (all of it when it is smaller),
    the offset that text starts at (0: nothing left out) and the offset to read next; nothing
    when there is no file.

    A cut tail starts at its first whole line; a tail that is one line (a progress bar
    redrawn with ``\\r``) at its first whole character instead, so it is not lost."""
    try:
        with open(path, "rb") as handle:
            start = max(0, os.fstat(handle.fileno()).st_size - max_bytes)
            handle.seek(start)
            data = handle.read(max_bytes)
    except OSError:
        return "", 0, 0
    if start:
        skip = data.find(b"\n") + 1
        if skip in (0, len(data)):  # one line: skip the rest of a character cut in two
            skip = 0
            while skip < min(len(data), 3) and 0x80 <= data[skip] < 0xC0:
                skip += 1
        data, start = data[skip:], start + skip
    text, used = decode(data, partial=True)
    return text, start, start + used


def follow(read: Callable[[int], tuple[str, int]], running: Callable[[], bool], *,
           offset: int = 0, poll: float = 0.2) -> Iterator[str]:
    """Yield what ``read(offset)`` brings as it grows, until ``running()`` says the writer has
    ended and everything is read; a ``neuro-jupyter:`` line when the disk holding the state
    folder fills up meanwhile (the writer's state and output are then behind) or has room
    again."""
    from .store.space import SpaceWatch

    space = SpaceWatch()
    while True:
        text, offset = read(offset)
        if text:
            yield text
            continue
        note = space.check()
        if note:
            yield f"neuro-jupyter: {note}\n"
        if not running():
            text, offset = read(offset)
            if text:
                yield text
            return
        time.sleep(poll)
