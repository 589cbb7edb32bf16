"""Live jobs on Ray: their store records kept up to date from the cluster.

Ray supervises the job, so there is no supervisor process of ours: a reader that refreshes a
record asks the cluster, copies the log, and records the end once (``finish_job`` writes only
while the row is active). ``life_span`` is enforced here too: a reader past it stops the job.
"""

from __future__ import annotations

import dataclasses
import time

from ...errors import BackendError
from ...store.jobs import JobRecord, finish_job, get_job_record, update_job
from ..target import BackendTarget
from .client import RayJobNotFoundError, RayUnreachableError
from .jobs import save_log, state, stop

LOG_EVERY = 0.5  # seconds between copies of a running job's log for one reader process
_LOGGED: dict[str, float] = {}


def address_of(record: JobRecord) -> str:
    return BackendTarget.parse(record.backend).address


def _command(record: JobRecord) -> str:
    return str(record.meta.get("ray_entrypoint") or "")


def refresh_record(record: JobRecord) -> JobRecord:
    """The record as the cluster sees the job now (recorded in the store when it changed).
    An unreachable cluster leaves the stored record as it is; the one returned says why."""
    if not record.active:
        return record
    address = address_of(record)
    try:
        current = state(address, record.raw_id)
    except RayJobNotFoundError as exc:
        finish_job(record.raw_id, "failed", reason=str(exc))
        return get_job_record(record.raw_id)
    except RayUnreachableError as exc:
        return dataclasses.replace(record, reason=str(exc))
    if current.exit is not None:
        try:
            save_log(address, record.raw_id, record.log_path, _command(record))
        except BackendError:
            pass
        info = current.exit
        asked = str(record.meta.get("stop_reason") or "")
        status, reason = current.status, info.reason
        if status != "succeeded" and asked.startswith("life span"):
            status, reason = "failed", asked
        elif status != "succeeded" and (asked or status == "cancelled"):
            status, reason = "cancelled", asked or reason
        finish_job(record.raw_id, status, reason="" if status == "succeeded" else reason,
                   exit_code=info.exit_code, signal=info.signal)
        return get_job_record(record.raw_id)
    if current.status == "running" and record.status == "pending":
        update_job(record.raw_id, only_if_active=True, status="running", started_at=time.time())
        record = get_job_record(record.raw_id)
    started = record.started_at or record.created_at
    if record.life_span and time.time() >= started + record.life_span:
        _stop(record, f"life span of {record.life_span:g}s ended")
    return record


def request_stop(record: JobRecord, reason: str = "killed") -> JobRecord:
    """Ask the cluster to stop the job; returns at once."""
    record = refresh_record(record)
    if record.active:
        _stop(record, reason)
    return record


def _stop(record: JobRecord, reason: str) -> None:
    meta = dict(record.meta)
    if not meta.get("stop_reason"):
        meta["stop_reason"] = reason
        update_job(record.raw_id, only_if_active=True, meta=meta)
    stop(address_of(record), record.raw_id)


def wait_stopped(raw_ids: list[str], *, wait: float) -> list[JobRecord]:
    """Wait (up to ``wait`` seconds) until the cluster says the jobs ended."""
    end = time.monotonic() + wait
    while True:
        current = [refresh_record(get_job_record(raw_id)) for raw_id in raw_ids]
        if all(not r.active for r in current) or time.monotonic() >= end:
            return current
        time.sleep(0.2)


def sync_log(record: JobRecord) -> None:
    """Copy a running job's log from the cluster (at most every LOG_EVERY per job)."""
    if not record.active:
        return
    now = time.monotonic()
    if now - _LOGGED.get(record.raw_id, 0.0) < LOG_EVERY:
        return
    _LOGGED[record.raw_id] = now
    try:
        save_log(address_of(record), record.raw_id, record.log_path, _command(record))
    except BackendError:
        pass
