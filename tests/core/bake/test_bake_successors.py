"""Slots refilled without the scheduler (``runner._assign_successors``, ``launcher.then``): a
ready task is handed to a running one and started by its launcher thread when it succeeds.
The bake's rules hold all the same: limits, fail_fast, cancel, every task recorded."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from bake_states import statuses, tasks_by_id

from neuro_jupyter.core.backends.local import launcher
from neuro_jupyter.core.backends.local.procs import is_alive
from neuro_jupyter.core.bake import cancel_bake, executor, inspect_bake, runner, start_bake
from neuro_jupyter.core.bake.executor import Prepared
from neuro_jupyter.core.store import bakes as rows
from neuro_jupyter.core.store import open_store
from neuro_jupyter.core.store.projects import project_pk
from neuro_jupyter.core.workflow import plan_batch

COUNT = "touch {d}/$$; ls {d} | wc -l >> {counts}; sleep 0.05; rm {d}/$$"


def _run_here(project: Any, batch: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """Run a bake's attempt in this process (its executor's code, not a new process); its
    result and how many tasks started as successors."""
    successors = []
    started = runner.BakeRunner._started

    def spy(self: runner.BakeRunner, task: runner.Successor) -> None:
        if task.after:
            successors.append(task.fid)
        started(self, task)

    monkeypatch.setattr(runner.BakeRunner, "_started", spy)
    store = open_store()
    plan = plan_batch(project, batch)
    bake = rows.create_bake(store, project_pk=project_pk(project, store), batch=batch,
                            name=None, tags=(), params={}, config_files=dict(plan.config_files))
    monkeypatch.setattr(executor, "_echo", lambda line: None)
    result, _ = executor.execute(bake.bake_id, 1, Prepared(Path(project.root), plan,
                                                           dict(plan.config_files)))
    return result, len(successors)


def test_slots_are_refilled_by_successors_and_every_task_is_recorded(
    a_project: Any, write_batch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks, counts = tmp_path / "marks", tmp_path / "counts"
    marks.mkdir()
    count = COUNT.format(d=marks, counts=counts)
    tasks = "".join(f"  - id: t{i}\n    needs: []\n    bash: 'echo $NEURO_JUPYTER_TASK; {count}'\n"
                    for i in range(30))
    write_batch("wide", f"kind: batch\ndefaults:\n  max_parallel: 3\ntasks:\n{tasks}")
    monkeypatch.chdir(a_project.root)
    result, successors = _run_here(a_project, "wide", monkeypatch)
    assert result == "succeeded"
    assert successors > 0, "no task was started as a successor"
    seen = [int(x) for x in counts.read_text().split()]
    assert len(seen) == 30 and max(seen) <= 3  # max_parallel holds
    state = inspect_bake(a_project, rows.list_bakes(open_store(), project_pk(a_project))[0])
    assert len({t.raw_id for t in state.tasks}) == 30
    for task in state.tasks:
        assert task.status == "succeeded" and task.pid and task.exit_code == 0
        assert task.started_at is not None and task.finished_at is not None
        assert task.started_at <= task.finished_at
        assert Path(task.log_path).read_text() == f"{task.full_id}\n"  # its own env and log


def test_a_matrix_limit_holds_for_successors(
    a_project: Any, write_batch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks, counts = tmp_path / "marks", tmp_path / "counts"
    marks.mkdir()
    write_batch("mx", f"""\
kind: batch
defaults:
  max_parallel: 4
tasks:
  - id: fit_${{{{ matrix.n }}}}
    strategy:
      max_parallel: 1
      matrix:
        n: [a, b, c, d, e, f, g, h]
    bash: {COUNT.format(d=marks, counts=counts)}
  - id: other_${{{{ matrix.n }}}}
    strategy:
      matrix:
        n: [a, b, c, d, e, f, g, h]
    bash: sleep 0.02
""")
    monkeypatch.chdir(a_project.root)
    result, successors = _run_here(a_project, "mx", monkeypatch)
    assert result == "succeeded" and successors > 0
    assert [int(x) for x in counts.read_text().split()] == [1] * 8


def test_a_matrix_limit_holds_when_successors_join_the_group_from_other_tasks(
    a_project: Any, write_batch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The group has room for one more when several of its tasks are handed to running
    tasks of other groups: only as many as its limit allows may join it."""
    marks, counts = tmp_path / "marks", tmp_path / "counts"
    marks.mkdir()
    others = "".join(f"  - id: other{i}\n    needs: []\n    bash: sleep 0.05\n" for i in range(9))
    write_batch("join", f"""\
kind: batch
defaults:
  max_parallel: 4
tasks:
{others}  - id: fit_${{{{ matrix.n }}}}
    needs: []
    strategy:
      max_parallel: 2
      matrix:
        n: [a, b, c, d, e, f, g, h]
    bash: {COUNT.format(d=marks, counts=counts)}
""")
    monkeypatch.chdir(a_project.root)
    result, successors = _run_here(a_project, "join", monkeypatch)
    assert result == "succeeded" and successors > 0
    seen = [int(x) for x in counts.read_text().split()]
    assert len(seen) == 8 and max(seen) <= 2


