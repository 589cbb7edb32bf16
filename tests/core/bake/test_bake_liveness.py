"""A dead executor is noticed by readers: the attempt fails with a reason, orphans are killed."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from neuro_jupyter.core.backends.local.procs import is_alive, start_ticks
from neuro_jupyter.core.bake import inspect_bake, list_bakes
from neuro_jupyter.core.project import open_project
from neuro_jupyter.core.store import bakes as rows
from neuro_jupyter.core.store import open_store
from neuro_jupyter.core.store.projects import project_pk


@pytest.fixture()
def a_project(tmp_path: Path):
    (tmp_path / ".neuro").mkdir()
    return open_project(tmp_path)


def test_dead_executor_fails_the_attempt_and_kills_orphans(a_project, tmp_path: Path) -> None:
    store = open_store()
    bake = rows.create_bake(store, project_pk=project_pk(a_project, store), batch="b",
                            name=None, tags=(), params={}, config_files={})
    gone = subprocess.Popen(["true"])
    gone.wait()
    log = tmp_path / "executor.log"
    log.write_text("Task a is running\nRuntimeError: out of luck\n")
    rows.update_attempt(store, bake.bake_id, 1, result="running", executor_pid=gone.pid,
                        executor_start="1", log_path=str(log))
    orphan = subprocess.Popen(["sleep", "60"], start_new_session=True)
    now = time.time()
    rows.put_tasks(store, [
        rows.TaskRecord(bake.bake_id, 1, "a", "running", pid=orphan.pid,
                        pid_start=str(start_ticks(orphan.pid)), started_at=now, seq=1),
        rows.TaskRecord(bake.bake_id, 1, "b", "pending", needs={"a": "completed"}, seq=2),
        rows.TaskRecord(bake.bake_id, 1, "c", "succeeded", finished_at=now, seq=3),
    ])
    state = inspect_bake(a_project, bake.bake_id)
    assert state.attempt.result == "failed"
    assert state.attempt.finished
    assert f"pid {gone.pid}" in state.attempt.reason
    assert "RuntimeError: out of luck" in state.attempt.reason
    statuses = {t.full_id: t.status for t in state.tasks}
    assert statuses == {"a": "failed", "b": "cancelled", "c": "succeeded"}
    assert orphan.wait(timeout=10) == -9
    assert not is_alive(orphan.pid)
    assert list_bakes(a_project)[0].last_attempt.result == "failed"  # type: ignore[union-attr]


def test_live_executor_is_left_alone(a_project) -> None:
    store = open_store()
    bake = rows.create_bake(store, project_pk=project_pk(a_project, store), batch="b",
                            name=None, tags=(), params={}, config_files={})
    alive = subprocess.Popen(["sleep", "30"])
    try:
        rows.update_attempt(store, bake.bake_id, 1, result="running", executor_pid=alive.pid,
                            executor_start=str(start_ticks(alive.pid)))
        assert inspect_bake(a_project, bake.bake_id).attempt.result == "running"
        # a reused pid (another start time) is not our executor
        rows.update_attempt(store, bake.bake_id, 1, executor_start="12345")
        assert inspect_bake(a_project, bake.bake_id).attempt.result == "failed"
    finally:
        alive.kill()
        alive.wait()
