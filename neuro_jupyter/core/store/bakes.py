"""Bake records: bakes, their attempts, the tasks of each attempt, and the task cache.

Writers (the orchestrator, front ends cancelling or restarting) call these inside one
``Store.tx()`` per scheduling round; nested calls join the outer transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConflictError, NotFoundError
from .db import Store

UNFINISHED_ATTEMPT = ("pending", "running")


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt of a bake (restart creates the next one)."""

    bake_id: str
    number: int
    result: str  # pending|running|succeeded|failed|cancelled
    reason: str
    executor_pid: int | None
    executor_start: str
    executor_id: str
    from_failed: bool
    created_at: float
    finished_at: float | None
    log_path: str
    source_attempt: int | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


@dataclass(frozen=True)
class BakeRecord:
    """A bake: a batch run with its config snapshot; ``last_attempt`` is the newest attempt."""

    bake_id: str
    project_pk: int
    batch: str
    name: str | None
    tags: tuple[str, ...]
    params: Mapping[str, str]
    config_files: Mapping[str, str]
    backend: str
    created_at: float
    last_attempt: AttemptRecord | None = None


@dataclass(frozen=True)
class TaskRecord:
    """A node of an attempt's graph (a task, or an action call) and how it ran."""

    bake_id: str
    attempt: int
    full_id: str  # dotted
    status: str
    kind: str = "task"
    title: str = ""
    needs: Mapping[str, str] = field(default_factory=dict)  # dotted full id -> level
    matrix_group: str | None = None
    seq: int = 0
    raw_id: str = ""
    exit_code: int | None = None
    reason: str = ""
    outputs: Mapping[str, str] = field(default_factory=dict)
    state: Mapping[str, str] = field(default_factory=dict)
    cache_key: str = ""
    log_path: str = ""
    notebook: str = ""  # the executed notebook it wrote, relative to the project (``nbrun``)
    pid: int | None = None
    pid_start: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    rev: int = 0  # the attempt's write that last set the row (set by ``put_tasks``)


@dataclass(frozen=True)
class CacheEntry:
    """A cached result of a task: its raw id and outputs."""

    raw_id: str
    outputs: Mapping[str, str]
    state: Mapping[str, str]
    created_at: float


def new_bake_id() -> str:
    """``bake-<uuid4>``, the form neuro-flow's ``resolve_bake`` recognises."""
    return f"bake-{uuid4_text()}"


def uuid4_text() -> str:
    """``str(uuid.uuid4())``, without importing ``uuid`` (≈2 ms of a bake executor's start,
    which is on the bake's critical path) or making a ``UUID`` per task."""
    n = int.from_bytes(os.urandom(16), "big")
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # the RFC 4122 variant
    n = (n & ~(0xF000 << 64)) | (4 << 76)  # version 4
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def create_bake(
    store: Store, *, project_pk: int, batch: str, name: str | None, tags: Sequence[str],
    params: Mapping[str, str], config_files: Mapping[str, str], backend: str = "local",
    bake_id: str | None = None,
) -> BakeRecord:
    """Insert a bake with its attempt #1 (pending); the name must be unique in the project.

    ``bake_id`` (from ``new_bake_id``) lets a caller start the executor before the record."""
    bake_id = bake_id or new_bake_id()
    now = time.time()
    with store.tx() as conn:
        if name and conn.execute(
            "SELECT 1 FROM bakes WHERE project_pk = ? AND name = ?", (project_pk, name)
        ).fetchone():
            raise ConflictError(f"A bake named {name!r} already exists in this project")
        conn.execute(
            "INSERT INTO bakes (bake_id, project_pk, batch, name, tags_json, params_json,"
            " config_json, backend, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (bake_id, project_pk, batch, name or None, json.dumps(list(tags)),
             json.dumps(dict(params)), json.dumps(dict(config_files)), backend, now),
        )
        create_attempt(store, bake_id, 1, from_failed=True)
    return get_bake(store, bake_id)


