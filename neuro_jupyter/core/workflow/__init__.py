"""The workflow language: load ``.neuro/`` files, evaluate ``${{ }}``, resolve jobs and tasks.

Public API (used by live jobs, bakes, the CLI, magics and the server):
``live_jobs``, ``resolve_live_job``, ``live_images``, ``list_batches``, ``plan_batch``, ``batch_ref_errors``,
``check_paths``, ``check_project``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .limits import budgeted
from .model import JobSpec, LiveJobInfo

if TYPE_CHECKING:
    from ..errors import WorkflowError
    from ..project import Project
    from .batch_api import BatchPlan


def _workspace(project: Project, overlay: Mapping[str, str] | None = None) -> Any:
    from .loader import Workspace

    return Workspace(root=Path(project.root), project=project, overlay=dict(overlay or {}))


@budgeted
def live_jobs(project: Project) -> list[LiveJobInfo]:
    """Static facts of every job in the project's live flow (for ps, panels, completion)."""
    from .live import live_jobs as _live_jobs

    return _live_jobs(_workspace(project))


@budgeted
def resolve_live_job(project: Project, job_id: str, *, suffix: str = "",
                     params: Mapping[str, Any] | None = None,
                     multi_args: Sequence[str] = ()) -> JobSpec:
    """Evaluate live job ``job_id`` for one run; raises UnknownNameError listing the jobs."""
    from .live import resolve_live_job as _resolve

    return _resolve(_workspace(project), job_id, suffix=suffix, params=params or {},
                    multi_args=tuple(multi_args))


def live_images(project: Project) -> dict[str, dict[str, Any]]:
    """The evaluated ``images.<id>`` of the live flow (project.yml's included), by id."""
    from .live import live_images as _live_images

    return _live_images(_workspace(project))


def list_batches(project: Project) -> list[str]:
    """Names of the project's batch flows (``.neuro/<name>.yml`` except live and project)."""
    return _workspace(project).batch_names()


@budgeted
def plan_batch(project: Project, batch: str, *, params: Mapping[str, Any] | None = None,
               overlay: Mapping[str, str] | None = None) -> BatchPlan:
    """Load, check and plan batch ``batch``; ``overlay`` maps relative paths to file text."""
    from ..gcpause import gc_paused
    from .batch import plan_batch as _plan

    with gc_paused():
        return _plan(_workspace(project, overlay), batch, params=params or {})


def batch_ref_errors(plan: BatchPlan) -> list[WorkflowError]:
    """Reference errors of a built plan (unknown matrix key, param, need...), as ``check``
    reports them, without planning again (``start_bake`` refuses a flow that has any)."""
    from .check import batch_ref_errors as _refs

    return _refs(plan)


@budgeted
def check_paths(paths: Sequence[str | Path]) -> list[WorkflowError]:
    """Static validation of the given workflow files (every error, not just the first)."""
    from ..gcpause import gc_paused
    from .check import check_paths as _check

    with gc_paused():
        return _check([Path(p) for p in paths])


@budgeted
def check_project(project: Project) -> list[WorkflowError]:
    """Static validation of every workflow file of the project."""
    from ..gcpause import gc_paused
    from .check import check_project as _check

    with gc_paused():
        return _check(Path(project.root))


__all__ = ["batch_ref_errors", "check_paths", "check_project", "list_batches", "live_images",
           "live_jobs", "plan_batch", "resolve_live_job"]
