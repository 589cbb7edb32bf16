"""The bake's main job: ``python -m neuro_jupyter.core.bake.executor BAKE_ID ATTEMPT``.

Started detached (its own session) so it outlives the kernel or the CLI that started it. It
re-plans the bake from its stored config snapshot, runs the attempt (``runner.BakeRunner``)
and writes the attempt's result. Like neuro-flow's ``execute``, it ignores SIGHUP and SIGINT;
SIGTERM cancels the attempt (``always()`` tasks still run). Its output is the attempt's log.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .. import paths
from ..backends.local.procs import start_ticks
from ..errors import BackendError, NeuroJupyterError
from ..store import bakes as rows
from ..store.db import Store, open_store

_CHILDREN: list[subprocess.Popen[bytes]] = []
DEFAULT_LIFE_SPAN = 10 * 24 * 3600.0  # neuro-flow's default life span of a bake's executor


def spawn_executor(store: Store, bake_id: str, number: int, cwd: Path) -> rows.AttemptRecord:
    """Start the executor of an attempt, detached, and record its pid and log file."""
    for child in list(_CHILDREN):  # reap executors this process started earlier
        if child.poll() is not None:
            _CHILDREN.remove(child)
    log_dir = paths.logs_dir() / "bakes" / bake_id
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"executor-{number}.log"
    env = dict(os.environ)
    env[paths.HOME_ENV] = str(paths.home())
    try:
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "neuro_jupyter.core.bake.executor", bake_id, str(number)],
                cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            )
    except OSError as exc:
        reason = f"cannot start the bake executor: {exc}"
        rows.update_attempt(store, bake_id, number, result="failed", reason=reason,
                            finished_at=time.time())
        raise BackendError(reason) from exc
    _CHILDREN.append(popen)
    ticks = start_ticks(popen.pid)
    rows.update_attempt(
        store, bake_id, number, executor_pid=popen.pid, executor_id=f"pid {popen.pid}",
        executor_start="" if ticks is None else str(ticks), log_path=str(log_path),
    )
    return rows.get_attempt(store, bake_id, number)


def _echo(line: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    sys.stdout.write(f"[{stamp}] {line}\n")


def execute(bake_id: str, number: int) -> tuple[str, str]:
    """Run attempt ``number`` of the bake in this process; return its result and why."""
    from ..backends import get_backend
    from ..backends.local.mapping import to_process_spec
    from ..project.discovery import open_project
    from ..store.projects import get_project
    from ..workflow import plan_batch
    from .runner import BakeRunner

    store = open_store()
    pid = os.getpid()
    ticks = start_ticks(pid)
    rows.update_attempt(
        store, bake_id, number, executor_pid=pid, executor_id=f"pid {pid}",
        executor_start="" if ticks is None else str(ticks),
    )
    attempt = rows.get_attempt(store, bake_id, number)
    if attempt.result == "pending":
        rows.update_attempt(store, bake_id, number, result="running")
    bake = rows.get_bake(store, bake_id)
    _echo(f"Bake {bake_id} ({bake.batch}), attempt #{number}")
    record = get_project(bake.project_pk, store)
    project = open_project(record.root, record=False)
    plan = plan_batch(project, bake.batch, params=dict(bake.params), overlay=dict(bake.config_files))
    previous: dict[str, rows.TaskRecord] = {}
    source = attempt.source_attempt
    if attempt.from_failed and source:
        previous = {task.full_id: task for task in rows.list_tasks(store, bake_id, source)}
    runner = BakeRunner(
        store, bake, number, plan.root, project, backend=get_backend(bake.backend),
        mapper=to_process_spec, logs_root=paths.logs_dir(), previous=previous,
        previous_attempt=source or 0, echo=_echo,
    )

    def on_term(signum: int, frame: FrameType | None) -> None:
        runner.external_cancel = True

    signal.signal(signal.SIGTERM, on_term)
    life_span = plan.life_span or DEFAULT_LIFE_SPAN
    runner.deadline = attempt.created_at + life_span
    result = runner.run()
    return result, runner.reason


def _finish(bake_id: str, number: int, result: str, reason: str = "") -> None:
    store = open_store()
    with store.tx():
        current = rows.get_attempt(store, bake_id, number)
        if current.result == "cancelled":
            result = "cancelled"
        now = time.time()
        leftovers = [
            dataclasses.replace(task, status="cancelled", finished_at=now,
                                reason=task.reason or reason or "the attempt ended")
            for task in rows.list_tasks(store, bake_id, number)
            if task.status in ("pending", "running", "unknown")
        ]
        rows.put_tasks(store, leftovers)
        rows.update_attempt(
            store, bake_id, number, result=result, reason=reason, finished_at=time.time()
        )
    _echo(f"Attempt #{number} {result}" + (f": {reason}" if reason else ""))
    if result != "succeeded":
        _echo(f"Hint: restart from the failed tasks with: neuro-jupyter restart {bake_id}")


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Ignore a signal in the executor only."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit code is 0 when the attempt succeeded."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or not args[1].isdigit():
        print("usage: python -m neuro_jupyter.core.bake.executor BAKE_ID ATTEMPT", file=sys.stderr)
        return 2
    bake_id, number = args[0], int(args[1])
    for sig in (signal.SIGHUP, signal.SIGINT):
        # a handler that does nothing, not SIG_IGN: an ignored signal stays ignored in the
        # task processes after exec, a handler goes back to the default there
        signal.signal(sig, _ignore)
    try:
        result, reason = execute(bake_id, number)
    except NeuroJupyterError as exc:
        _finish(bake_id, number, "failed", str(exc))
        return 1
    except Exception as exc:  # a bug: keep the traceback in the log, close the attempt
        traceback.print_exc()
        _finish(bake_id, number, "failed", f"internal error: {type(exc).__name__}: {exc}")
        return 1
    finally:
        sys.stdout.flush()
    _finish(bake_id, number, result, reason)
    return 0 if result == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
