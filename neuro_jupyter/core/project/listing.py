"""The recorded projects as table rows, shared by the magics and the CLI."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..store.projects import ProjectRecord, list_projects
from ..tables import text_table

HEADER = ("ID", "NAME", "FOLDER", "OPENED")


def project_rows(records: Sequence[ProjectRecord] | None = None) -> list[tuple[str, str, str, str]]:
    """One row per recorded project (most recently opened first); a gone folder is marked."""
    records = list_projects() if records is None else records
    return [
        (
            r.project_id,
            r.name,
            str(r.root) + ("" if r.root.is_dir() else "  (missing)"),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.opened_at)),
        )
        for r in records
    ]


def projects_text(rows: Sequence[Sequence[str]]) -> str:
    """The projects table (ID NAME FOLDER OPENED), without a rule as before."""
    return text_table(HEADER, rows, rule=False)
