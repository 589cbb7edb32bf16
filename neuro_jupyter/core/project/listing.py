"""The recorded projects as table rows, shared by the magics and the CLI."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..store.projects import ProjectRecord, list_projects, shared_ids
from ..tables import text_table

HEADER = ("ID", "NAME", "FOLDER", "OPENED")
SHARED = "*"  # marks an id that several folders have
SHARED_NOTE = (f"{SHARED} the same id in several folders (copies?): they share storage: "
               "volumes; give each its own `id:` in .neuro/project.yml")


def project_rows(records: Sequence[ProjectRecord] | None = None) -> list[tuple[str, str, str, str]]:
    """One row per recorded project (most recently opened first); a gone folder is marked,
    and so is an id that several folders have (``SHARED``)."""
    records = list_projects() if records is None else list(records)
    shared = shared_ids(records)
    return [
        (
            r.project_id + (SHARED if shared[r.pk] else ""),
            r.name,
            str(r.root) + ("" if r.root.is_dir() else "  (missing)"),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.opened_at)),
        )
        for r in records
    ]


def projects_note(rows: Sequence[Sequence[str]]) -> str:
    """The note under the table when an id is marked ``SHARED``, else ""."""
    return SHARED_NOTE if any(row[0].endswith(SHARED) for row in rows) else ""


def projects_text(rows: Sequence[Sequence[str]]) -> str:
    """The projects table (ID NAME FOLDER OPENED), without a rule as before, and its note."""
    note = projects_note(rows)
    return text_table(HEADER, rows, rule=False) + (f"\n\n{note}" if note else "")
