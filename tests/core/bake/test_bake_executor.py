"""The executor's start: launched before the caller plans, it waits for "go" or leaves nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.core import paths
from neuro_jupyter.core.bake import executor, start_bake, task_log
from neuro_jupyter.core.errors import InvalidInputError
from neuro_jupyter.core.store import bakes as rows
from neuro_jupyter.core.store import open_store
from neuro_jupyter.core.store.projects import project_pk


def _flow(word: str) -> str:
    return f"kind: batch\ntasks:\n  - id: a\n    bash: echo {word}\n"


def test_a_workflow_error_stops_the_waiting_executor_and_leaves_no_files(
    a_project: Any, write_batch: Any, launched_executors: list[executor.LaunchedExecutor]
) -> None:
    launched = launched_executors
    write_batch("broken", "kind: batch\ntasks:\n  - id: a\n    bash: true\n    needs: [nope]\n")
    with pytest.raises(InvalidInputError, match="broken.yml:5:"):
        start_bake(a_project, "broken")
    assert launched[0].wait(0)  # stopped, not left waiting
    bakes_logs = paths.logs_dir() / "bakes"
    assert not bakes_logs.exists() or list(bakes_logs.iterdir()) == []


def test_without_go_the_executor_exits_by_itself_and_removes_its_files(
    a_project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # started with python -m: a forked one (a warm fork server) may read its request before
    # the assertion below
    monkeypatch.setenv("NEURO_JUPYTER_FORKSERVER", "0")
    launched = executor.spawn_executor(
        rows.new_bake_id(), 1, a_project.root, batch="cell", params={},
        overlay={".neuro/cell.yml": _flow("hi")},
    )
    assert launched.request_path.exists()
    launched.close_stdin()  # what the caller's death looks like
    assert launched.wait(30)
    assert not launched.log_path.exists()
    assert not launched.request_path.exists()
    assert not launched.log_path.parent.exists()


def test_a_snapshot_other_than_the_request_is_planned_again(
    a_project: Any, wait_finished: Any
) -> None:
    """The executor plans the request before "go"; when the recorded snapshot differs (a file
    changed in between), it runs the snapshot."""
    bake_id = rows.new_bake_id()
    launched = executor.spawn_executor(
        bake_id, 1, a_project.root, batch="cell", params={},
        overlay={".neuro/cell.yml": _flow("from-request")},
    )
    try:
        store = open_store()
        rows.create_bake(
            store, project_pk=project_pk(a_project, store), batch="cell", name=None, tags=(),
            params={}, config_files={".neuro/cell.yml": _flow("from-record")}, bake_id=bake_id,
        )
        attempt = launched.go(store)
    finally:
        launched.abort()
    assert attempt.executor_pid == launched.pid
    assert Path(attempt.log_path) == launched.log_path
    state = wait_finished(a_project, bake_id)
    assert state.attempt.result == "succeeded"
    assert task_log(a_project, bake_id, "a").strip() == "from-record"


def test_the_executor_uses_its_own_plan_when_the_snapshot_matches(
    a_project: Any, wait_finished: Any
) -> None:
    bake = start_bake(a_project, "cell", text=_flow("same"))
    state = wait_finished(a_project, bake)
    assert state.attempt.result == "succeeded"
    assert task_log(a_project, bake, "a").strip() == "same"
    assert not (Path(state.attempt.log_path).parent / "executor-1.request.json").exists()
