"""Connection handling and migrations for the SQLite state store.

Several processes write at once (kernels, the server extension, job supervisors, bake
orchestrators), so: WAL mode, a generous busy timeout, and short ``BEGIN IMMEDIATE``
transactions through ``Store.tx()``; read-modify-write happens inside one transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import StoreError
from .schema import MIGRATIONS

SCHEMA_VERSION = len(MIGRATIONS)
BUSY_TIMEOUT_MS = 30_000


class Store:
    """One connection to the state store; cheap to create, one per thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:  # pragma: no cover - depends on the file system
            raise StoreError(f"Cannot open the state store {self.path}: {exc}") from exc
        self.conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network file system
            raise StoreError(f"The state store {self.path} cannot use WAL mode (got {mode})")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self._migrate()

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
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, args: tuple[object, ...] | dict[str, object] = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        with self._lock:
            return self.conn.execute(sql, args).fetchall()

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
            row: sqlite3.Row | None = self.conn.execute(sql, args).fetchone()
            return row

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The state store {self.path} has schema version {version}, newer than this "
                f"neuro-jupyter understands ({SCHEMA_VERSION}); upgrade neuro-jupyter."
            )
        if version == SCHEMA_VERSION:
            return
        with self.tx() as conn:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                for statement in _split_sql(MIGRATIONS[number]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")


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


def open_store(path: Path | str | None = None) -> Store:
    """The store at ``path`` (default: ``paths.store_path()``), one cached connection per
    thread and process, so front ends can call this freely."""
    target = str(Path(path) if path else paths.store_path())
    cache: dict[tuple[int, str], Store] = getattr(_local, "stores", None) or {}
    _local.stores = cache
    key = (os.getpid(), target)
    store = cache.get(key)
    if store is None:
        store = Store(target)
        cache[key] = store
    return store


def close_stores() -> None:
    """Close the connections ``open_store`` cached for this thread (the next call opens new
    ones): before ``fork``, so that the child inherits no SQLite state (SQLite's locks are
    per process: a connection, or SQLite's own record of one, must not cross a fork)."""
    cache: dict[tuple[int, str], Store] = getattr(_local, "stores", None) or {}
    for key in [key for key in cache if key[0] == os.getpid()]:  # not a parent's: never closed
        cache.pop(key).close()