def put_bake(store: Store, bake: BakeRecord) -> None:
    """Insert the bake's row unless the store has it (an executor records its bake again in a
    store that replaced the one it started with)."""
    with store.tx() as conn:
        conn.execute(
            "INSERT INTO bakes (bake_id, project_pk, batch, name, tags_json, params_json,"
            " config_json, backend, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (bake_id) DO NOTHING",
            (bake.bake_id, bake.project_pk, bake.batch, bake.name, json.dumps(list(bake.tags)),
             json.dumps(dict(bake.params)), json.dumps(dict(bake.config_files)), bake.backend,
             bake.created_at),
        )


def put_attempt(store: Store, attempt: AttemptRecord) -> None:
    """Insert the attempt's row, or (while unfinished) bring its executor and result up to
    ``attempt`` (a cancel recorded meanwhile stays)."""
    with store.tx() as conn:
        conn.execute(
            "INSERT INTO attempts (bake_id, number, result, reason, executor_pid, executor_id,"
            " executor_start, from_failed, created_at, log_path, source_attempt)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (bake_id, number) DO UPDATE SET executor_pid = excluded.executor_pid,"
            " executor_id = excluded.executor_id, executor_start = excluded.executor_start,"
            " result = CASE WHEN result = 'cancelled' THEN result ELSE excluded.result END"
            " WHERE finished_at IS NULL",
            (attempt.bake_id, attempt.number, attempt.result, attempt.reason,
             attempt.executor_pid, attempt.executor_id, attempt.executor_start,
             int(attempt.from_failed), attempt.created_at, attempt.log_path,
             attempt.source_attempt),
        )


def create_attempt(
    store: Store, bake_id: str, number: int, *, from_failed: bool, source: int | None = None
) -> AttemptRecord:
    """Insert attempt ``number`` of a bake, pending until its executor starts."""
    with store.tx() as conn:
        conn.execute(
            "INSERT INTO attempts (bake_id, number, result, from_failed, source_attempt,"
            " created_at) VALUES (?, ?, 'pending', ?, ?, ?)",
            (bake_id, number, int(from_failed), source, time.time()),
        )
    return get_attempt(store, bake_id, number)


def _attempt(row: sqlite3.Row, created_at: str = "created_at") -> AttemptRecord:
    """An attempt from a row; ``created_at`` names that column (aliased in joins with bakes)."""
    return AttemptRecord(
        bake_id=row["bake_id"], number=int(row["number"]), result=row["result"],
        reason=row["reason"], executor_pid=row["executor_pid"],
        executor_start=row["executor_start"], executor_id=row["executor_id"],
        from_failed=bool(row["from_failed"]), created_at=float(row[created_at]),
        finished_at=row["finished_at"], log_path=row["log_path"],
        source_attempt=row["source_attempt"],
    )


def _bake(row: sqlite3.Row, attempt: AttemptRecord | None) -> BakeRecord:
    return BakeRecord(
        bake_id=row["bake_id"], project_pk=int(row["project_pk"]), batch=row["batch"],
        name=row["name"], tags=tuple(json.loads(row["tags_json"])),
        params=json.loads(row["params_json"]), config_files=LazyJson(row["config_json"]),
        backend=row["backend"], created_at=float(row["created_at"]), last_attempt=attempt,
    )


class LazyJson(Mapping[str, str]):
    """A JSON object's text, decoded on first use: a bake's config snapshot (the workflow
    files' text, 100s of KB for a 10,000-task flow) is needed to run or restart it, not to
    list or show bakes."""

    __slots__ = ("_text", "_data")

    def __init__(self, text: str) -> None:
        self._text = text
        self._data: dict[str, str] | None = None

    def _decoded(self) -> dict[str, str]:
        if self._data is None:
            self._data = json.loads(self._text)
        return self._data

    def __getitem__(self, key: str) -> str:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __eq__(self, other: object) -> bool:
        return self._decoded() == (dict(other) if isinstance(other, Mapping) else other)

    def __repr__(self) -> str:
        return f"LazyJson({self._decoded()!r})"


