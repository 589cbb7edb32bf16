"""The recorded projects as table rows, shared by the magics and the CLI."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..store.projects import ProjectRecord, list_projects

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


def text_table(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> str:
    """Left-aligned columns separated by two spaces, under a header."""
    table = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table
    )
