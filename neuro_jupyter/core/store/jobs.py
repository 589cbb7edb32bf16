"""Live-job records: one row per run of a live job (a suffix of a multi job counts as a job)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from .db import Store, open_store

if TYPE_CHECKING:
    from ..project.discovery import Project

ACTIVE_STATUSES = ("pending", "running")
FINISHED = frozenset({"succeeded", "failed", "cancelled"})

_COLUMNS = (
    "raw_id", "project_pk", "job_id", "suffix", "backend", "status", "reason", "exit_code",
    "signal", "pid", "supervisor_pid", "host", "asked_port", "http_port", "life_span",
    "spec_json", "log_path", "created_at", "started_at", "finished_at", "supervisor_start",
    "pid_start", "meta_json",
)


def job_label(job_id: str, suffix: str = "") -> str:
    """``train`` or ``multitrain sfx``: how every front end names a job (neuro-flow's JOB)."""
    return f"{job_id} {suffix}" if suffix else job_id


@dataclass(frozen=True)
class JobRecord:
    """A row of the jobs table; ``spec`` is the process spec, ``meta`` display facts."""

    raw_id: str
    project_pk: int
    job_id: str
    suffix: str = ""
    backend: str = "local"
    status: str = "pending"
    reason: str = ""
    exit_code: int | None = None
    signal: int | None = None
    pid: int | None = None
    supervisor_pid: int | None = None
    host: str = ""
    asked_port: int | None = None
    http_port: int | None = None
    life_span: float | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    log_path: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    supervisor_start: int | None = None
    pid_start: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def label(self) -> str:
        """``train`` or ``multitrain sfx`` (neuro-flow's JOB column)."""
        return job_label(self.job_id, self.suffix)

    @property
    def when(self) -> float | None:
        """neuro-flow's WHEN: created if pending, started if running, else finished."""
        if self.status == "pending":
            return self.created_at
        if self.status == "running":
            return self.started_at or self.created_at
        return self.finished_at or self.started_at or self.created_at


def _from_row(row: Any) -> JobRecord:
    data = {name: row[name] for name in _COLUMNS}
    spec = json.loads(data.pop("spec_json") or "{}")
    meta = json.loads(data.pop("meta_json") or "{}")
    return JobRecord(**data, spec=spec, meta=meta)


def insert_job(record: JobRecord, store: Store | None = None) -> JobRecord:
    """Insert a new job row."""
    store = store or open_store()
    values = _values(record)
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    with store.tx() as conn:
        conn.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", tuple(values.values()))
    return record


def insert_job_unless_active(record: JobRecord, store: Store | None = None) -> JobRecord | None:
    """Insert a new job row unless a pending or running row of the same project, job id and
    suffix exists, in one transaction (two ``run`` at once start one job); returns that row,
    or None when ``record`` was inserted."""
    store = store or open_store()
    values = _values(record)
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    with store.tx() as conn:
        row = conn.execute(
            "SELECT * FROM jobs WHERE project_pk = ? AND job_id = ? AND suffix = ?"
            " AND status IN ('pending', 'running') ORDER BY created_at DESC LIMIT 1",
            (record.project_pk, record.job_id, record.suffix),
        ).fetchone()
        if row is not None:
            return _from_row(row)
        conn.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", tuple(values.values()))
    return None


def put_job(record: JobRecord, store: Store | None = None) -> None:
    """Write the whole row of ``record``: inserted if the store lacks it, else overwritten
    while it is still active (a finished job is never brought back). A supervisor uses it to
    record its job again in a store that was replaced or restored."""
    store = store or open_store()
    values = _values(record)
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    sets = ", ".join(f"{name} = excluded.{name}" for name in values if name != "raw_id")
    with store.tx() as conn:
        conn.execute(
            f"INSERT INTO jobs ({names}) VALUES ({marks}) ON CONFLICT (raw_id) DO UPDATE SET"
            f" {sets} WHERE status IN ('pending', 'running')", tuple(values.values()),
        )


def _values(record: JobRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in _COLUMNS if hasattr(record, name)}
    values["spec_json"] = json.dumps(record.spec)
    values["meta_json"] = json.dumps(record.meta)
    return values


def update_job(
    raw_id: str, store: Store | None = None, *, only_if_active: bool = False, **fields: Any
) -> bool:
    """Set columns of one job in a short transaction; with ``only_if_active``, only while it is
    pending or running (so a finished job is never overwritten). True when a row changed."""
    store = store or open_store()
    if "spec" in fields:
        fields["spec_json"] = json.dumps(fields.pop("spec"))
    if "meta" in fields:
        fields["meta_json"] = json.dumps(fields.pop("meta"))
    unknown = set(fields) - set(_COLUMNS)
    if unknown:
        raise ValueError(f"unknown job columns: {sorted(unknown)}")
    sets = ", ".join(f"{name} = ?" for name in fields)
    where = "raw_id = ?" + (" AND status IN ('pending', 'running')" if only_if_active else "")
    with store.tx() as conn:
        cursor = conn.execute(f"UPDATE jobs SET {sets} WHERE {where}", (*fields.values(), raw_id))
        return cursor.rowcount > 0


def record_supervisor(raw_id: str, pid: int, ticks: int | None, store: Store | None = None) -> None:
    """Record the process that started a job's supervisor, unless the supervisor has already
    recorded itself (it forks from that process: its own pid is the one to watch)."""
    store = store or open_store()
    with store.tx() as conn:
        conn.execute(
            "UPDATE jobs SET supervisor_pid = ?, supervisor_start = ? WHERE raw_id = ?"
            " AND supervisor_pid IS NULL AND status IN ('pending', 'running')",
            (pid, ticks, raw_id),
        )


def finish_job(
    raw_id: str, status: str, *, reason: str = "", exit_code: int | None = None,
    signal: int | None = None, store: Store | None = None,
) -> bool:
    """Record the end of a job unless it has already ended; True when this call recorded it."""
    return update_job(
        raw_id, store, only_if_active=True, status=status, reason=reason, exit_code=exit_code,
        signal=signal, finished_at=time.time(),
    )


def get_job_record(raw_id: str, store: Store | None = None) -> JobRecord:
    """One job by raw id."""
    store = store or open_store()
    row = store.query_one("SELECT * FROM jobs WHERE raw_id = ?", (raw_id,))
    if row is None:
        raise NotFoundError(f"No job with raw id {raw_id!r}")
    return _from_row(row)


def find_jobs(raw_ids: Sequence[str], store: Store | None = None) -> dict[str, JobRecord]:
    """Several jobs by raw id."""
    store = store or open_store()
    if not raw_ids:
        return {}
    marks = ", ".join("?" for _ in raw_ids)
    rows = store.query(f"SELECT * FROM jobs WHERE raw_id IN ({marks})", tuple(raw_ids))
    return {row["raw_id"]: _from_row(row) for row in rows}


def latest_job(
    project_pk: int, job_id: str, suffix: str = "", store: Store | None = None
) -> JobRecord | None:
    """The most recent run of a job (and suffix)."""
    store = store or open_store()
    row = store.query_one(
        "SELECT * FROM jobs WHERE project_pk = ? AND job_id = ? AND suffix = ?"
        " ORDER BY created_at DESC LIMIT 1",
        (project_pk, job_id, suffix),
    )
    return _from_row(row) if row else None


def active_jobs(
    project_pk: int | None = None, job_id: str | None = None, suffix: str | None = None,
    store: Store | None = None,
) -> list[JobRecord]:
    """Pending or running jobs, optionally of one project, job id and suffix; oldest first."""
    store = store or open_store()
    sql = "SELECT * FROM jobs WHERE status IN ('pending', 'running')"
    args: list[Any] = []
    for column, value in (("project_pk", project_pk), ("job_id", job_id), ("suffix", suffix)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
    rows = store.query(sql + " ORDER BY created_at", tuple(args))
    return [_from_row(row) for row in rows]


def find_active_job(project: Project, job_id: str, suffix: str = "") -> JobRecord | None:
    """The pending or running run of ``job_id`` (and ``suffix``) in ``project``, if any."""
    from .projects import project_pk

    found = active_jobs(project_pk(project), job_id, suffix)
    return found[-1] if found else None


def history(
    project_pk: int, job_id: str | None = None, *, limit: int = 50, offset: int = 0,
    store: Store | None = None,
) -> list[JobRecord]:
    """Runs of a project's jobs, newest first, one page at a time."""
    store = store or open_store()
    sql = "SELECT * FROM jobs WHERE project_pk = ?"
    args: list[Any] = [project_pk]
    if job_id is not None:
        sql += " AND job_id = ?"
        args.append(job_id)
    sql += " ORDER BY created_at DESC LIMIT ? OFFSET ?"
    rows = store.query(sql, (*args, limit, offset))
    return [_from_row(row) for row in rows]


def recorded_jobs(project_pk: int, store: Store | None = None) -> dict[str, bool]:
    """The job ids that ever ran in a project, each with True when it ran with a suffix."""
    store = store or open_store()
    rows = store.query(
        "SELECT job_id, MAX(suffix != '') FROM jobs WHERE project_pk = ? GROUP BY job_id",
        (project_pk,),
    )
    return {row[0]: bool(row[1]) for row in rows}


def ps_keys(
    project_pk: int, known_jobs: Sequence[str], *, limit: int | None = None, offset: int = 0,
    store: Store | None = None,
) -> tuple[list[tuple[str, str, str | None]], int]:
    """One page of ps rows as ``(job_id, suffix, raw_id of the latest run or None)`` ordered
    by job id and suffix, plus the total row count.

    Rows: the latest run of every (job id, suffix) in the store, and a ``None`` row for each of
    ``known_jobs`` that never ran. Grouping uses the ``jobs_by_job`` index, so ps stays fast
    with many finished jobs; only the page's records are read afterwards.
    """
    store = store or open_store()
    known = list(dict.fromkeys(known_jobs))
    never = ""
    args: list[Any] = [project_pk]
    if known:
        values = ", ".join("(?)" for _ in known)
        never = (
            f" UNION ALL SELECT column1, '', NULL FROM (VALUES {values})"
            " WHERE column1 NOT IN (SELECT job_id FROM jobs WHERE project_pk = ?)"
        )
        args += [*known, project_pk]
    inner = (
        "SELECT job_id, suffix, raw_id FROM (SELECT job_id, suffix, raw_id, MAX(created_at)"
        " FROM jobs WHERE project_pk = ? GROUP BY job_id, suffix)" + never
    )
    total_row = store.query_one(f"SELECT COUNT(*) FROM ({inner})", tuple(args))
    total = int(total_row[0]) if total_row else 0
    page_sql = f"SELECT * FROM ({inner}) ORDER BY 1, 2"
    page_args = list(args)
    if limit is not None:
        page_sql += " LIMIT ? OFFSET ?"
        page_args += [limit, offset]
    rows = store.query(page_sql, tuple(page_args))
    return [(row[0], row[1], row[2]) for row in rows], total
