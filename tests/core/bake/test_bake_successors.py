"""Slots refilled without the scheduler (``runner._assign_successors``, ``launcher.then``): a
ready task is handed to a running one and started by its launcher thread when it succeeds.
The bake's rules hold all the same: limits, fail_fast, cancel, every task recorded."""

from __future__ import annotations

import os
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


def _run_here(project: Any, batch: str, monkeypatch: pytest.MonkeyPatch,
              chained: list[str] | None = None) -> tuple[str, int]:
    """Run a bake's attempt in this process (its executor's code, not a new process); its
    result and how many tasks started as successors (``chained``: those that followed a
    successor, given to it before it started)."""
    successors = []
    started, assign = runner.BakeRunner._started, runner.BakeRunner._assign_successors

    def spy(self: runner.BakeRunner, task: runner.Successor) -> None:
        if task.after:
            successors.append(task.fid)
        started(self, task)

    def spy_assign(self: runner.BakeRunner) -> None:
        assign(self)
        if chained is not None:  # given to a successor that has not started yet
            chained.extend(s.fid[-1] for s in self._successor_of.values()
                           if s.after in self._successor_for and s.fid[-1] not in chained)

    monkeypatch.setattr(runner.BakeRunner, "_started", spy)
    monkeypatch.setattr(runner.BakeRunner, "_assign_successors", spy_assign)
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


