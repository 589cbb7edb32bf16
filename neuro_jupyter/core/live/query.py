"""Reading live jobs: ps rows (paged), one job's latest run, records refreshed for liveness."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..backends.records import refresh_record
from ..errors import InvalidInputError, NotFoundError, UnknownNameError
from ..store.jobs import (
    JobRecord,
    active_jobs,
    find_jobs,
    get_job_record,
    history,
    job_label,
    latest_job,
    ps_keys,
    recorded_jobs,
)
from ..store.projects import project_pk

if TYPE_CHECKING:
    from ..project.discovery import Project
    from ..workflow.model import LiveJobInfo

DEFAULT_PAGE = 50


@dataclass(frozen=True)
class JobRow:
    """One row of ps: a job (or a multi job's suffix) and its latest run, if any."""

    job_id: str
    suffix: str
    status: str  # pending|running|succeeded|failed|cancelled, or unknown when never run
    record: JobRecord | None
    multi: bool = False
    title: str = ""  # the job's title: (or its action's name); '' when it has neither
    browse: bool = False  # live.yml's browse: open its web page once it runs
    params: Mapping[str, str | None] = field(default_factory=dict)  # name -> default (None: required)

    @property
    def label(self) -> str:
        return job_label(self.job_id, self.suffix)

    @property
    def raw_id(self) -> str | None:
        return self.record.raw_id if self.record else None

    @property
    def when(self) -> float | None:
        return self.record.when if self.record else None


@dataclass(frozen=True)
class PsPage:
    """A page of ps rows and the total number of rows."""

    rows: list[JobRow]
    total: int
    offset: int
    limit: int | None = None
    warning: str = ""  # why live.yml's jobs are missing (it does not load): rows are the runs

    def footer(self, command: str) -> str:
        """``Page 2 of 5 (230 rows): COMMAND --page N`` when the rows need more than one page."""
        if not self.limit or not (self.total > self.offset + len(self.rows) or self.offset):
            return ""
        number = self.offset // self.limit + 1
        last = max(1, (self.total + self.limit - 1) // self.limit)
        return f"Page {number} of {last} ({self.total} rows): {command} --page N"


def get_job(raw_id: str) -> JobRecord:
    """One job by raw id, refreshed."""
    return refresh_record(get_job_record(raw_id))


def job_infos(project: Project) -> dict[str, LiveJobInfo]:
    """The project's live jobs from .neuro/live.yml, by id."""
    from ..workflow import live_jobs

    return {info.job_id: info for info in live_jobs(project)}


def recorded_infos(
    project: Project, job_id: str | None = None
) -> tuple[dict[str, LiveJobInfo], str]:
    """The live jobs by id for reading recorded runs (ps, logs, status, kill): from live.yml,
    or, when it does not load, from the runs in the store, with the error as a warning; so a
    broken edit of live.yml never hides or strands running jobs. A ``job_id`` that never ran
    gets the file's error itself."""
    from ..errors import WorkflowError, WorkflowErrors
    from ..workflow.model import LiveJobInfo

    try:
        return job_infos(project), ""
    except (WorkflowError, WorkflowErrors) as exc:
        infos = {
            known: LiveJobInfo(job_id=known, title="", multi=multi, detach=False,
                                browse=False, params={})
            for known, multi in recorded_jobs(project_pk(project)).items()
        }
        if job_id is not None and job_id not in infos:
            raise
        return infos, f"{exc}\n(live.yml does not load: only jobs that ran are shown)"


def ps_page(
    project: Project, *, limit: int | None = DEFAULT_PAGE, offset: int = 0, page: int | None = None
) -> PsPage:
    """One page of ps rows ordered by job and suffix; jobs never run show as unknown.
    ``page`` (1-based, with ``limit``) sets the offset."""
    if limit is not None:
        limit = max(1, limit)
        if page is not None:
            offset = (max(1, page) - 1) * limit
    infos, warning = recorded_infos(project)
    keys, total = ps_keys(project_pk(project), list(infos), limit=limit, offset=offset)
    records = find_jobs([raw for _, _, raw in keys if raw])
    rows = []
    for job_id, suffix, raw_id in keys:
        record = refresh_record(records[raw_id]) if raw_id else None
        info = infos.get(job_id)
        rows.append(JobRow(
            job_id=job_id, suffix=suffix, status=record.status if record else "unknown",
            record=record, multi=bool(info and info.multi),
            title=info.display_title if info else "", browse=bool(info and info.browse),
            params=dict(info.params) if info else {},
        ))
    return PsPage(rows=rows, total=total, offset=offset, limit=limit, warning=warning)


def list_jobs(project: Project, *, limit: int | None = None, offset: int = 0) -> list[JobRow]:
    """ps rows (all of them unless ``limit``)."""
    return ps_page(project, limit=limit, offset=offset).rows


def active_runs(project: Project, job_id: str | None = None) -> list[JobRecord]:
    """The project's pending and running jobs (optionally of one job id), refreshed."""
    found = [refresh_record(r) for r in active_jobs(project_pk(project), job_id)]
    return [r for r in found if r.active]


def running_jobs() -> list[JobRecord]:
    """The pending and running jobs of every project, refreshed, oldest first (for views of
    everything that runs, such as JupyterLab's Running panel)."""
    found = [refresh_record(r) for r in active_jobs()]
    return [r for r in found if r.active]


def pick_suffix(project: Project, job_id: str, suffix: str, infos: dict[str, LiveJobInfo]) -> str:
    """The suffix to act on: as given; for a multi job without one, its only active run's."""
    if job_id not in infos:
        known = latest_job(project_pk(project), job_id, suffix)
        if known is None:
            raise UnknownNameError("job", job_id, infos, where=f"project {project.id}")
    info = infos.get(job_id)
    if info is not None and not info.multi and suffix:
        raise InvalidInputError(f"Job {job_id} is not a multi job: it takes no suffix")
    if info is not None and info.multi and not suffix:
        running = sorted({r.suffix for r in active_runs(project, job_id)})
        if len(running) == 1:
            return running[0]
        if running:
            listed = f"running: {', '.join(running)}"
        else:
            earlier = recent_suffixes(project, job_id)
            listed = "none running" + (f"; earlier runs: {', '.join(earlier)}" if earlier else "")
        raise InvalidInputError(
            f"Job {job_id} is a multi job: give its suffix ({listed}), e.g. {job_id} SUFFIX"
        )
    return suffix


def recent_suffixes(project: Project, job_id: str, most: int = 5) -> list[str]:
    """The suffixes of a multi job's latest runs, newest first (for hints in messages)."""
    found: list[str] = []
    for record in history(project_pk(project), job_id, limit=50):
        if record.suffix not in found:
            found.append(record.suffix)
    return found[:most]


def job_status(project: Project, job_id: str, suffix: str = "") -> JobRecord:
    """The latest run of a job (and suffix), refreshed."""
    infos, _ = recorded_infos(project, job_id)
    suffix = pick_suffix(project, job_id, suffix, infos)
    record = latest_job(project_pk(project), job_id, suffix)
    if record is None:
        raise NotFoundError(
            f"Job {job_label(job_id, suffix)} has not run in project {project.id} yet"
        )
    return refresh_record(record)
