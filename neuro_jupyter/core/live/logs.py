"""Job logs: read a page, the last lines, or follow while the job runs.

A log is a file on this machine; for a job on Ray it is a copy brought up to date from the
cluster before each read (``backends.records.sync_log``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..backends.records import sync_log
from ..logfiles import follow, read_from, read_tail
from ..store.jobs import JobRecord
from .query import get_job


def read_log(record: JobRecord, offset: int = 0, limit: int | None = None) -> tuple[str, int]:
    """The log text from byte ``offset`` (up to ``limit`` bytes) and the offset to read next."""
    sync_log(record)
    if not record.log_path:
        return "", offset
    return read_from(record.log_path, offset, limit)


def missing_log_note(record: JobRecord, text: str) -> str:
    """Why a finished job shows an empty log (e.g. its cluster went away before anyone copied
    it), for front ends to print after ``text``; empty otherwise."""
    if text or not record.finished or not record.reason:
        return ""
    return f"(no log: {record.label} {record.status}: {record.reason})"


def log_text(record: JobRecord) -> tuple[str, str]:
    """The whole log and ``missing_log_note`` about it: what ``logs`` prints (the note on
    stderr)."""
    text = read_log(record)[0]
    return text, missing_log_note(record, text)


@dataclass(frozen=True)
class LogPage:
    """A page of a log: ``text`` from byte ``offset`` to ``next_offset``, of ``size`` bytes."""

    text: str
    offset: int
    next_offset: int
    size: int


def log_page(record: JobRecord, offset: int = 0, limit: int | None = None) -> LogPage:
    """The log from byte ``offset`` (negative: the last ``-offset`` bytes), up to ``limit``
    bytes, with the log's size, so a viewer can page or follow it."""
    sync_log(record)
    path = Path(record.log_path)
    size = path.stat().st_size if record.log_path and path.is_file() else 0
    start = max(0, size + offset) if offset < 0 else offset
    text, next_offset = read_log(record, start, limit)
    return LogPage(text, start, next_offset, size)


def tail_log(record: JobRecord, lines: int = 20, max_bytes: int = 65536) -> str:
    """The last ``lines`` lines of the log."""
    return log_tail(record, lines, max_bytes)[0]


def log_tail(record: JobRecord, lines: int = 20, max_bytes: int = 65536) -> tuple[str, int]:
    """The last ``lines`` lines of the log and the offset after them (to follow from there)."""
    sync_log(record)
    if not record.log_path:
        return "", 0
    text, _, end = read_tail(record.log_path, max_bytes)
    # lines end at "\n" only: a progress bar's "\r" redraws are one line, not the last 20
    parts = text.split("\n")
    return "\n".join(parts[-(lines + 1 if text.endswith("\n") else lines):]), end


def follow_log(record: JobRecord, *, poll: float = 0.2, offset: int = 0) -> Iterator[str]:
    """Yield the log as it grows, until the job has ended and everything is read."""
    current = [record]

    def running() -> bool:
        if current[0].active:
            current[0] = get_job(current[0].raw_id)
        return current[0].active

    yield from follow(lambda at: read_log(current[0], at), running, offset=offset, poll=poll)


def stream_log(record: JobRecord, out: TextIO, *, offset: int = 0) -> None:
    """Write the log from byte ``offset`` to ``out`` as it grows (flushed chunk by chunk)
    until the job has ended."""
    for chunk in follow_log(record, offset=offset):
        out.write(chunk)
        out.flush()
