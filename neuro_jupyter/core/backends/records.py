"""Live-job records seen through the backend that runs each job: refresh, stop, wait, log.

Every reader (ps, status, logs, kill, the panel, REST) goes through here, so a job shows the
same state whichever backend runs it: local jobs through their supervisor process
(``local/supervision.py``), Ray jobs through the cluster (``ray/records.py``).
"""

from __future__ import annotations

from ..store.jobs import JobRecord
from .local.supervision import check_record
from .local.supervision import request_stop as local_request_stop
from .local.supervision import wait_stopped as local_wait_stopped
from .target import BackendTarget


def _is_ray(record: JobRecord) -> bool:
    return BackendTarget.parse(record.backend).name == "ray"


def refresh_record(record: JobRecord) -> JobRecord:
    """The record with the job's current state (a dead supervisor, a job Ray finished)."""
    if not record.active:
        return record
    if _is_ray(record):
        from .ray.records import refresh_record as ray_refresh

        return ray_refresh(record)
    return check_record(record)


def request_stop(record: JobRecord) -> JobRecord:
    """Ask the job to stop (SIGTERM, SIGKILL after a grace period); returns at once."""
    if _is_ray(record):
        from .ray.records import request_stop as ray_request_stop

        return ray_request_stop(record)
    return local_request_stop(record)


def wait_stopped(records: list[JobRecord], *, grace: float = 10.0) -> list[JobRecord]:
    """Wait until the jobs' ends are recorded (local ones are killed after ``grace``)."""
    local = [r.raw_id for r in records if not _is_ray(r)]
    remote = [r.raw_id for r in records if _is_ray(r)]
    ended = {r.raw_id: r for r in local_wait_stopped(local, grace=grace)} if local else {}
    if remote:
        from .ray.records import wait_stopped as ray_wait_stopped

        ended.update({r.raw_id: r for r in ray_wait_stopped(remote, wait=grace + 5)})
    return [ended[r.raw_id] for r in records]


def sync_log(record: JobRecord) -> None:
    """Bring the local copy of the job's log up to date (Ray jobs; local logs are files)."""
    if record.active and _is_ray(record):
        from .ray.records import sync_log as ray_sync_log

        ray_sync_log(record)
