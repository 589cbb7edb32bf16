"""Live-job records seen through the backend that runs each job: refresh, stop, wait, log.

Every reader (ps, status, logs, kill, the panel, REST) goes through here, so a job shows the
same state whichever backend runs it: local jobs through their supervisor process
(``local/supervision.py``), Ray jobs through the cluster (``ray/records.py``); each backend
answers for its records (``Backend.refresh_record`` and the others).
"""

from __future__ import annotations

from ..store.jobs import JobRecord
from .base import Backend, get_backend
from .target import BackendTarget


def _backend(record: JobRecord) -> Backend:
    return get_backend(record.backend)


def refresh_record(record: JobRecord) -> JobRecord:
    """The record with the job's current state (a dead supervisor, a job Ray finished)."""
    if not record.active:
        return record
    return _backend(record).refresh_record(record)


def request_stop(record: JobRecord) -> JobRecord:
    """Ask the job to stop (SIGTERM, SIGKILL after a grace period); returns at once."""
    return _backend(record).request_stop(record)


def wait_stopped(records: list[JobRecord], *, grace: float = 10.0) -> list[JobRecord]:
    """Wait until the jobs' ends are recorded (local ones are killed after ``grace``)."""
    kinds: dict[str, list[JobRecord]] = {}  # one wait per kind of backend, whatever the address
    for record in records:
        kinds.setdefault(BackendTarget.parse(record.backend).name, []).append(record)
    ended: dict[str, JobRecord] = {}
    for group in kinds.values():
        ended.update({r.raw_id: r for r in _backend(group[0]).wait_stopped(group, grace=grace)})
    return [ended[r.raw_id] for r in records]


def sync_log(record: JobRecord) -> None:
    """Bring the local copy of the job's log up to date (Ray jobs; local logs are files)."""
    if record.active:
        _backend(record).sync_log(record)
