"""A task's ``restart`` policy in a local bake: the runner starts the task's process again, as
Neu.ro restarts a job, with the local supervisor's pauses and log lines (real processes)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from bake_states import tasks_by_id
from waiting import wait_until

from neuro_jupyter.core.backends.local.procs import is_alive
from neuro_jupyter.core.bake import cancel_bake, inspect_bake, start_bake, task_log
from neuro_jupyter.core.errors import NeuroJupyterError


@pytest.fixture
def count_run(tmp_path: Path) -> str:
    """Shell that counts a task's runs in a file: ``$n`` is the number of this run."""
    runs = tmp_path / "runs"
    return f"echo x >> {runs}; n=$(wc -l < {runs})"


def restarted(project: Any, bake: Any, count: int) -> bool:
    """Whether task ``down`` of ``bake`` has logged restart number ``count``."""
    try:
        return f"restart #{count} " in task_log(project, bake, "down")
    except NeuroJupyterError:  # the executor has not recorded the tasks yet
        return False


def test_on_failure_runs_a_flaky_task_until_it_succeeds(
    a_project: Any, write_batch: Any, wait_finished: Any, count_run: str
) -> None:
    write_batch("flaky", f"""\
kind: batch
tasks:
  - id: fetch
    restart: on-failure
    bash: |
      {count_run}
      echo "run $n"
      [ "$n" -ge 3 ] || exit 7
      echo "::set-output name=runs::$n"
  - id: use
    needs: [fetch]
    bash: echo "fetched after ${{{{ needs.fetch.outputs.runs }}}} runs"
""")
    state = wait_finished(a_project, start_bake(a_project, "flaky"))
    tasks = tasks_by_id(state)
    assert state.attempt.result == "succeeded"
    assert tasks["fetch"].status == "succeeded" and tasks["fetch"].exit_code == 0
    assert task_log(a_project, state.bake, "fetch") == (
        "run 1\nneuro-jupyter: the job exited with code 7; restart #1 in 0.1s "
        "(restart: on-failure)\nrun 2\nneuro-jupyter: the job exited with code 7; restart #2 "
        "in 0.2s (restart: on-failure)\nrun 3\n")
    assert task_log(a_project, state.bake, "use") == "fetched after 3 runs\n"


def test_never_is_the_default(a_project: Any, write_batch: Any, wait_finished: Any) -> None:
    write_batch("once", "kind: batch\ntasks:\n  - id: bad\n    bash: echo once; exit 7\n")
    state = wait_finished(a_project, start_bake(a_project, "once"))
    assert tasks_by_id(state)["bad"].status == "failed"
    assert task_log(a_project, state.bake, "bad") == "once\n"


def test_always_ends_with_the_life_span_of_all_runs(
    a_project: Any, write_batch: Any, wait_finished: Any
) -> None:
    write_batch("forever", """\
kind: batch
tasks:
  - id: poll
    restart: always
    life_span: 2s
    bash: echo polled
""")
    state = wait_finished(a_project, start_bake(a_project, "forever"), timeout=30)
    task = tasks_by_id(state)["poll"]
    assert state.attempt.result == "failed"
    assert task.status == "failed" and task.reason == "life span of 2s ended"
    assert task.finished_at - task.started_at < 4
    log = task_log(a_project, state.bake, "poll")
    assert log.count("polled") >= 4 and "restart #3 in 0.4s (restart: always)" in log


def test_cancel_during_the_pause_ends_the_task(
    a_project: Any, write_batch: Any, wait_finished: Any, wait_for: Any
) -> None:
    write_batch("retry", """\
kind: batch
tasks:
  - id: down
    restart: on-failure
    bash: exit 1
  - id: cleanup
    needs: [down]
    enable: ${{ always() }}
    bash: echo cleanup
""")
    bake = start_bake(a_project, "retry")
    # the pauses double from 0.1 s: after restart #4 the next pause is 0.8 s
    wait_for(lambda: restarted(a_project, bake, 4))
    cancel_bake(a_project, bake)
    state = wait_finished(a_project, bake)
    tasks = tasks_by_id(state)
    assert state.attempt.result == "cancelled"
    assert tasks["down"].status == "cancelled"
    assert tasks["cleanup"].status == "succeeded"
    assert "restart #6 " not in task_log(a_project, bake, "down")
    assert inspect_bake(a_project, bake).finished


def test_a_failure_elsewhere_cancels_a_task_in_its_pause(
    a_project: Any, write_batch: Any, wait_finished: Any
) -> None:
    """fail_fast: another task's failure cancels a task waiting to restart, as a running one."""
    write_batch("ff", """\
kind: batch
tasks:
  - id: down
    restart: always
    bash: exit 1
  - id: bad
    needs: []
    bash: sleep 1.5; exit 3
""")
    state = wait_finished(a_project, start_bake(a_project, "ff"))
    tasks = tasks_by_id(state)
    assert state.attempt.result == "failed"
    assert tasks["bad"].status == "failed"
    assert tasks["down"].status == "cancelled" and tasks["down"].reason == "fail_fast: bad failed"