def test_a_failed_task_starts_no_successor(
    a_project: Any, write_batch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without fail_fast the tasks after a failure run anyway (started by the scheduler);
    with it, they are cancelled: none starts in the failed task's slot."""
    tasks = "".join(f"  - id: t{i}\n    needs: []\n    bash: sleep 0.05\n" for i in range(12))
    bad = "  - id: bad\n    needs: []\n    bash: sleep 0.1; exit 3\n"
    write_batch("noff", f"kind: batch\ndefaults:\n  max_parallel: 2\n  fail_fast: false\n"
                        f"tasks:\n{bad}{tasks}")
    write_batch("ff", f"kind: batch\ndefaults:\n  max_parallel: 1\ntasks:\n{bad}{tasks}")
    monkeypatch.chdir(a_project.root)
    assert _run_here(a_project, "noff", monkeypatch)[0] == "failed"
    store = open_store()
    bakes = rows.list_bakes(store, project_pk(a_project))
    state = inspect_bake(a_project, bakes[0])
    assert statuses(state) == {"bad": "failed", **{f"t{i}": "succeeded" for i in range(12)}}
    assert _run_here(a_project, "ff", monkeypatch)[0] == "failed"
    state = inspect_bake(a_project, rows.list_bakes(store, project_pk(a_project))[0])
    tasks = tasks_by_id(state)
    assert tasks["bad"].status == "failed"
    # max_parallel 1: ``bad`` ran alone; what was given to it as a successor never started,
    # and is skipped while cancelling, as every task not started then
    assert {(t.full_id, t.status, bool(t.raw_id)) for t in state.tasks if t.full_id != "bad"} == {
        (f"t{i}", "skipped", False) for i in range(12)}


def test_cancel_with_successors_ends_everything(
    a_project: Any, write_batch: Any, wait_finished: Any, wait_for: Any, tmp_path: Path
) -> None:
    """A real executor: cancelling withdraws the successors; tasks end cancelled, none left
    running, no process left behind."""
    gate = tmp_path / "gate"
    tasks = "".join(f"  - id: t{i}\n    needs: []\n    bash: 'until [ -e {gate} ]; do sleep 0.02;"
                    f" done'\n" for i in range(20))
    write_batch("c", f"kind: batch\ndefaults:\n  max_parallel: 3\ntasks:\n{tasks}")
    bake = start_bake(a_project, "c")
    wait_for(lambda: sum(t.status == "running" for t in inspect_bake(a_project, bake).tasks) == 3)
    running = [t.pid for t in inspect_bake(a_project, bake).tasks if t.status == "running"]
    cancel_bake(a_project, bake)
    state = wait_finished(a_project, bake)
    assert state.attempt.result == "cancelled"
    ran = [t for t in state.tasks if t.raw_id]
    assert len(ran) == 3 and {t.status for t in ran} == {"cancelled"}  # the running ones
    assert {t.status for t in state.tasks if not t.raw_id} == {"skipped"}
    assert not any(is_alive(pid) for pid in running)


def test_a_launched_task_starts_its_successor_only_when_it_succeeds(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    from neuro_jupyter.core.backends.base import ProcessSpec
    from neuro_jupyter.core.backends.local import child

    monkeypatch.chdir(tmp_path)
    group = launcher.current_group()
    group.started()  # as if a task of the caller ran: the next ones go to launcher threads
    try:
        def spec(script: str, name: str) -> ProcessSpec:
            return ProcessSpec(argv=("bash", "-c", script), workdir=tmp_path,
                               log_path=tmp_path / f"{name}.log")

        def done(execution: Any) -> Any:
            ended = threading.Event()
            while (info := execution.poll()) is None:
                ended.wait(0.02)
            return info

        first = child.start_child(spec("sleep 0.2", "first"), "job-1")
        second = child.start_after(spec("echo second", "second"), "job-2", first)
        assert second is not None
        assert done(first).ok and first.successor_taken  # type: ignore[attr-defined]
        assert done(second).ok and (tmp_path / "second.log").read_text() == "second\n"

        failing = child.start_child(spec("sleep 0.2; exit 1", "failing"), "job-3")
        never = child.start_after(spec("echo never", "never"), "job-4", failing)
        assert never is not None
        assert done(failing).exit_code == 1
        assert not failing.successor_taken  # type: ignore[attr-defined]
        assert not (tmp_path / "never.log").exists()

        slow = child.start_child(spec("sleep 0.3", "slow"), "job-5")
        taken_back = child.start_after(spec("echo back", "back"), "job-6", slow)
        assert taken_back is not None and slow.withdraw()  # type: ignore[attr-defined]
        assert done(slow).ok and not slow.successor_taken  # type: ignore[attr-defined]
        assert not (tmp_path / "back.log").exists()
    finally:
        group.stopped()
