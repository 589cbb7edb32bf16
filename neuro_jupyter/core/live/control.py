"""``kill``: stop one job, a multi job's suffix, or ALL running jobs of a project."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..backends.records import request_stop, wait_stopped
from ..errors import InvalidInputError
from ..store.jobs import JobRecord, job_label, latest_job
from ..store.projects import project_pk
from .query import active_runs, pick_suffix, recent_suffixes, recorded_infos

if TYPE_CHECKING:
    from ..project.discovery import Project
    from ..workflow.model import LiveJobInfo

DEFAULT_GRACE = 10.0


def kill_job(
    project: Project, job_id: str, suffix: str = "", *, grace: float = DEFAULT_GRACE,
    wait: bool = True,
) -> list[str]:
    """Stop a job (``ALL``: every running job of the project) and, with ``wait``, wait for the
    end; returns one message per job. A job that is not running gets a message, not an error."""
    if job_id == "ALL":
        if suffix:
            raise InvalidInputError(f"kill ALL takes no suffix (got {suffix!r})")
        targets = active_runs(project)
        if not targets:
            return ["No running jobs"]
    else:
        infos, _ = recorded_infos(project, job_id)
        suffix = _suffix_for_kill(project, job_id, suffix, infos)
        label = job_label(job_id, suffix)
        targets = [r for r in active_runs(project, job_id) if r.suffix == suffix]
        if not targets:
            return [_not_running(project, job_id, suffix, label)]
    requested = [request_stop(r) for r in targets]
    if not wait:
        return [f"Stopping job {r.label} ({r.raw_id})" for r in requested]
    ended = {r.raw_id: r for r in wait_stopped(requested, grace=grace)}
    return [_message(ended[r.raw_id]) for r in requested]


def _suffix_for_kill(
    project: Project, job_id: str, suffix: str, infos: dict[str, LiveJobInfo]
) -> str:
    info = infos.get(job_id)
    if info is not None and info.multi and not suffix:
        runs = {r.suffix for r in active_runs(project, job_id)}
        if not runs:
            return ""
    return pick_suffix(project, job_id, suffix, infos)


def _not_running(project: Project, job_id: str, suffix: str, label: str) -> str:
    """Why there is nothing to kill: the last run's state, or the multi job's earlier suffixes."""
    last = latest_job(project_pk(project), job_id, suffix)
    if last is not None:
        return f"Job {label} is not running (last run {last.raw_id}: {last.status})"
    earlier = recent_suffixes(project, job_id) if not suffix else []
    if earlier:
        return f"Job {label} is not running (earlier runs: {', '.join(earlier)})"
    return f"Job {label} is not running (never run)"


def _message(record: JobRecord) -> str:
    if record.active:
        return f"Job {record.label} ({record.raw_id}) did not stop yet; it is {record.status}"
    return f"Killed job {record.label} ({record.raw_id}): {record.status}"
