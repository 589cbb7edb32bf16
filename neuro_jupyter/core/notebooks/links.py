"""The executed notebook of a bake task, and the links front ends show for it.

A task records its notebook as a path relative to the project (``TaskRecord.notebook``, from
``::notebook::``). It is only ever resolved inside the project: a task's output cannot make a
view link, or the server render, a file elsewhere. Views get the contract's object
``{"path", "lab_url", "html_url"}`` (``notebook_json``), or None when the task wrote none or
the file is not in the project on this machine (e.g. written on a remote Ray node).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from ..store.bakes import TaskRecord

API_PATH = "neuro-jupyter/api"  # the server extension's REST routes, under the base URL
HTML_ROUTE = "projects/{pk}/bakes/{bake}/tasks/{task}/notebook.html"


@dataclass(frozen=True)
class TaskNotebook:
    """A task's executed notebook: its path in the project and whether it is there."""

    path: str  # POSIX, relative to the project
    absolute: Path

    @property
    def exists(self) -> bool:
        return self.absolute.is_file()


def task_notebook(project_root: Path, task: TaskRecord) -> TaskNotebook | None:
    """The notebook ``task`` recorded, if it names a path inside the project."""
    if not task.notebook:
        return None
    relative = PurePosixPath(task.notebook)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return None
    absolute = project_root / relative
    try:
        absolute.resolve().relative_to(project_root.resolve())  # a symlink may not lead out
    except (ValueError, OSError):
        return None
    return TaskNotebook(relative.as_posix(), absolute)


def _slashed(base_url: str) -> str:
    return "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"


def lab_url(absolute: Path, *, base_url: str, root_dir: Path | str | None) -> str | None:
    """``<base_url>lab/tree/<path>``, which opens the file in JupyterLab, when it is under the
    server's root folder and not in a hidden folder (which Jupyter does not serve); else None."""
    if root_dir is None:
        return None
    try:
        relative = absolute.resolve().relative_to(Path(root_dir).expanduser().resolve())
    except (ValueError, OSError):
        return None
    if any(part.startswith(".") for part in relative.parts):
        return None
    return f"{_slashed(base_url)}lab/tree/{quote(relative.as_posix())}"


def html_url(base_url: str, *, pk: int, bake_id: str, task_id: str, attempt: int) -> str:
    """The REST URL of a task's notebook rendered as HTML (``server.handlers``)."""
    route = HTML_ROUTE.format(pk=pk, bake=quote(bake_id, safe=""), task=quote(task_id, safe=""))
    return f"{_slashed(base_url)}{API_PATH}/{route}?attempt={attempt}"


def notebook_json(project_root: Path, task: TaskRecord, *, pk: int, base_url: str,
                  root_dir: Path | str | None) -> dict[str, Any] | None:
    """The ``notebook`` field of a task in views: None, or ``{"path", "lab_url", "html_url"}``."""
    found = task_notebook(project_root, task)
    if found is None or not found.exists:
        return None
    return {
        "path": found.path,
        "lab_url": lab_url(found.absolute, base_url=base_url, root_dir=root_dir),
        "html_url": html_url(base_url, pk=pk, bake_id=task.bake_id, task_id=task.full_id,
                             attempt=task.attempt),
    }
