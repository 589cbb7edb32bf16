"""The store's file on disk: made whole, never silently replaced, moved aside rather than lost.

- A new store is built in a temporary file and linked into place, so no process ever opens a
  half-made one (an empty file would read as "emptied").
- A store that is missing or empty while ``logs/`` shows that jobs or bakes ran is not
  replaced on its own (``StoreMissingError``); a process that still has a deleted store open
  (a job's supervisor, a bake executor, a kernel) writes it back (``restore``) with SQLite's
  backup, so nothing recorded is lost.
- An unreadable store is renamed, with the -wal and -shm files SQLite keeps beside it, to
  ``state.db.damaged-<time>`` (and ``-wal``/``-shm``, so SQLite pairs them again), in the same
  folder.
Creating, moving and restoring take a lock file beside the store (``.state.db.lock``), so
two processes never repair the same store twice.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreMissingError

COMPANIONS = ("-wal", "-shm")
RESTORE_WAIT = 10.0  # seconds to wait for a process holding a deleted store to restore it

Identity = tuple[int, int]


def identity(path: Path) -> Identity | None:
    """The (device, inode) of the file at ``path``, or None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


@contextmanager
def repair_lock(path: Path) -> Iterator[None]:
    """Hold the store's lock file while its file is created, moved or restored (no lock when
    the folder cannot hold one: then nothing can be created or moved there either)."""
    try:
        fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for name in (str(path), *(str(path) + s for s in COMPANIONS)):
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass


def create(path: Path, init: Callable[[sqlite3.Connection], None]) -> None:
    """Create the store at ``path`` whole (``init`` makes the schema); nothing when a file
    appeared there meanwhile."""
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}")
    _remove(tmp)
    try:
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            init(conn)
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        _remove(tmp)


def move_aside(path: Path, label: str) -> Path:
    """Rename the store and the files beside it to ``<name>.<label>-<time>`` (+ ``-wal``,
    ``-shm``); the new path of the store (named even when only its companions existed)."""
    base = f"{path.name}.{label}-{time.strftime('%Y%m%d-%H%M%S')}"
    target = path.with_name(base)
    number = 1
    while any(os.path.lexists(str(target) + s) for s in ("", *COMPANIONS)):
        target = path.with_name(f"{base}-{number}")
        number += 1
    for suffix in ("", *COMPANIONS):
        try:
            os.rename(str(path) + suffix, str(target) + suffix)
        except FileNotFoundError:
            pass
    return target


def move_companions_aside(path: Path, label: str) -> None:
    """With no store at ``path``, its -wal and -shm belong to a store that is gone: SQLite
    would replay that WAL into a new store, so they move aside."""
    if not path.exists() and any(os.path.exists(str(path) + s) for s in COMPANIONS):
        move_aside(path, label)


def history(home: Path) -> bool:
    """Whether ``home/logs`` shows that jobs or bakes were recorded here."""
    try:
        with os.scandir(home / "logs") as entries:
            return any(True for _ in entries)
    except OSError:
        return False


def deleted_link(path: Path) -> str:
    """How /proc shows a descriptor of ``path`` once the file is deleted."""
    return f"{os.path.realpath(path)} (deleted)"


def holds_deleted(pid: int | str, link: str) -> bool:
    """Whether process ``pid`` has the deleted file ``link`` (``deleted_link``) open."""
    folder = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(folder)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"{folder}/{fd}") == link:
                return True
        except OSError:
            continue
    return False


def holders_of_deleted(path: Path) -> list[int]:
    """Processes that still have the deleted store ``path`` open (they can restore it)."""
    link = deleted_link(path)
    own = str(os.getpid())
    return [int(pid) for pid in os.listdir("/proc")
            if pid.isdigit() and pid != own and holds_deleted(pid, link)]


def restore(conn: sqlite3.Connection, path: Path) -> bool:
    """Write the database ``conn`` has open (its file was deleted) back to ``path``; False when
    a store is there already (another process restored or created it)."""
    tmp = path.with_name(f".{path.name}.restore-{os.getpid()}")
    _remove(tmp)
    try:
        copy = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.backup(copy)
        finally:
            copy.close()
        with repair_lock(path):
            if os.path.lexists(path):
                return False
            move_companions_aside(path, "deleted")  # the deleted store's, still open elsewhere
            os.link(tmp, path)
            return True
    finally:
        _remove(tmp)


def prepare(path: Path, init: Callable[[sqlite3.Connection], None], *, wait: bool) -> None:
    """Make sure there is a store to open at ``path``: create it whole when there is none and
    nothing shows there ever was one, else raise ``StoreMissingError`` (with ``wait``, after
    waiting up to ``RESTORE_WAIT`` s when a process that holds the deleted store can write it
    back)."""
    try:
        size: int | None = os.stat(path).st_size
    except FileNotFoundError:
        size = None
    if size:
        return
    home = path.parent
    if size is None:
        if history(home):
            holders = holders_of_deleted(path)
            if holders and wait and _wait_for(path, RESTORE_WAIT):
                return
            raise StoreMissingError(missing_text(path, holders))
        with repair_lock(path):
            if not os.path.lexists(path):
                move_companions_aside(path, "orphaned")
                create(path, init)
        return
    if history(home):  # an empty file: SQLite would take it for a new store
        raise StoreMissingError(
            f"The state store {path} is empty (0 bytes), but {home / 'logs'} holds logs of "
            "earlier jobs or bakes: the store was emptied, and the record of those jobs and "
            f"bakes with it. Put a backup of {path.name} in its place, or start a new, empty "
            "store with: neuro-jupyter store --new"
        )


def missing_text(path: Path, holders: list[int]) -> str:
    """The message of a missing store."""
    text = (
        f"The state store {path} is missing, but {path.parent / 'logs'} holds logs of earlier "
        "jobs or bakes: the store was deleted or moved, and the record of those jobs and bakes "
        "with it. neuro-jupyter does not start a new, empty store on its own: put the file "
        "back (from a backup), or start a new, empty store with: neuro-jupyter store --new"
    )
    if holders:
        pids = ", ".join(str(pid) for pid in holders[:10])
        text += (f" (processes {pids} still have the deleted store open and write it back when "
                 "they next record something; try again in a moment)")
    return text


def _wait_for(path: Path, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)
    return True
