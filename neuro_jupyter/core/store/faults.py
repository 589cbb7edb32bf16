"""What a failed SQLite call means for the user: which of our errors, with which message.

SQLite reports a full disk, a damaged file, a lock held too long and a folder it may not write
in through a handful of codes (and Python's own "Could not decode to UTF-8" for damaged text);
``classify`` sorts them, ``to_error`` words them. A damaged store is only named here: moving it
aside is ``Store``'s decision (db.py).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from ..errors import StoreBusyError, StoreError, StoreFullError, disk_full_text

PROBE_SIZE = 1 << 16  # bytes a write must get through for the disk to count as not full


def classify(exc: sqlite3.Error, folder: Path) -> str:
    """``damaged``, ``busy``, ``full``, ``access`` or ``other``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if (
        name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
        or "malformed" in text or "not a database" in text
        or text.startswith(("Could not decode to UTF-8", "no such table"))
    ):
        return "damaged"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        return "busy"
    if name.startswith("SQLITE_FULL") or "database or disk is full" in text or no_space(folder):
        return "full"  # SQLite says "disk I/O error" when the files beside the store cannot grow
    if (
        name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH"))
        or "unable to open" in text or "readonly" in text
    ):
        return "access"
    return "other"


def no_space(folder: Path) -> bool:
    """Whether a write into ``folder`` fails for want of space: a small file is written there
    and removed (only when something has failed already, so a guess would mislead)."""
    probe = folder / f".space-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    try:
        os.write(fd, b"\0" * PROBE_SIZE)
        os.fsync(fd)
    except OSError as exc:
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    finally:
        os.close(fd)
        try:
            os.unlink(probe)
        except OSError:
            pass
    return False


def describe(exc: sqlite3.Error) -> str:
    """SQLite's own words, shortened to the first line."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def to_error(kind: str, exc: sqlite3.Error, path: Path, busy_seconds: float) -> StoreError:
    """Our error for a failure of ``classify`` kind ``kind`` (not ``damaged``)."""
    folder = path.parent
    cause = describe(exc)
    if kind == "full":
        return StoreFullError(disk_full_text(folder, f"the state store {path} cannot be written "
                                                     f"({cause})"))
    if kind == "busy":
        return StoreBusyError(
            f"The state store {path} stayed locked by another process for {busy_seconds:g} s "
            f"({cause}); try again."
        )
    if kind == "access":
        readonly = "" if os.access(folder, os.W_OK) else f"; {folder} is read-only"
        return StoreError(
            f"Cannot use the state store {path} ({cause}{readonly}). neuro-jupyter must read and "
            f"write in {folder} (the store and the files SQLite keeps beside it): make the folder "
            "writable, or set NEURO_JUPYTER_HOME to a folder that is."
        )
    return StoreError(f"The state store {path} failed: {cause}")


def from_os_error(exc: OSError, path: Path) -> StoreError:
    """Our error for a file operation on the store (creating, moving, restoring it) failing."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFullError(disk_full_text(path.parent, f"the state store {path} cannot be "
                                                          f"created ({exc.strerror})"))
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreError(
            f"Cannot create the state store {path} ({exc.strerror}). neuro-jupyter must read "
            f"and write in {path.parent}: make the folder writable, or set NEURO_JUPYTER_HOME "
            "to a folder that is."
        )
    return StoreError(f"Cannot create the state store {path}: {exc}")