def get_attempt(store: Store, bake_id: str, number: int | None = None) -> AttemptRecord:
    """Attempt ``number`` of a bake (default: the last one)."""
    if number is None:
        row = store.query_one(
            "SELECT * FROM attempts WHERE bake_id = ? ORDER BY number DESC LIMIT 1", (bake_id,)
        )
    else:
        row = store.query_one(
            "SELECT * FROM attempts WHERE bake_id = ? AND number = ?", (bake_id, number)
        )
    if row is None:
        what = f"attempt #{number}" if number is not None else "any attempt"
        raise NotFoundError(f"Bake {bake_id} has no {what}")
    return _attempt(row)


def list_attempts(store: Store, bake_id: str) -> list[AttemptRecord]:
    """A bake's attempts, first to last."""
    rows = store.query("SELECT * FROM attempts WHERE bake_id = ? ORDER BY number", (bake_id,))
    return [_attempt(row) for row in rows]


def count_attempts(store: Store, bake_id: str) -> int:
    """How many attempts a bake has."""
    row = store.query_one("SELECT COUNT(*) FROM attempts WHERE bake_id = ?", (bake_id,))
    return int(row[0]) if row else 0


def get_bake(store: Store, bake_id: str) -> BakeRecord:
    """A bake by id, with its last attempt."""
    row = store.query_one("SELECT * FROM bakes WHERE bake_id = ?", (bake_id,))
    if row is None:
        raise NotFoundError(f"No bake with id {bake_id}")
    try:
        attempt: AttemptRecord | None = get_attempt(store, bake_id)
    except NotFoundError:
        attempt = None
    return _bake(row, attempt)


def find_bake(store: Store, project_pk: int, id_or_name: str) -> BakeRecord | None:
    """A bake of the project by id or by name (an id wins), or None: two index lookups, not
    a scan of the project's bakes."""
    row = store.query_one(
        "SELECT bake_id FROM bakes WHERE bake_id = ? AND project_pk = ?", (id_or_name, project_pk)
    ) or store.query_one(
        "SELECT bake_id FROM bakes WHERE project_pk = ? AND name = ? LIMIT 1",
        (project_pk, id_or_name),
    )
    return get_bake(store, row[0]) if row else None


def last_bake_of_batch(store: Store, project_pk: int, batch: str) -> str | None:
    """The id of the project's newest bake of ``batch``, or None."""
    row = store.query_one(
        "SELECT bake_id FROM bakes WHERE project_pk = ? AND batch = ?"
        " ORDER BY created_at DESC LIMIT 1", (project_pk, batch),
    )
    return str(row[0]) if row else None


def list_bakes(
    store: Store, project_pk: int, *, since: float | None = None, until: float | None = None,
    recent_first: bool = True,
) -> list[BakeRecord]:
    """The project's bakes with their last attempts, filtered by creation time."""
    sql = (
        "SELECT b.*, a.bake_id AS a_bake_id, a.number, a.result, a.reason, a.executor_pid,"
        " a.executor_start, a.executor_id, a.from_failed, a.created_at AS a_created_at,"
        " a.finished_at, a.log_path, a.source_attempt"
        " FROM bakes b LEFT JOIN attempts a ON a.bake_id = b.bake_id"
        " AND a.number = (SELECT MAX(number) FROM attempts WHERE bake_id = b.bake_id)"
        " WHERE b.project_pk = ?"
    )
    args: list[object] = [project_pk]
    if since is not None:
        sql += " AND b.created_at >= ?"
        args.append(since)
    if until is not None:
        sql += " AND b.created_at <= ?"
        args.append(until)
    sql += " ORDER BY b.created_at " + ("DESC" if recent_first else "ASC")
    return [
        _bake(row, _attempt(row, "a_created_at") if row["a_bake_id"] is not None else None)
        for row in store.query(sql, tuple(args))
    ]


def update_attempt(store: Store, bake_id: str, number: int, **fields: object) -> None:
    """Set columns of an attempt (e.g. result, reason, executor_pid, finished_at)."""
    if not fields:
        return
    names = ", ".join(f"{key} = ?" for key in fields)
    with store.tx() as conn:
        conn.execute(
            f"UPDATE attempts SET {names} WHERE bake_id = ? AND number = ?",
            (*fields.values(), bake_id, number),
        )


UNFINISHED_STATUSES = ("pending", "running", "unknown")
"""Task statuses an attempt that ends (normally or not) must close."""

