"""Start, check and stop supervised (detached) local jobs; notice dead supervisors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from ... import paths
from ...errors import BackendError, DiskFullError, NeuroJupyterError, NotFoundError, os_error
from ...store.jobs import JobRecord, finish_job, get_job_record, record_supervisor, update_job
from ..base import Execution, ExitInfo, ProcessSpec
from .procs import is_alive, kept, kill_group, signal_group, start_ticks
from .specio import spec_to_dict

SUPERVISOR_MODULE = "neuro_jupyter.core.backends.local.supervisor"
NEVER_STARTED_AFTER = 60.0  # seconds a pending job may wait for its supervisor to record itself


def hostname() -> str:
    return socket.gethostname()


def start_supervised(spec: ProcessSpec, raw_id: str) -> SupervisedExecution:
    """Start the supervisor of job ``raw_id`` (its row must exist) and record its identity."""
    try:
        get_job_record(raw_id)
    except NotFoundError as exc:
        raise BackendError(f"Cannot start {raw_id}: record the job in the store first") from exc
    try:
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        spec.log_path.touch()
    except OSError as exc:
        error = os_error(exc, spec.log_path.parent, f"creating the job's log {spec.log_path}")
        try:
            finish_job(raw_id, "failed", reason=str(error))
        except NeuroJupyterError:  # e.g. the same full disk: readers close it later
            pass
        raise error from exc
    update_job(raw_id, spec=spec_to_dict(spec), log_path=str(spec.log_path), host=hostname(),
               life_span=spec.life_span)
    env = {**os.environ, paths.HOME_ENV: str(paths.home())}
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", SUPERVISOR_MODULE, raw_id], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            close_fds=True, env=env, cwd=str(paths.home()),
        )
    except OSError as exc:
        finish_job(raw_id, "failed", reason=f"cannot start the supervisor: {exc}")
        raise BackendError(f"Cannot start the supervisor of {raw_id}: {exc}") from exc
    # the keeper's pid until the supervisor it forks records its own (never after that)
    record_supervisor(raw_id, proc.pid, start_ticks(proc.pid))
    _CHILDREN.append(proc)
    _reap()
    return SupervisedExecution(raw_id)


_CHILDREN: list[subprocess.Popen[bytes]] = []


def _reap() -> None:
    """Collect finished supervisors started by this process (no zombies in a long kernel)."""
    _CHILDREN[:] = [proc for proc in _CHILDREN if proc.poll() is None]


def check_record(record: JobRecord) -> JobRecord:
    """The record, marked failed with a reason if its supervisor died (or never started).

    Liveness is the pid plus its /proc start time, so a reused pid does not count as alive.
    Jobs of other hosts or backends are returned as they are.
    """
    _reap()
    if not record.active or record.backend != "local" or (record.host and record.host != hostname()):
        return record
    if record.supervisor_pid is None:
        if time.time() - record.created_at < NEVER_STARTED_AFTER:
            return record
        finish_job(record.raw_id, "failed", reason="the supervisor never started")
        return get_job_record(record.raw_id)
    if kept(record.supervisor_pid, record.supervisor_start):
        return record
    fresh = get_job_record(record.raw_id)  # it may have recorded the end just before exiting
    if not fresh.active:
        return fresh
    kill_group(fresh.pid, fresh.pid_start)  # supervisor and keeper gone: what is left of it
    try:
        finish_job(
            record.raw_id, "failed",
            reason=f"the supervisor (pid {record.supervisor_pid}) died; the job was stopped",
        )
    except DiskFullError:  # shown as it is until the disk has room to record it
        return fresh
    return get_job_record(record.raw_id)


def request_stop(record: JobRecord) -> JobRecord:
    """Ask a job to stop: SIGTERM to its supervisor, which sends SIGTERM to the job's process
    group, SIGKILL after its grace period, and records the job as cancelled. Returns at once."""
    record = check_record(record)
    if not record.active:
        return record
    if record.host and record.host != hostname():
        raise BackendError(f"{record.raw_id} runs on host {record.host}; kill it there")
    if record.supervisor_pid and is_alive(record.supervisor_pid, record.supervisor_start):
        if record.status == "pending" and not record.pid:
            # nothing runs yet (its supervisor may still be starting, or waiting for the job's
            # environment): cancelled now; the supervisor, told below, starts nothing
            finish_job(record.raw_id, "cancelled", reason="killed before it started")
        try:
            os.kill(record.supervisor_pid, signal.SIGTERM)
        except ProcessLookupError:
            return check_record(get_job_record(record.raw_id))
        return record
    finish_job(record.raw_id, "cancelled", reason="killed before it started")
    return get_job_record(record.raw_id)


def wait_stopped(raw_ids: list[str], *, grace: float = 10.0, wait: float | None = None) -> list[JobRecord]:
    """Wait until the jobs' ends are recorded; SIGKILL a job's group ourselves after ``grace``
    seconds (in case its supervisor is stuck). Gives up after ``wait`` (default grace + 5)."""
    limit = grace + 5 if wait is None else wait
    started = time.monotonic()
    escalated: set[str] = set()
    delay = 0.01
    while True:
        current = [check_record(get_job_record(raw_id)) for raw_id in raw_ids]
        elapsed = time.monotonic() - started
        if all(not r.active for r in current) or elapsed >= limit:
            return current
        for r in current:
            if r.active and elapsed >= grace and r.raw_id not in escalated and r.pid:
                if is_alive(r.pid, r.pid_start):
                    signal_group(r.pid, signal.SIGKILL)
                escalated.add(r.raw_id)
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def kill_record(record: JobRecord, *, grace: float = 10.0, wait: float | None = None) -> JobRecord:
    """Stop one job and wait for its end (see ``request_stop`` and ``wait_stopped``)."""
    record = request_stop(record)
    if not record.active:
        return record
    return wait_stopped([record.raw_id], grace=grace, wait=wait)[0]


class SupervisedExecution(Execution):
    """A detached job seen through its store record."""

    def __init__(self, raw_id: str) -> None:
        self.raw_id = raw_id

    def record(self) -> JobRecord:
        return check_record(get_job_record(self.raw_id))

    def poll(self) -> ExitInfo | None:
        record = self.record()
        if record.active:
            return None
        return ExitInfo(exit_code=record.exit_code, signal=record.signal, reason=record.reason)

    def kill(self, grace: float = 10.0) -> None:
        kill_record(get_job_record(self.raw_id), grace=grace)