def test_a_failed_start_that_cancels_a_due_restart_does_not_break_the_runner(
    a_project: Any, write_batch: Any, wait_finished: Any, tmp_path: Path, count_run: str
) -> None:
    """Two restarts come due together; the first cannot start (its folder is gone) and its
    fail_fast cancels the second: the bake fails as such, not with an internal error."""
    folder = tmp_path / "wd"
    folder.mkdir()
    write_batch("race", f"""\
kind: batch
tasks:
  - id: a
    needs: []
    restart: on-failure
    workdir: {folder}
    bash: |
      {count_run}
      [ "$n" -lt 4 ] || rm -rf {folder}
      exit 1
  - id: b
    needs: []
    restart: on-failure
    bash: sleep 0.02; exit 1
  - id: c
    needs: []
    life_span: 1s
    strategy:
      matrix:
        one: [1]
      fail_fast: false
    bash: trap '' TERM; sleep 30
""")
    state = wait_finished(a_project, start_bake(a_project, "race"), timeout=40)
    tasks = tasks_by_id(state)
    assert state.attempt.result == "failed", state.attempt.reason
    assert "internal error" not in state.attempt.reason
    assert tasks["a"].status == "failed" and "no folder" in tasks["a"].reason
    assert tasks["b"].status == "cancelled"


def test_only_the_last_run_gives_outputs_and_leftovers_are_killed(
    a_project: Any, write_batch: Any, wait_finished: Any, tmp_path: Path, count_run: str
) -> None:
    pids = tmp_path / "pids"
    write_batch("last", f"""\
kind: batch
tasks:
  - id: fetch
    restart: on-failure
    bash: |
      {count_run}
      sleep 60 & echo $! >> {pids}
      if [ "$n" -lt 2 ]; then echo "::set-output name=model::partial"; exit 1; fi
      echo "::set-output name=size::2"
  - id: use
    needs: [fetch]
    bash: echo "${{{{ needs.fetch.outputs }}}}"
""")
    state = wait_finished(a_project, start_bake(a_project, "last"))
    assert tasks_by_id(state)["fetch"].outputs == {"size": "2"}  # not the failed run's model
    assert task_log(a_project, state.bake, "use") == "{'size': '2'}\n"
    first, last = pids.read_text().split()
    assert not is_alive(int(first))  # killed before the restart, as in live jobs
    # a task's leftovers after its last run are left alone while the bake runs; they end with
    # the bake (the executor's keeper), as they would with the task's container
    wait_until(lambda: not is_alive(int(last)), timeout=10)


def test_in_its_pause_a_task_has_no_pid_and_an_always_task_ends_at_cancel(
    a_project: Any, write_batch: Any, wait_for: Any, wait_finished: Any
) -> None:
    write_batch("pause", """\
kind: batch
tasks:
  - id: down
    needs: []
    enable: ${{ always() }}
    restart: on-failure
    bash: echo run; exit 1
  - id: other
    needs: []
    cmd: sleep 60
""")
    bake = start_bake(a_project, "pause")
    wait_for(lambda: restarted(a_project, bake, 5))  # a pause of 1.6 s
    time.sleep(0.3)  # a flush (every 50 ms) has recorded the pause
    down = tasks_by_id(inspect_bake(a_project, bake))["down"]
    assert down.status == "running" and down.pid is None
    cancel_bake(a_project, bake)
    state = wait_finished(a_project, bake)
    down = tasks_by_id(state)["down"]
    # an always() task runs while cancelling, but is not restarted: it ends with its last run
    assert down.status == "failed" and down.exit_code == 1
    assert task_log(a_project, bake, "down").splitlines()[-1].endswith(
        "restart #5 in 1.6s (restart: on-failure)")
    assert tasks_by_id(state)["other"].status == "cancelled"


def test_a_signal_shows_as_the_shell_reports_it(
    a_project: Any, write_batch: Any, wait_finished: Any, count_run: str
) -> None:
    write_batch("sig", f"""\
kind: batch
tasks:
  - id: hit
    restart: on-failure
    bash: {count_run}; [ "$n" -ge 2 ] || kill -TERM $$
""")
    state = wait_finished(a_project, start_bake(a_project, "sig"))
    assert tasks_by_id(state)["hit"].status == "succeeded"
    assert task_log(a_project, state.bake, "hit") == (
        "neuro-jupyter: the job exited with code 143; restart #1 in 0.1s (restart: on-failure)\n")
