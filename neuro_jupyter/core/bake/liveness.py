"""Readers notice a dead orchestrator: its attempt becomes failed with a reason, never "running".

The executor records its pid and process start time. When it is killed, its keeper
(``backends/local/keeper.py``) ends every process below it, tasks and whatever they started,
and closes the attempt with how it died (``close_attempt``); until then the executor is a
zombie, which readers leave to the keeper. When the executor is gone with no keeper (both
killed, machine rebooted) while the attempt is unfinished, any reader (inspect, bakes, the view)
closes the attempt: tasks still running are killed (their process groups) and marked failed,
tasks never started are marked cancelled, and the attempt gets the reason and the tail of the
executor's log. Tasks on a Ray cluster are stopped there.
"""

from __future__ import annotations

import dataclasses
import time

from ..backends.local.procs import is_alive, kept, kill_group
from ..errors import DiskFullError
from ..logfiles import read_tail
from ..store import bakes as rows
from ..store.db import Store

START_GRACE = 60.0  # seconds an attempt may stay without a recorded executor
TAIL_BYTES = 64 << 10  # of the executor's log read for its last line


def executor_alive(attempt: rows.AttemptRecord) -> bool:
    """Whether the attempt's executor process still runs."""
    return _alive(attempt.executor_pid, attempt.executor_start)


def _ticks(start: str) -> int | None:
    """The bake rows keep a process's start ticks as text."""
    return int(start) if start.isdigit() else None


def _alive(pid: int | None, start: str) -> bool:
    """``is_alive`` for the bake rows."""
    return is_alive(pid, _ticks(start))


def reconcile(store: Store, attempt: rows.AttemptRecord) -> rows.AttemptRecord:
    """Return the attempt, first closing it if its executor died without finishing it."""
    if attempt.finished:
        return attempt
    if attempt.executor_pid is None:
        if time.time() - attempt.created_at < START_GRACE:
            return attempt
    elif kept(attempt.executor_pid, _ticks(attempt.executor_start)):
        return attempt  # running, or dead and its keeper is closing the attempt
    try:
        return close_attempt(store, attempt.bake_id, attempt.number)
    except DiskFullError:  # shown as it is until the disk has room to record it
        return attempt


def close_attempt(store: Store, bake_id: str, number: int, reason: str = "") -> rows.AttemptRecord:
    """Close an attempt whose executor is dead: kill and fail its running tasks, cancel the
    others, fail the attempt with ``reason`` (default: the death and the log's last line)."""
    with store.tx():
        current = rows.get_attempt(store, bake_id, number)
        if current.finished or (current.executor_pid is not None and executor_alive(current)):
            return current
        now = time.time()
        reason = reason or _death_reason(current)
        changed = []
        unfinished = rows.list_tasks(
            store, current.bake_id, current.number, statuses=rows.UNFINISHED_STATUSES
        )
        target = rows.get_bake(store, current.bake_id).backend
        for task in unfinished:
            if task.status == "running" and target == "local":
                kill_group(task.pid, _ticks(task.pid_start))
            status = "failed" if task.status == "running" else "cancelled"
            changed.append(dataclasses.replace(task, status=status, reason=reason, finished_at=now))
        rows.put_tasks(store, changed)
        result = "cancelled" if current.result == "cancelled" else "failed"
        rows.update_attempt(
            store, current.bake_id, current.number, result=result, reason=reason, finished_at=now
        )
    if target != "local":  # tasks on a cluster outlive the executor: stop them (after the tx)
        _stop_remote(target, [t.raw_id for t in unfinished if t.status == "running" and t.raw_id])
    return rows.get_attempt(store, bake_id, number)


def _stop_remote(target: str, raw_ids: list[str]) -> None:
    """Ask the backend to stop what an executor that died left running (best effort)."""
    from ..backends import get_backend
    from ..errors import BackendError

    if not raw_ids:
        return
    try:
        backend = get_backend(target)
        for raw_id in raw_ids:
            backend.stop(raw_id)
    except BackendError:
        pass


def _death_reason(attempt: rows.AttemptRecord) -> str:
    if attempt.executor_pid is None:
        reason = "the bake executor never started"
    else:
        reason = f"the bake executor (pid {attempt.executor_pid}) died before the bake finished"
    tail = _log_tail(attempt.log_path)
    return f"{reason}: {tail}" if tail else reason


def _log_tail(log_path: str) -> str:
    """The last non-empty line of the executor's log (e.g. the error of a crash), read from
    its end (a big bake's log holds a line per task)."""
    if not log_path:
        return ""
    for line in reversed(read_tail(log_path, TAIL_BYTES)[0].splitlines()):
        if line.strip() and not line.startswith("Task "):
            return line.strip()[:300]
    return ""

