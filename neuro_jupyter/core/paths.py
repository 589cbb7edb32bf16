"""Where neuro-jupyter keeps its state: one home folder, overridable with NEURO_JUPYTER_HOME."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "NEURO_JUPYTER_HOME"


def home() -> Path:
    """The state folder: ``$NEURO_JUPYTER_HOME``, else ``$XDG_DATA_HOME/neuro-jupyter``,
    else ``~/.local/share/neuro-jupyter``. Created on first use."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        path = Path(explicit).expanduser()
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
        path = base / "neuro-jupyter"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from .errors import StoreError

        raise StoreError(f"Cannot use {path} as the state folder ({HOME_ENV}): {exc}") from exc
    return path


def store_path() -> Path:
    """The SQLite state store file."""
    return home() / "state.db"


def _subdir(name: str) -> Path:
    """A folder of the state folder, created on first use."""
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def logs_dir() -> Path:
    """Folder of per-job and per-task log files."""
    return _subdir("logs")


def links_dir() -> Path:
    """Symlinks that stand for local folders a shell would split (``backends/local/aliases``)."""
    return _subdir("links")


def storage_dir() -> Path:
    """Local stand-in for Neu.ro's ``storage:`` (see ``storage_path``)."""
    return _subdir("storage")


def storage_path(uri: str, project_id: str) -> Path:
    """Map a ``storage:`` or ``disk:`` URI to a local folder.

    ``storage:/a/b`` → ``<home>/storage/a/b``; ``storage:a/b`` (relative, as on Neu.ro where
    relative paths live in the project) → ``<home>/storage/<project_id>/a/b``;
    ``disk:<id>`` → ``<home>/storage/.disks/<id>``. ``..`` never leaves the storage folder.
    """
    from .errors import InvalidInputError

    root = storage_dir()
    if uri.startswith("disk:"):
        rel = Path(".disks") / uri[len("disk:") :].strip("/")
    elif uri.startswith("storage:"):
        rest = uri[len("storage:") :]
        if rest.startswith("//"):  # storage://cluster/org/project/path → drop the cluster part
            rest = "/" + rest[2:].partition("/")[2]
        rel = Path(rest.lstrip("/")) if rest.startswith("/") else Path(project_id) / rest
    else:
        raise InvalidInputError(f"Not a storage or disk URI: {uri!r}")
    target = (root / rel).resolve()
    if target != root.resolve() and root.resolve() not in target.parents:
        raise InvalidInputError(f"Storage path escapes the storage folder: {uri!r}")
    return target
