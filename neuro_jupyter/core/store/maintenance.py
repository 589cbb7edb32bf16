"""What a user does with the store itself: see where it is and what it holds, start a new one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from . import db, files


@dataclass(frozen=True)
class StoreSummary:
    """The store's file and what it holds; ``set_aside``: earlier stores moved aside beside it."""

    path: Path
    size: int
    projects: int
    jobs: int
    active_jobs: int
    bakes: int
    unfinished_attempts: int
    set_aside: tuple[Path, ...]


def set_aside(path: Path) -> tuple[Path, ...]:
    """Stores moved aside beside ``path`` (``state.db.damaged-…``, ``.old-…``, …), oldest first."""
    prefix = path.name + "."
    found = [
        entry for entry in path.parent.glob(prefix + "*")
        if not entry.name.endswith(files.COMPANIONS) and entry.name[len(prefix):][:1].isalpha()
    ]
    return tuple(sorted(found, key=lambda p: (p.stat().st_mtime, p.name)))


def store_summary() -> StoreSummary:
    """Where the store is and what it holds (raises our errors when it cannot be read)."""
    store = db.open_store()
    path = Path(store.path)

    def count(sql: str) -> int:
        row = store.query_one(sql)
        return int(row[0]) if row else 0

    return StoreSummary(
        path=path, size=os.stat(path).st_size,
        projects=count("SELECT COUNT(*) FROM projects"),
        jobs=count("SELECT COUNT(*) FROM jobs"),
        active_jobs=count("SELECT COUNT(*) FROM jobs WHERE status IN ('pending', 'running')"),
        bakes=count("SELECT COUNT(*) FROM bakes"),
        unfinished_attempts=count("SELECT COUNT(*) FROM attempts WHERE finished_at IS NULL"),
        set_aside=set_aside(path),
    )


def new_store() -> Path | None:
    """Start a new, empty store: the current file (if any, readable or not) moves aside as
    ``state.db.old-<time>``; where it went. Jobs and bakes still running record themselves in
    the new store."""
    path = paths.store_path()
    with files.repair_lock(path):
        moved = files.move_aside(path, "old") if os.path.lexists(path) else None
        files.move_companions_aside(path, "orphaned")
        files.create(path, db.init_schema)
    return moved
