"""Faults with real processes: executor SIGKILL, a task killed from outside, the starting
process dying (a kernel restart), cancel with always() tasks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from bake_states import statuses, tasks_by_id

from neuro_jupyter.core.bake import cancel_bake, inspect_bake, restart_bake, start_bake
from neuro_jupyter.core.errors import ConflictError


def test_executor_killed_then_restart_from_failed_finishes(
    a_project: Any, write_batch: Any, wait_finished: Any, wait_for: Any, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    runs = tmp_path / "runs"
    write_batch("long", f"""\
kind: batch
tasks:
  - id: quick
    bash: echo quick >> {runs}
  - id: slow
    bash: echo slow >> {runs}; while [ ! -e {gate} ]; do sleep 0.05; done
  - id: last
    bash: echo last >> {runs}
""")
    bake = start_bake(a_project, "long")
    wait_for(lambda: statuses(inspect_bake(a_project, bake)).get("slow") == "running")
    state = inspect_bake(a_project, bake)
    slow_pid = tasks_by_id(state)["slow"].pid
    os.kill(state.attempt.executor_pid, signal.SIGKILL)
    wait_for(lambda: inspect_bake(a_project, bake).finished)
    dead = inspect_bake(a_project, bake)
    assert dead.attempt.result == "failed"
    assert "was killed by SIGKILL" in dead.attempt.reason
    assert statuses(dead) == {"quick": "succeeded", "slow": "failed", "last": "cancelled"}
    wait_for(lambda: not Path(f"/proc/{slow_pid}").exists()
             or "Z" in Path(f"/proc/{slow_pid}/stat").read_text().split(")")[-1][:3])
    gate.touch()
    restart_bake(a_project, bake, from_failed=True)
    final = wait_finished(a_project, bake, 2)
    assert final.attempt.result == "succeeded"
    assert statuses(final) == {"quick": "succeeded", "slow": "succeeded", "last": "succeeded"}
    assert runs.read_text().splitlines() == ["quick", "slow", "slow", "last"]


def test_task_killed_from_outside_is_failed(
    a_project: Any, write_batch: Any, wait_finished: Any, wait_for: Any
) -> None:
    write_batch("victim", "kind: batch\ntasks:\n  - id: sleeper\n    cmd: sleep 60\n")
    bake = start_bake(a_project, "victim")
    wait_for(lambda: statuses(inspect_bake(a_project, bake)).get("sleeper") == "running")
    pid = tasks_by_id(inspect_bake(a_project, bake))["sleeper"].pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    state = wait_finished(a_project, bake)
    task = state.tasks[0]
    assert (task.status, state.attempt.result) == ("failed", "failed")
    assert task.reason == "killed by SIGKILL"


def test_bake_survives_the_process_that_started_it(
    a_project: Any, write_batch: Any, wait_finished: Any, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    write_batch("survivor", f"""\
kind: batch
tasks:
  - id: wait
    bash: while [ ! -e {gate} ]; do sleep 0.05; done
  - id: after
    bash: echo after
""")
    starter = textwrap.dedent(f"""
        import os, signal, sys
        from neuro_jupyter.core.bake import start_bake
        from neuro_jupyter.core.project import open_project
        bake = start_bake(open_project({str(a_project.root)!r}), "survivor")
        print(bake.bake_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # like a kernel killed by a restart
    """)
    proc = subprocess.run([sys.executable, "-c", starter], capture_output=True, text=True,
                          timeout=60, env=os.environ.copy())
    assert proc.returncode == -signal.SIGKILL
    bake_id = proc.stdout.strip()
    assert inspect_bake(a_project, bake_id).attempt.result in ("pending", "running")
    gate.touch()
    state = wait_finished(a_project, bake_id)
    assert state.attempt.result == "succeeded"
    assert statuses(state) == {"wait": "succeeded", "after": "succeeded"}


def test_cancel_kills_tasks_but_always_tasks_run(
    a_project: Any, write_batch: Any, wait_finished: Any, wait_for: Any, tmp_path: Path
) -> None:
    cleaned = tmp_path / "cleaned"
    write_batch("cancellable", f"""\
kind: batch
tasks:
  - id: long
    cmd: sleep 60
  - id: next
    bash: echo next
  - id: cleanup
    enable: ${{{{ always() }}}}
    bash: touch {cleaned}
""")
    bake = start_bake(a_project, "cancellable")
    wait_for(lambda: statuses(inspect_bake(a_project, bake)).get("long") == "running")
    with pytest.raises(ConflictError, match="still running"):
        restart_bake(a_project, bake)
    cancel_bake(a_project, bake)
    state = wait_finished(a_project, bake)
    assert state.attempt.result == "cancelled"
    assert statuses(state) == {"long": "cancelled", "next": "skipped", "cleanup": "succeeded"}
    assert cleaned.exists()
    with pytest.raises(ConflictError, match="already finished"):
        cancel_bake(a_project, bake)


def test_flow_life_span_ends_the_bake(
    a_project: Any, write_batch: Any, wait_finished: Any
) -> None:
    write_batch("short", "kind: batch\nlife_span: 1s\ntasks:\n  - id: nap\n    cmd: sleep 60\n")
    state = wait_finished(a_project, start_bake(a_project, "short"), timeout=30)
    assert state.attempt.result == "cancelled"
    assert state.attempt.reason == "the bake's life_span ended"
    assert statuses(state) == {"nap": "cancelled"}


def test_executor_ignores_sigint_and_sighup_but_tasks_do_not(
    a_project: Any, write_batch: Any, wait_finished: Any, wait_for: Any
) -> None:
    write_batch("sig", "kind: batch\ntasks:\n  - id: nap\n    cmd: sleep 60\n")
    bake = start_bake(a_project, "sig")
    wait_for(lambda: statuses(inspect_bake(a_project, bake)).get("nap") == "running")
    state = inspect_bake(a_project, bake)
    os.kill(state.attempt.executor_pid, signal.SIGINT)
    os.kill(state.attempt.executor_pid, signal.SIGHUP)
    os.kill(state.tasks[0].pid, signal.SIGINT)  # the task gets default dispositions back
    final = wait_finished(a_project, bake)
    assert final.tasks[0].reason == "killed by SIGINT"
    assert final.attempt.result == "failed" and "died" not in final.attempt.reason


def test_sigterm_to_the_executor_cancels_the_attempt(
    a_project: Any, write_batch: Any, wait_finished: Any, wait_for: Any
) -> None:
    write_batch("term", "kind: batch\ntasks:\n  - id: nap\n    cmd: sleep 60\n")
    bake = start_bake(a_project, "term")
    wait_for(lambda: statuses(inspect_bake(a_project, bake)).get("nap") == "running")
    os.kill(inspect_bake(a_project, bake).attempt.executor_pid, signal.SIGTERM)
    state = wait_finished(a_project, bake)
    assert state.attempt.result == "cancelled"
    assert state.attempt.reason == "the executor was terminated (SIGTERM)"
    assert statuses(state) == {"nap": "cancelled"}
