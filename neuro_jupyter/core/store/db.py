"""Connection handling and migrations for the SQLite state store.

Several processes write at once (kernels, the server extension, job supervisors, bake
orchestrators), so: WAL mode, a generous busy timeout, and short ``BEGIN IMMEDIATE``
transactions through ``Store.tx()``; read-modify-write happens inside one transaction.

Faults end in our errors (``faults.py``), never in a ``sqlite3`` traceback. A ``Store`` follows
its file (``files.py``): before each write transaction it checks that the file at its path is
still the one it has open; when it was moved aside or replaced, it reconnects and runs its
``on_new_file`` hooks (a worker records itself again there); when it was deleted, it first
writes its copy back. A front end's store (``repair``) moves an unreadable file aside and
starts a new one; a worker's only reports it and retries (``retry.py``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import StoreDamagedError, StoreError
from . import faults, files
from .schema import MIGRATIONS

SCHEMA_VERSION = len(MIGRATIONS)
BUSY_TIMEOUT_MS = 30_000


class Store:
    """One connection to the state store; cheap to create, one per thread.

    ``repair``: move an unreadable store aside (front ends); a worker (supervisor, bake
    executor) passes False and waits for the store to be usable again instead."""

    def __init__(self, path: Path | str, *, repair: bool = True) -> None:
        self.path = Path(path)
        self.repair = repair
        self._lock = threading.RLock()
        self._depth = 0
        self.on_new_file: list[Callable[[Store], None]] = []
        self._new_file = False  # reconnected to another file: the hooks have yet to run
        self.identity: files.Identity | None = None
        self.conn = self._open()

    def _open(self) -> sqlite3.Connection:
        """Connect to the file at ``path`` (created whole if there is none and may be one)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot use {self.path.parent} as the state folder "
                             f"({paths.HOME_ENV}): {exc}") from exc
        for _ in range(3):
            try:
                files.prepare(self.path, init_schema, wait=self.repair)
            except sqlite3.Error as exc:
                raise self._fault(exc, None) from exc
            except OSError as exc:
                raise faults.from_os_error(exc, self.path) from exc
            before = files.identity(self.path)
            conn = self._connect(before)
            after = files.identity(self.path)
            if after == before:
                self.identity = after
                return conn
            conn.close()  # replaced while connecting: connect to the one there now
        raise StoreError(f"The state store {self.path} keeps being replaced; try again.")

    def _connect(self, ident: files.Identity | None) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._fault(exc, ident) from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network file system
                raise StoreError(f"The state store {self.path} cannot use WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise self._fault(exc, ident) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction (``BEGIN IMMEDIATE``); nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.ensure_current()
            if self._new_file:
                self._run_hooks()
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._fault(exc, self.identity) from exc
            self._depth = 1
            try:
                yield conn
            except BaseException as exc:
                self._depth = 0
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise self._fault(exc, self.identity) from exc
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise self._fault(exc, self.identity) from exc
            finally:
                self._depth = 0

    def query(self, sql: str, args: tuple[object, ...] | dict[str, object] = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        with self._lock:
            try:
                return self.conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise self._fault(exc, self.identity) from exc

    def query_tuples(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """``query`` with plain tuples for rows (no ``sqlite3.Row``: for reads of many rows)."""
        with self._lock:
            cursor = self.conn.cursor()
            cursor.row_factory = None
            return cursor.execute(sql, args).fetchall()

    def query_one(
        self, sql: str, args: tuple[object, ...] | dict[str, object] = ()
    ) -> sqlite3.Row | None:
        """Run a read query and return the first row, or None."""
        with self._lock:
            try:
                row: sqlite3.Row | None = self.conn.execute(sql, args).fetchone()
            except sqlite3.Error as exc:
                raise self._fault(exc, self.identity) from exc
            return row

    # --- following the file ------------------------------------------------------------------

    def ensure_current(self) -> None:
        """Reconnect when the file at ``path`` is not the one this connection has open (moved
        aside, replaced or deleted; a deleted one is first written back from this
        connection). Raises our errors when there is no usable store there."""
        with self._lock:
            now = files.identity(self.path)
            if self._depth or now == self.identity:
                return
            old = self.conn
            if now is None and files.holds_deleted(
                os.getpid(), files.deleted_link(self.path)
            ):
                try:
                    files.restore(old, self.path)
                except (sqlite3.Error, OSError):
                    pass  # e.g. a full disk, or this copy is damaged too: opening says why
            self.conn = self._open()  # on failure, reads go on from the old file
            self._new_file = True
            old.close()

    def follow(self) -> None:
        """``ensure_current``, then let the owner record itself at once in a new file (workers
        call it now and then, so a replaced store shows their work before their next write)."""
        with self._lock:
            self.ensure_current()
            if self._new_file and not self._depth:
                with self.tx():
                    pass

    def _run_hooks(self) -> None:
        """Let the owner record itself in the new file (once it gets through)."""
        self._new_file = False
        try:
            for hook in self.on_new_file:
                hook(self)
        except BaseException:
            self._new_file = True
            raise

    # --- faults --------------------------------------------------------------------------------

    def _fault(self, exc: sqlite3.Error, ident: files.Identity | None) -> StoreError:
        """Our error for ``exc``; a front end's store moves an unreadable file aside first."""
        kind = faults.classify(exc, self.path.parent)
        if kind != "damaged":
            return faults.to_error(kind, exc, self.path, BUSY_TIMEOUT_MS / 1000)
        cause = faults.describe(exc)
        if not self.repair:
            return StoreDamagedError(f"The state store {self.path} is damaged ({cause}).")
        return repair(self.path, ident, cause)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The state store {self.path} has schema version {version}, newer than this "
                f"neuro-jupyter understands ({SCHEMA_VERSION}); upgrade neuro-jupyter."
            )
        if version < SCHEMA_VERSION:
            init_schema(conn)


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is left of a failed transaction (SQLite may have done it already)."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def init_schema(conn: sqlite3.Connection) -> None:
    """WAL mode and the migrations the store lacks, in one write transaction."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read inside the write lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number in range(version, SCHEMA_VERSION):
            for statement in _split_sql(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
    except BaseException:
        _rollback(conn)
        raise
    conn.execute("COMMIT")


def repair(path: Path, ident: files.Identity | None, cause: str) -> StoreDamagedError:
    """Move the unreadable store at ``path`` (the file ``ident``) aside and start a new one
    in its place; the error that says so (or why it could not be done)."""
    what = f"The state store {path} is damaged ({cause})"
    with files.repair_lock(path):
        if ident is not None and files.identity(path) != ident:
            return StoreDamagedError(
                f"{what}; another process has just moved it aside (beside it, as "
                f"{path.name}.damaged-<time>) and started a new, empty store. Run the command "
                "again."
            )
        try:
            moved = files.move_aside(path, "damaged")
        except OSError as exc:
            return StoreDamagedError(
                f"{what} and cannot be moved aside ({exc}). Move it away yourself (mv {path} "
                f"{path}.damaged), then run the command again: a new, empty store is started."
            )
        try:
            files.create(path, init_schema)
            fresh = "and a new, empty store was started in its place"
        except (sqlite3.Error, OSError) as exc:
            fresh = f"but a new store could not be created ({exc})"
    return StoreDamagedError(
        f"{what}. It was moved aside to {moved} (with the files SQLite keeps beside it), "
        f"{fresh}: the jobs and bakes recorded in it are no longer listed; those still running "
        f"record themselves in the new store. What can still be read of it: sqlite3 {moved} "
        ".recover > recovered.sql",
        moved_to=str(moved),
    )


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would commit our transaction)."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        current.append(code)
        if code.rstrip().endswith(";"):
            text = "\n".join(current).strip()
            if sqlite3.complete_statement(text):
                statements.append(text)
                current = []
    rest = "\n".join(current).strip()
    if rest:
        statements.append(rest)
    return statements


_local = threading.local()


def open_store(path: Path | str | None = None, *, repair: bool = True) -> Store:
    """The store at ``path`` (default: ``paths.store_path()``), one cached connection per
    thread and process, so front ends can call this freely. A cached one follows its file
    (``Store.ensure_current``); ``repair`` applies when the connection is first made."""
    target = str(Path(path) if path else paths.store_path())
    cache: dict[tuple[int, str], Store] = getattr(_local, "stores", None) or {}
    _local.stores = cache
    key = (os.getpid(), target)
    store = cache.get(key)
    if store is None:
        store = Store(target, repair=repair)
        cache[key] = store
    else:
        store.ensure_current()
    return store


def close_stores() -> None:
    """Close the connections ``open_store`` cached for this thread (the next call opens new
    ones): before ``fork``, so that the child inherits no SQLite state (SQLite's locks are
    per process: a connection, or SQLite's own record of one, must not cross a fork)."""
    cache: dict[tuple[int, str], Store] = getattr(_local, "stores", None) or {}
    for key in [key for key in cache if key[0] == os.getpid()]:  # not a parent's: never closed
        cache.pop(key).close()
