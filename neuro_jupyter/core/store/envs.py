"""Environment build records: one row per build of a project environment (``core.envs``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import NotFoundError
from .db import Store, open_store

ACTIVE_STATUSES = ("pending", "running")

_COLUMNS = (
    "build_id", "env_key", "project_pk", "image_id", "status", "phase", "reason", "force",
    "kernel", "pid", "pid_start", "host", "env_path", "log_path", "recipe_json", "created_at",
    "started_at", "finished_at",
)


@dataclass(frozen=True)
class BuildRecord:
    """A row of the env_builds table; ``recipe`` is what the environment is built from."""

    build_id: str
    env_key: str
    project_pk: int | None = None
    image_id: str = ""
    status: str = "pending"
    phase: str = ""
    reason: str = ""
    force: bool = False
    kernel: bool = False
    pid: int | None = None
    pid_start: int | None = None
    host: str = ""
    env_path: str = ""
    log_path: str = ""
    recipe: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


def _from_row(row: Any) -> BuildRecord:
    data = {name: row[name] for name in _COLUMNS}
    recipe = json.loads(data.pop("recipe_json") or "{}")
    data["force"] = bool(data["force"])
    data["kernel"] = bool(data["kernel"])
    return BuildRecord(**data, recipe=recipe)


def insert_build_unless_active(record: BuildRecord, store: Store | None = None) -> BuildRecord | None:
    """Insert a new build unless a pending or running build of the same environment exists,
    in one transaction (two builds at once build once); returns that build, or None when
    ``record`` was inserted. A forced build joins only a forced one: a build started without
    force may find the environment built and do nothing."""
    store = store or open_store()
    values = {name: getattr(record, name) for name in _COLUMNS if name != "recipe_json"}
    values["recipe_json"] = json.dumps(record.recipe)
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    sql = ("SELECT * FROM env_builds WHERE env_key = ? AND status IN ('pending', 'running')"
           + (" AND force = 1" if record.force else "") + " ORDER BY created_at LIMIT 1")
    with store.tx() as conn:
        row = conn.execute(sql, (record.env_key,)).fetchone()
        if row is not None:
            return _from_row(row)
        conn.execute(f"INSERT INTO env_builds ({names}) VALUES ({marks})",
                     tuple(values.values()))
    return None


def update_build(
    build_id: str, store: Store | None = None, *, only_if_active: bool = False, **fields: Any
) -> bool:
    """Set columns of one build; with ``only_if_active`` only while it is pending or running.
    True when a row changed."""
    store = store or open_store()
    unknown = set(fields) - set(_COLUMNS)
    if unknown:
        raise ValueError(f"unknown build columns: {sorted(unknown)}")
    sets = ", ".join(f"{name} = ?" for name in fields)
    where = "build_id = ?" + (" AND status IN ('pending', 'running')" if only_if_active else "")
    with store.tx() as conn:
        cursor = conn.execute(f"UPDATE env_builds SET {sets} WHERE {where}",
                              (*fields.values(), build_id))
        return cursor.rowcount > 0


def finish_build(build_id: str, status: str, *, reason: str = "",
                 store: Store | None = None) -> bool:
    """Record the end of a build unless it has ended already; True when this call did."""
    return update_build(build_id, store, only_if_active=True, status=status, reason=reason,
                        phase="", finished_at=time.time())


def get_build_record(build_id: str, store: Store | None = None) -> BuildRecord:
    """One build by id."""
    store = store or open_store()
    row = store.query_one("SELECT * FROM env_builds WHERE build_id = ?", (build_id,))
    if row is None:
        raise NotFoundError(f"No environment build {build_id!r}")
    return _from_row(row)


def latest_build(
    env_key: str | None = None, *, project_pk: int | None = None, image_id: str | None = None,
    status: str | None = None, store: Store | None = None,
) -> BuildRecord | None:
    """The newest build of an environment, or of a project's image (with that status)."""
    store = store or open_store()
    sql = "SELECT * FROM env_builds WHERE 1 = 1"
    args: list[Any] = []
    for column, value in (("env_key", env_key), ("project_pk", project_pk),
                          ("image_id", image_id), ("status", status)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
    row = store.query_one(sql + " ORDER BY created_at DESC LIMIT 1", tuple(args))
    return _from_row(row) if row else None


def active_builds(env_key: str | None = None, store: Store | None = None) -> list[BuildRecord]:
    """Pending or running builds (of one environment), oldest first."""
    store = store or open_store()
    sql = "SELECT * FROM env_builds WHERE status IN ('pending', 'running')"
    args: tuple[Any, ...] = ()
    if env_key is not None:
        sql += " AND env_key = ?"
        args = (env_key,)
    return [_from_row(row) for row in store.query(sql + " ORDER BY created_at", args)]
