"""Project records: every project created or opened, for the Projects views."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DiskFullError, NotFoundError
from .db import Store, open_store

if TYPE_CHECKING:
    from ..project.discovery import Project


@dataclass(frozen=True)
class ProjectRecord:
    """A row of the projects table."""

    pk: int
    root: Path
    project_id: str
    name: str
    created_at: float
    opened_at: float


def record_project(project: Project, store: Store | None = None) -> int:
    """Insert or refresh the project's row; return its primary key."""
    return ensure_project(project.root, project.id, project.name, store)


def ensure_project(root: Path | str, project_id: str, name: str, store: Store | None = None,
                   *, refresh: bool = True) -> int:
    """The key of the project at ``root``, its row inserted if it is new and (``refresh``)
    brought up to date if not. On a full disk an existing row is left as it is: opening a
    project for reading must not need space."""
    store = store or open_store()
    now = time.time()
    update = (" ON CONFLICT (root) DO UPDATE SET project_id = excluded.project_id,"
              " name = excluded.name, opened_at = excluded.opened_at") if refresh else \
        " ON CONFLICT (root) DO NOTHING"
    try:
        with store.tx() as conn:
            conn.execute(
                "INSERT INTO projects (root, project_id, name, created_at, opened_at)"
                " VALUES (?, ?, ?, ?, ?)" + update,
                (str(root), project_id, name, now, now),
            )
    except DiskFullError:
        if store.query_one("SELECT pk FROM projects WHERE root = ?", (str(root),)) is None:
            raise
    row = store.query_one("SELECT pk FROM projects WHERE root = ?", (str(root),))
    assert row is not None
    return int(row[0])


def project_pk(project: Project, store: Store | None = None) -> int:
    """The primary key of a project, recording it if it is new."""
    store = store or open_store()
    row = store.query_one("SELECT pk FROM projects WHERE root = ?", (str(project.root),))
    return int(row[0]) if row else record_project(project, store)


def list_projects(store: Store | None = None) -> list[ProjectRecord]:
    """Every recorded project, most recently opened first."""
    store = store or open_store()
    rows = store.query("SELECT * FROM projects ORDER BY opened_at DESC")
    return [_record(row) for row in rows]


def get_project(pk: int, store: Store | None = None) -> ProjectRecord:
    """One project record by primary key."""
    store = store or open_store()
    row = store.query_one("SELECT * FROM projects WHERE pk = ?", (pk,))
    if row is None:
        raise NotFoundError(f"No project with key {pk}")
    return _record(row)


def same_id_roots(project: Project, store: Store | None = None) -> list[Path]:
    """Other recorded folders, still there, whose project has ``project``'s id (a copied
    project keeps its ``project.yml``): they share ``storage:`` volumes with it."""
    from ..errors import NeuroJupyterError
    from ..project.discovery import open_project

    store = store or open_store()
    rows = store.query("SELECT root FROM projects WHERE project_id = ? AND root != ?",
                       (project.id, str(project.root)))
    roots = []
    for row in rows:
        root = Path(row["root"])
        try:  # the record may be older than the folder's project.yml
            if open_project(root, record=False).id == project.id:
                roots.append(root)
        except (NeuroJupyterError, OSError):
            continue
    return roots


def shared_ids(records: list[ProjectRecord]) -> dict[int, list[Path]]:
    """For each record (by key), the other recorded folders, still there, with its id."""
    present = [r for r in records if (r.root / ".neuro").is_dir()]
    return {r.pk: [o.root for o in present if o.project_id == r.project_id and o.pk != r.pk]
            for r in records}


def shared_id_note(project_id: str, others: list[Path]) -> str:
    """What to tell the user of a project whose id other folders have too."""
    where = ", ".join(str(p) for p in others[:3]) + (" ..." if len(others) > 3 else "")
    return (f"project id '{project_id}' is also the id of {where} (a copy?): they share "
            "storage: volumes; give each project its own `id:` in .neuro/project.yml")


def _record(row: object) -> ProjectRecord:
    r = row  # sqlite3.Row
    return ProjectRecord(
        pk=int(r["pk"]), root=Path(r["root"]), project_id=r["project_id"], name=r["name"],  # type: ignore[index]
        created_at=float(r["created_at"]), opened_at=float(r["opened_at"]),  # type: ignore[index]
    )