_TASK_COLUMNS = (
    "bake_id", "attempt", "full_id", "status", "kind", "title", "needs_json", "matrix_group",
    "seq", "raw_id", "exit_code", "reason", "outputs_json", "state_json", "cache_key",
    "log_path", "pid", "pid_start", "created_at", "started_at", "finished_at", "notebook", "rev",
)


class JsonMap(dict[str, str]):
    """A mapping never changed once made, whose JSON text is kept: a task's ``needs`` are
    written with each of its rows (twice or more per task, 10 needs each in a layered DAG)."""

    __slots__ = ("_text",)

    def json_text(self) -> str:
        """``json.dumps`` of the mapping, computed once."""
        try:
            return self._text
        except AttributeError:
            self._text: str = json.dumps(dict(self)) if self else "{}"
            return self._text


def _json(mapping: Mapping[str, str]) -> str:
    if type(mapping) is JsonMap:
        return mapping.json_text()
    return json.dumps(dict(mapping)) if mapping else "{}"


def _task_row(task: TaskRecord, rev: int) -> tuple[object, ...]:
    return (
        task.bake_id, task.attempt, task.full_id, task.status, task.kind, task.title,
        _json(task.needs), task.matrix_group, task.seq, task.raw_id, task.exit_code,
        task.reason, _json(task.outputs), _json(task.state),
        task.cache_key, task.log_path, task.pid, task.pid_start, task.created_at or time.time(),
        task.started_at, task.finished_at, task.notebook, rev,
    )


def put_tasks(store: Store, tasks: Iterable[TaskRecord]) -> None:
    """Insert or replace task rows (the orchestrator writes whole rows, batched per round).

    Each call is one write of each attempt it touches: its rows get the attempt's next
    ``rev``, inside the transaction, so revs grow in commit order and a reader that has seen
    rev R has seen every row written up to it (``list_tasks_since``)."""
    tasks = list(tasks)
    if not tasks:
        return
    with store.tx() as conn:
        revs: dict[tuple[str, int], int] = {}
        for key in {(task.bake_id, task.attempt) for task in tasks}:
            revs[key] = conn.execute(_NEXT_REV, key).fetchone()[0]
        conn.executemany(_PUT_TASK, [
            _task_row(task, revs[(task.bake_id, task.attempt)]) for task in tasks
        ])


_NEXT_REV = "SELECT COALESCE(MAX(rev), 0) + 1 FROM tasks WHERE bake_id = ? AND attempt = ?"


# an upsert, not INSERT OR REPLACE: a row written again (2–3 times per task) is updated in
# place instead of deleted and inserted again with each of its index entries (≈30 % less)
_PUT_TASK = (
    f"INSERT INTO tasks ({', '.join(_TASK_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in _TASK_COLUMNS)})"
    " ON CONFLICT (bake_id, attempt, full_id) DO UPDATE SET "
    + ", ".join(f"{col} = excluded.{col}" for col in _TASK_COLUMNS[3:])
)


def _task(row: Sequence[Any]) -> TaskRecord:
    """A record from its row (``_SELECT_TASKS``' columns, a plain tuple); made without the
    frozen dataclass's per-field ``__setattr__`` (a 10,000-task attempt is read whole by
    ``inspect`` and the REST route)."""
    (bake_id, attempt, full_id, status, kind, title, needs, matrix_group, seq, raw_id,
     exit_code, reason, outputs, state, cache_key, log_path, pid, pid_start, created_at,
     started_at, finished_at, notebook, rev) = row
    task = object.__new__(TaskRecord)
    task.__dict__.update(
        bake_id=bake_id, attempt=int(attempt), full_id=full_id, status=status, kind=kind,
        title=title, needs=_mapping(needs), matrix_group=matrix_group, seq=int(seq),
        raw_id=raw_id, exit_code=exit_code, reason=reason, outputs=_mapping(outputs),
        state=_mapping(state), cache_key=cache_key, log_path=log_path, pid=pid,
        pid_start=pid_start, created_at=float(created_at), started_at=started_at,
        finished_at=finished_at, notebook=notebook, rev=rev,
    )
    return task