def test_successors_follow_successors_in_a_row(
    a_project: Any, write_batch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A successor not started yet is given one of its own (``runner.CHAIN``), so tasks
    shorter than a scheduling round keep their slot busy; the limit and every record hold."""
    marks, counts = tmp_path / "marks", tmp_path / "counts"
    marks.mkdir()
    count = COUNT.format(d=marks, counts=counts)
    tasks = "".join(f"  - id: t{i}\n    needs: [{f't{i - 1}' if i % 5 == 4 else ''}]\n"
                    f"    bash: 'echo $NEURO_JUPYTER_TASK; {count}'\n" for i in range(16))
    write_batch("row", f"kind: batch\ndefaults:\n  max_parallel: 2\ntasks:\n{tasks}")
    monkeypatch.chdir(a_project.root)
    chained: list[str] = []
    result, successors = _run_here(a_project, "row", monkeypatch, chained)
    assert result == "succeeded"
    assert chained, "no successor was given a successor of its own"
    assert successors >= len(chained)
    seen = [int(x) for x in counts.read_text().split()]
    assert len(seen) == 16 and max(seen) <= 2  # max_parallel holds
    state = inspect_bake(a_project, rows.list_bakes(open_store(), project_pk(a_project))[0])
    by_id = tasks_by_id(state)
    for task in state.tasks:
        assert task.status == "succeeded" and task.pid and task.exit_code == 0
        assert Path(task.log_path).read_text() == f"{task.full_id}\n"
    for i in range(4, 16, 5):  # a need is met before its task starts
        assert by_id[f"t{i - 1}"].finished_at <= by_id[f"t{i}"].started_at  # type: ignore[operator]


def test_a_failure_in_a_row_of_successors_stops_the_rest_of_it(
    a_project: Any, write_batch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What follows a failed task never starts in its slot: without fail_fast the scheduler
    starts it (it runs once), with fail_fast it is skipped."""
    tasks = "".join(f"  - id: t{i}\n    needs: []\n    bash: 'sleep 0.05; echo $NEURO_JUPYTER_TASK'\n"
                    for i in range(8))
    bad = "  - id: bad\n    needs: []\n    bash: sleep 0.05; exit 3\n"
    head = "  - id: first\n    needs: []\n    bash: sleep 0.1\n"
    for fail_fast in ("false", "true"):
        write_batch("f" + fail_fast, f"kind: batch\ndefaults:\n  max_parallel: 2\n"
                    f"  fail_fast: {fail_fast}\ntasks:\n{head}{bad}{tasks}")
        monkeypatch.chdir(a_project.root)
        assert _run_here(a_project, "f" + fail_fast, monkeypatch)[0] == "failed"
        state = inspect_bake(a_project, rows.list_bakes(open_store(), project_pk(a_project))[0])
        by_id = tasks_by_id(state)
        assert by_id["bad"].status == "failed"
        assert by_id["first"].status == ("succeeded" if fail_fast == "false" else "cancelled")
        after = {by_id[f"t{i}"].status for i in range(8)}
        if fail_fast == "false":
            assert after == {"succeeded"}
        else:  # those started with ``bad`` (at most one, in the other slot) are cancelled
            assert after <= {"skipped", "cancelled", "succeeded"} and "skipped" in after
        for i in range(8):
            task = by_id[f"t{i}"]
            if task.status == "succeeded":  # it ran once, in its own log
                assert Path(task.log_path).read_text() == f"t{i}\n"
            elif task.status == "skipped":
                assert not task.raw_id


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

        head = child.start_child(spec("sleep 0.2", "head"), "job-7")
        middle = child.start_after(spec("sleep 0.1; echo middle", "middle"), "job-8", head)
        last = child.start_after(spec("echo last", "last"), "job-9", middle)  # type: ignore[arg-type]
        assert middle is not None and last is not None  # a successor not started takes one
        assert done(head).ok and head.successor_taken  # type: ignore[attr-defined]
        assert done(middle).ok and middle.successor_taken  # type: ignore[attr-defined]
        assert done(last).ok and (tmp_path / "last.log").read_text() == "last\n"

        head = child.start_child(spec("sleep 0.2", "head2"), "job-10")
        middle = child.start_after(spec("sleep 0.1; exit 1", "middle2"), "job-11", head)
        last = child.start_after(spec("echo never", "never2"), "job-12", middle)  # type: ignore[arg-type]
        assert middle is not None and last is not None
        assert done(head).ok and done(middle).exit_code == 1
        assert not middle.successor_taken  # type: ignore[attr-defined]
        assert not (tmp_path / "never2.log").exists()

        slow = child.start_child(spec("sleep 0.3", "slow"), "job-5")
        taken_back = child.start_after(spec("echo back", "back"), "job-6", slow)
        assert taken_back is not None and slow.withdraw()  # type: ignore[attr-defined]
        assert done(slow).ok and not slow.successor_taken  # type: ignore[attr-defined]
        assert not (tmp_path / "back.log").exists()
    finally:
        group.stopped()


def test_attempts_run_in_process_leave_no_descriptor_behind(
    a_project: Any, write_batch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner closes what it waits with (its epoll): the executor freezes its objects
    (``gc.freeze``), so nothing is left for a collector to close, and a process that runs
    attempts itself (tests, benches) ran out of descriptors."""
    tasks = "".join(f"  - id: t{i}\n    needs: []\n    bash: 'true'\n" for i in range(6))
    write_batch("few", f"kind: batch\ndefaults:\n  max_parallel: 2\ntasks:\n{tasks}")
    monkeypatch.chdir(a_project.root)
    assert _run_here(a_project, "few", monkeypatch)[0] == "succeeded"  # what stays open once
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        assert _run_here(a_project, "few", monkeypatch)[0] == "succeeded"
    assert len(os.listdir("/proc/self/fd")) == before


def test_rounds_wait_while_every_slot_has_successors(
    a_project: Any, write_batch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While every running task has successors queued, a round lasts a while (a share of the
    time they take, ``runner.ROUND_PERIOD`` at most): tasks that end meanwhile are reaped
    together. The limit, the order of needs and every record hold."""
    marks, counts = tmp_path / "marks", tmp_path / "counts"
    marks.mkdir()
    count = COUNT.format(d=marks, counts=counts).replace("sleep 0.05; ", "")
    tasks = "".join(f"  - id: t{i}\n    needs: [{f't{i - 7}' if i >= 7 else ''}]\n"
                    f"    bash: 'echo $NEURO_JUPYTER_TASK; {count}'\n" for i in range(40))
    write_batch("short", f"kind: batch\ndefaults:\n  max_parallel: 2\ntasks:\n{tasks}")
    monkeypatch.chdir(a_project.root)
    pauses: list[float] = []
    sleep = runner.time.sleep

    def seen_sleep(seconds: float) -> None:
        pauses.append(seconds)
        sleep(seconds)

    monkeypatch.setattr(runner.time, "sleep", seen_sleep)
    result, successors = _run_here(a_project, "short", monkeypatch)
    assert result == "succeeded" and successors > 0
    rounds = [p for p in pauses if p > 0]
    assert rounds, "no round waited for its successors"
    assert max(rounds) <= runner.ROUND_PERIOD
    seen = [int(x) for x in counts.read_text().split()]
    assert len(seen) == 40 and max(seen) <= 2  # max_parallel holds
    state = inspect_bake(a_project, rows.list_bakes(open_store(), project_pk(a_project))[0])
    by_id = tasks_by_id(state)
    assert {t.status for t in state.tasks} == {"succeeded"}
    for i in range(7, 40):
        assert by_id[f"t{i - 7}"].finished_at <= by_id[f"t{i}"].started_at  # type: ignore[operator]


def test_the_first_write_of_a_big_bake_goes_in_parts(
    a_project: Any, write_batch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every task's row is written at the start; while tasks run, in parts of
    ``runner.FLUSH_CHUNK`` rows in file order, so that no slot waits for the whole write."""
    tasks = "".join(f"  - id: t{i}\n    needs: []\n    bash: 'true'\n" for i in range(30))
    write_batch("big", f"kind: batch\ndefaults:\n  max_parallel: 2\ntasks:\n{tasks}")
    monkeypatch.chdir(a_project.root)
    monkeypatch.setattr(runner, "FLUSH_CHUNK", 5)
    writes: list[list[str]] = []
    put = rows.put_tasks

    def seen_put(store: Any, tasks: Any) -> None:
        tasks = list(tasks)
        writes.append([t.full_id for t in tasks])
        put(store, tasks)

    monkeypatch.setattr(rows, "put_tasks", seen_put)
    assert _run_here(a_project, "big", monkeypatch)[0] == "succeeded"
    first = writes[0]  # in file order (a task being spawned is written with its pid, later)
    assert len(first) == 5 and first == sorted(first, key=lambda i: int(i[1:]))
    written = set()
    for ids in writes:
        written.update(ids)
        if len(written) < 30:
            assert len(ids) <= 5
    assert written == {f"t{i}" for i in range(30)}
    state = inspect_bake(a_project, rows.list_bakes(open_store(), project_pk(a_project))[0])
    assert [t.full_id for t in state.tasks] == [f"t{i}" for i in range(30)]
    assert {t.status for t in state.tasks} == {"succeeded"}


def test_ready_tasks_behind_started_successors_are_prepared(
    a_project: Any, write_batch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A successor that starts stays in its level's ready queue until the scheduler takes it
    out: such entries neither count against the ready tasks prepared ahead nor stay at the
    head of the queue (they once filled the count: short tasks' slots waited for the
    scheduler instead of being refilled by successors)."""
    tasks = "".join(f"  - id: t{i}\n    needs: []\n    bash: 'true'\n" for i in range(60))
    write_batch("short", f"kind: batch\ndefaults:\n  max_parallel: 2\ntasks:\n{tasks}")
    monkeypatch.chdir(a_project.root)
    missed: list[list[str]] = []
    prepare = runner.BakeRunner._prepare_ahead

    def seen_prepare(self: runner.BakeRunner) -> None:
        prepare(self)
        level = self.levels[()]
        if self.cancelling or self._level_free(level):
            return
        live = [n for n in level.ready if n not in level.started and n not in level.results]
        wanted = live[:min(runner.AHEAD, max(1, level.running) * runner.CHAIN)]
        left = [n for n in wanted if (n,) not in self._ahead and (n,) not in self._successor_for]
        if left or (level.ready and level.ready[0] in level.started):
            missed.append(left or [f"{level.ready[0]} (started) heads the queue"])

    monkeypatch.setattr(runner.BakeRunner, "_prepare_ahead", seen_prepare)
    result, successors = _run_here(a_project, "short", monkeypatch)
    assert result == "succeeded" and successors > 0
    assert not missed, f"ready tasks left unprepared: {missed[:5]}"
    state = inspect_bake(a_project, rows.list_bakes(open_store(), project_pk(a_project))[0])
    assert {t.status for t in state.tasks} == {"succeeded"} and len(state.tasks) == 60
