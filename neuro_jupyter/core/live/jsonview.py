"""Live jobs as plain JSON data: what the REST API answers and the notebook jobs panel reads
from its kernel, so both transports give the browser the same objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backends.target import BackendTarget
from ..errors import NotFoundError
from ..store.jobs import JobRecord
from ..store.projects import get_project
from .query import ps_page, running_jobs
from .render import job_environment
from .urls import live_url

if TYPE_CHECKING:
    from ..project.discovery import Project

_RUN_FIELDS = (
    "raw_id", "project_pk", "job_id", "suffix", "backend", "status", "reason", "exit_code",
    "signal", "http_port", "life_span", "created_at", "started_at", "finished_at",
)


def backend_json(stored: str | None) -> dict[str, str | None]:
    """A stored backend (``local``, ``ray@URL``; None for a job never run) as front ends show it:
    ``backend_name`` for a tag and ``backend_label`` (``ray (URL)``)."""
    if stored is None:
        return {"backend_name": None, "backend_label": None}
    target = BackendTarget.parse(stored)
    return {"backend_name": target.name, "backend_label": target.label}


def job_json(record: JobRecord, base_url: str | None) -> dict[str, Any]:
    """One run of a job (its process spec stays on the server), with the link to its web UI
    under the Jupyter server's ``base_url`` while it runs."""
    data: dict[str, Any] = {name: getattr(record, name) for name in _RUN_FIELDS}
    data["label"] = record.label
    data["when"] = record.when
    data["url"] = live_url(record, base_url)
    data["preset"] = record.meta.get("preset")
    data["preset_note"] = record.meta.get("preset_note")
    data["environment"] = job_environment(record)
    data.update(backend_json(record.backend))
    return data


def job_rows_json(project: Project, base_url: str | None) -> dict[str, Any]:
    """``{"jobs": rows}`` (ps rows: every live.yml job and every suffix that ran), plus
    ``"warning"`` when live.yml does not load: the rows are then the runs in the store."""
    page = ps_page(project, limit=None)
    rows = []
    for row in page.rows:
        backend = row.record.backend if row.record else None
        rows.append({
            "job_id": row.job_id,
            "suffix": row.suffix,
            "label": row.label,
            "status": row.status,
            "multi": row.multi,
            "title": row.title,
            "browse": row.browse,
            "params": dict(row.params),
            "raw_id": row.raw_id,
            "backend": backend,
            **backend_json(backend),
            "when": row.when,
            "url": live_url(row.record, base_url),
            "preset_note": row.record.meta.get("preset_note") if row.record else None,
            "environment": job_environment(row.record) if row.record else None,
        })
    return {"jobs": rows, "warning": page.warning} if page.warning else {"jobs": rows}


def running_json(base_url: str | None) -> dict[str, Any]:
    """``{"jobs": runs}``: the pending and running jobs of every project, each run with its
    ``project`` (``{"pk", "name"}``)."""
    names: dict[int, str] = {}
    runs = []
    for record in running_jobs():
        if record.project_pk not in names:
            try:
                names[record.project_pk] = get_project(record.project_pk).name
            except NotFoundError:  # a run whose project row is gone still shows
                names[record.project_pk] = ""
        run = job_json(record, base_url)
        run["project"] = {"pk": record.project_pk, "name": names[record.project_pk]}
        runs.append(run)
    return {"jobs": runs}
