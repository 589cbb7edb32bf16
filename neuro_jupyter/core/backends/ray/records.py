"""Live jobs on Ray: their store records kept up to date from the cluster.

Ray supervises the job, so there is no supervisor process of ours: a reader that refreshes a
record asks the cluster, copies the log, and records the end once (``finish_job`` writes only
while the row is active). ``life_span`` is enforced here too: a reader past it stops the job.
A cluster that readers find silent for ``LOST_AFTER`` seconds in a row (it was deleted, or its
head died) has its jobs recorded as failed ("lost"), as the bake executor does with its tasks,
so ``logs -f`` and the panel stop waiting and ``run`` can start the job again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

from ...errors import BackendError
from ...store.jobs import JobRecord, finish_job, get_job_record, update_job
from ..base import ProcessSpec
from ..local.specio import spec_to_dict
from ..restart import life_span_ended
from ..target import BackendTarget
from .client import RayJobNotFoundError, RayUnreachableError
from .entrypoint import TIMED_OUT
from .execution import GIVE_UP_AFTER, RayExecution
from .jobs import log_head, save_log, state, stop, submit

LOG_EVERY = 0.5  # seconds between copies of a running job's log for one reader process
LOST_AFTER = GIVE_UP_AFTER  # seconds of silence of the cluster before a job is recorded lost
SILENT_GAP = 60.0  # failed reads further apart than this do not make one silence
SILENT_WRITE_EVERY = 10.0  # seconds between store writes of the silence's last read
SILENT_KEY = "ray_silent"  # meta: [first, last] wall times a reader found the cluster silent
_LOGGED: dict[str, float] = {}


def address_of(record: JobRecord) -> str:
    return BackendTarget.parse(record.backend).address


def start_recorded(
    address: str, spec: ProcessSpec, raw_id: str, labels: Mapping[str, str]
) -> RayExecution:
    """Submit live job ``raw_id`` (its row must exist), recording what runs and how Ray runs
    it (``ray_entrypoint``: readers leave that line out of the log); a refusal is recorded."""
    update_job(raw_id, spec=spec_to_dict(spec))
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    spec.log_path.touch()
    head = log_head(spec.log_path)
    try:
        command = submit(address, spec, raw_id, labels)
    except BackendError as exc:
        finish_job(raw_id, "failed", reason=str(exc))
        raise
    meta = {**get_job_record(raw_id).meta, "ray_entrypoint": command, "ray_log_head": head}
    update_job(raw_id, meta=meta)
    return RayExecution(address, raw_id, spec.log_path, spec.life_span, command, head)


def _command(record: JobRecord) -> str:
    return str(record.meta.get("ray_entrypoint") or "")


def _head(record: JobRecord) -> int:
    return int(record.meta.get("ray_log_head") or 0)


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
    except RayUnreachableError:
        return _silent(record, address)
    if SILENT_KEY in record.meta:  # the cluster answers again
        meta = {key: value for key, value in record.meta.items() if key != SILENT_KEY}
        update_job(record.raw_id, only_if_active=True, meta=meta)
        record = dataclasses.replace(record, meta=meta)
    if current.exit is not None:
        try:
            save_log(address, record.raw_id, record.log_path, _command(record), _head(record))
        except BackendError:
            pass
        info = current.exit
        asked = str(record.meta.get("stop_reason") or "")
        fails = bool(record.meta.get("stop_fails"))  # a stop at the end of the life span
        if record.life_span and info.exit_code == TIMED_OUT and not asked:  # the node's timeout
            asked, fails = life_span_ended(record.life_span), True
        status, reason = current.status, info.reason
        if status != "succeeded" and fails:
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
    stop_asked = bool(record.meta.get("stop_reason"))  # once, not again on every refresh
    if record.life_span and time.time() >= started + record.life_span and not stop_asked:
        _stop(record, life_span_ended(record.life_span), fails=True)
    return record


def _silent(record: JobRecord, address: str) -> JobRecord:
    """The record of a job whose cluster does not answer: as stored, with a reason saying so;
    recorded as failed once the cluster has been silent for ``LOST_AFTER`` seconds."""
    now = time.time()
    first, last = _silence(record)
    if now - last > SILENT_GAP:  # the first failed read, or one long after the previous
        first = now
    if now - first >= LOST_AFTER:
        finish_job(record.raw_id, "failed", reason=(
            f"lost: the Ray cluster at {address} has not answered for {now - first:.0f}s, "
            "so the job's end is unknown"))
        return get_job_record(record.raw_id)
    if now - last >= SILENT_WRITE_EVERY:
        meta = {**record.meta, SILENT_KEY: [first, now]}
        update_job(record.raw_id, only_if_active=True, meta=meta)
        record = dataclasses.replace(record, meta=meta)
    return dataclasses.replace(
        record, reason=f"state unknown: the Ray cluster at {address} does not answer")


def _silence(record: JobRecord) -> tuple[float, float]:
    """When readers first and last found the job's cluster silent (0.0, 0.0: never)."""
    value = record.meta.get(SILENT_KEY)
    if isinstance(value, list) and len(value) == 2:
        try:
            return float(value[0]), float(value[1])
        except (TypeError, ValueError):
            pass
    return 0.0, 0.0


def request_stop(record: JobRecord, reason: str = "killed") -> JobRecord:
    """Ask the cluster to stop the job; returns at once."""
    record = refresh_record(record)
    if record.active:
        _stop(record, reason)
    return record


def _stop(record: JobRecord, reason: str, *, fails: bool = False) -> None:
    """Ask the cluster to stop the job, recording why once: a kill (the job is cancelled) or,
    with ``fails``, the end of its life span (the job failed)."""
    meta = dict(record.meta)
    if not meta.get("stop_reason"):
        meta["stop_reason"], meta["stop_fails"] = reason, fails
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
        save_log(address_of(record), record.raw_id, record.log_path, _command(record),
                 _head(record))
    except BackendError:
        pass