_SELECT_TASKS = f"SELECT {', '.join(_TASK_COLUMNS)} FROM tasks"


def _mapping(text: str) -> dict[str, str]:
    """A JSON object's text decoded (mostly ``{}``: no decoder call)."""
    return {} if text == "{}" else json.loads(text)


def list_tasks(
    store: Store, bake_id: str, attempt: int, *, statuses: Sequence[str] | None = None
) -> list[TaskRecord]:
    """Every node of an attempt (only those in ``statuses`` if given), in file order (nested
    nodes after their call)."""
    sql = f"{_SELECT_TASKS} WHERE bake_id = ? AND attempt = ?"
    args: tuple[object, ...] = (bake_id, attempt)
    if statuses is not None:
        sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
        args += tuple(statuses)
    rows = store.query_tuples(sql + " ORDER BY seq, created_at", args)
    return [_task(row) for row in rows]


def list_tasks_since(store: Store, bake_id: str, attempt: int, rev: int) -> list[TaskRecord]:
    """The rows of an attempt written after its write ``rev`` (``TaskRecord.rev``), in file
    order: what a follower reads each time instead of every row."""
    rows = store.query_tuples(
        f"{_SELECT_TASKS} WHERE bake_id = ? AND attempt = ? AND rev > ? ORDER BY seq, created_at",
        (bake_id, attempt, rev),
    )
    return [_task(row) for row in rows]


def has_cache(store: Store, project_pk: int, batch: str) -> bool:
    """Whether the cache holds any entry of the batch (one query instead of one per task)."""
    return store.query_one(
        "SELECT 1 FROM cache_entries WHERE project_pk = ? AND batch = ? LIMIT 1",
        (project_pk, batch),
    ) is not None


def lookup_cache(
    store: Store, project_pk: int, batch: str, full_id: str, key: str, life_span: float,
    now: float | None = None,
) -> CacheEntry | None:
    """A cache entry for the task and key that is still within ``life_span`` seconds."""
    row = store.query_one(
        "SELECT raw_id, outputs_json, state_json, created_at FROM cache_entries"
        " WHERE project_pk = ? AND batch = ? AND full_id = ? AND key = ?",
        (project_pk, batch, full_id, key),
    )
    if row is None or float(row[3]) + life_span <= (now or time.time()):
        return None
    return CacheEntry(row[0], json.loads(row[1]), json.loads(row[2]), float(row[3]))


def put_cache(
    store: Store, project_pk: int, batch: str, full_id: str, key: str, *, raw_id: str,
    outputs: Mapping[str, str], state: Mapping[str, str],
) -> None:
    """Remember a succeeded task's result under its caching key."""
    put_cache_many(store, project_pk, batch, [(full_id, key, raw_id, outputs, state)])


CacheItem = tuple[str, str, str, Mapping[str, str], Mapping[str, str]]


def put_cache_many(store: Store, project_pk: int, batch: str, items: Iterable[CacheItem]) -> None:
    """``put_cache`` for many tasks at once: (full id, key, raw id, outputs, state) each."""
    now = time.time()
    values = [
        (project_pk, batch, full_id, key, raw_id, _json(outputs), _json(state), now)
        for full_id, key, raw_id, outputs, state in items
    ]
    if not values:
        return
    with store.tx() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO cache_entries (project_pk, batch, full_id, key, raw_id,"
            " outputs_json, state_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )


def delete_cache(
    store: Store, project_pk: int, batch: str | None = None, full_id: str | None = None
) -> int:
    """Delete cache entries of a project (all, one batch, or one task of a batch); the count."""
    sql = "DELETE FROM cache_entries WHERE project_pk = ?"
    args: list[object] = [project_pk]
    if batch is not None:
        sql += " AND batch = ?"
        args.append(batch)
        if full_id is not None:
            sql += " AND (full_id = ? OR full_id LIKE ?)"
            args.extend([full_id, full_id + ".%"])
    with store.tx() as conn:
        return conn.execute(sql, tuple(args)).rowcount


def log_dir(bake_id: str, attempt: int, logs_root: Path) -> Path:
    """The folder of an attempt's task logs."""
    return logs_root / "bakes" / bake_id / str(attempt)
