"""Fixtures for the local backend tests: a project folder and a helper that starts a job."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from waiting import wait_until

from neuro_jupyter.core import paths
from neuro_jupyter.core.backends.base import ProcessSpec, Resources
from neuro_jupyter.core.project import Project, open_project
from neuro_jupyter.core.store.jobs import JobRecord, get_job_record, insert_job
from neuro_jupyter.core.store.projects import project_pk


@pytest.fixture
def a_project(tmp_path: Path) -> Project:
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    return open_project(root)


StartJob = Callable[..., str]


@pytest.fixture
def start_job(a_project: Project) -> Iterator[StartJob]:
    """Start ``bash -c SCRIPT`` as a supervised detached job; returns its raw id."""
    from neuro_jupyter.core.backends.local import LocalBackend
    from neuro_jupyter.core.backends.local.supervision import kill_record

    started: list[str] = []

    def start(script: str, *, life_span: float | None = None, resources: Resources | None = None,
              restart: str = "never") -> str:
        raw_id = f"job-{uuid.uuid4()}"
        log = paths.logs_dir() / f"{raw_id}.log"
        insert_job(JobRecord(raw_id=raw_id, project_pk=project_pk(a_project), job_id="t",
                             created_at=time.time(), log_path=str(log)))
        spec = ProcessSpec(argv=("bash", "-c", script), workdir=a_project.root, log_path=log,
                           life_span=life_span, resources=resources or Resources(),
                           restart=restart)
        LocalBackend().start(spec, raw_id=raw_id, detached=True)
        started.append(raw_id)
        return raw_id

    yield start
    for raw_id in started:
        kill_record(get_job_record(raw_id), grace=0.5)


@pytest.fixture
def wait_for() -> Callable[..., object]:
    """``wait_for(predicate, timeout=20)``: poll until true, else fail."""
    return wait_until
