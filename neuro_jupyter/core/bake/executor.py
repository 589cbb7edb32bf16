"""The bake's main job: ``python -m neuro_jupyter.core.bake.executor [--wait] BAKE_ID ATTEMPT``.

Started detached (its own session) so it outlives the kernel or the CLI that started it. It
plans the bake, runs the attempt (``runner.BakeRunner``) and writes the attempt's result. Like
neuro-flow's ``execute``, it ignores SIGHUP and SIGINT; SIGTERM cancels the attempt (``always()``
tasks still run). Its output is the attempt's log.

Its start-up (Python, imports, planning the flow: 0.3–0.5 s at 1000 tasks) overlaps the
caller's own planning: ``spawn_executor`` starts it with ``--wait`` and a request file (project,
batch, params, overlay) *before* the caller checks the workflow and records the bake. The
executor imports and plans, then waits on its stdin. ``LaunchedExecutor.go`` (the bake is
recorded) lets it run: it uses its own plan when the config snapshot and params recorded with
the bake are the ones it planned from, else it re-plans from the snapshot (a file changed in
between), as it always does without ``--wait`` (recovery, tests). ``abort`` (a workflow error,
a name conflict) stops it before it has touched the store, and removes its files: nothing of
the bake remains.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from .. import paths
from ..backends.local import keeper
from ..backends.local.procs import start_ticks, wait_gone
from ..errors import BackendError, NeuroJupyterError, NotFoundError, os_error
from ..store import bakes as rows
from ..store.db import Store, open_store
from ..store.retry import until_written
from . import forkserver

if TYPE_CHECKING:
    from ..workflow.batch_api import BatchPlan

_CHILDREN: list[subprocess.Popen[bytes]] = []
DEFAULT_LIFE_SPAN = 10 * 24 * 3600.0  # neuro-flow's default life span of a bake's executor
GO = b"go\n"


@dataclass
class LaunchedExecutor:
    """An executor started with ``--wait``: ``go`` once its attempt is recorded, else ``abort``.

    ``popen`` is set when this process started it (``python -m``); a forked one
    (``forkserver``) is the fork server's child, known here by its pid."""

    pid: int
    go_fd: int | None  # the write end of its stdin
    bake_id: str
    number: int
    log_path: Path
    request_path: Path
    popen: subprocess.Popen[bytes] | None = None
    released: bool = False

    def go(self, store: Store) -> rows.AttemptRecord:
        """Record the executor with its attempt (the row must exist) and let it run."""
        _record_executor(store, self.bake_id, self.number, self.pid,
                         log_path=str(self.log_path))
        self.released = True
        try:
            if self.go_fd is not None:
                os.write(self.go_fd, GO)
        except OSError:  # it died already: readers close the attempt with its log's last line
            pass
        self.close_stdin()
        return rows.get_attempt(store, self.bake_id, self.number)

    def close_stdin(self) -> None:
        """End the executor's stdin: before ``go``, it then leaves (as when the caller dies)."""
        if self.go_fd is not None:
            os.close(self.go_fd)
            self.go_fd = None

    def wait(self, timeout: float) -> bool:
        """Whether the executor has exited within ``timeout`` seconds."""
        if self.popen is not None:
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        return wait_gone(self.pid, timeout)

    def abort(self) -> None:
        """Stop the waiting executor and remove its files (nothing of the bake is left)."""
        if self.released:
            return
        self.released = True
        self.close_stdin()
        try:
            os.kill(self.pid, signal.SIGTERM)  # before "go" it has only read files and planned
        except ProcessLookupError:
            pass
        self.wait(2.0)  # a forked one is reaped by its fork server, a started one here
        discard(self.log_path, self.request_path)


def _record_executor(store: Store, bake_id: str, number: int, pid: int, **fields: object) -> None:
    """Record ``pid`` (and its start ticks, so a reused pid is not taken for it) as the
    attempt's executor."""
    ticks = start_ticks(pid)
    rows.update_attempt(
        store, bake_id, number, executor_pid=pid, executor_id=f"pid {pid}",
        executor_start="" if ticks is None else str(ticks), **fields,
    )


def executor_log(bake_id: str, number: int) -> Path:
    """The log (the output) of an attempt's executor."""
    return paths.logs_dir() / "bakes" / bake_id / f"executor-{number}.log"


def discard(log_path: Path, request_path: Path) -> None:
    for path in (request_path, log_path):
        path.unlink(missing_ok=True)
    try:
        log_path.parent.rmdir()  # only when empty: a restart's folder holds earlier attempts
    except OSError:
        pass


def spawn_executor(
    bake_id: str, number: int, cwd: Path, *, batch: str, params: Mapping[str, str],
    overlay: Mapping[str, str] | None, backend: str = "local",
) -> LaunchedExecutor:
    """Start the executor of attempt ``number``, detached, to plan ``batch`` (with ``overlay``
    in place of files) while the caller does; it waits for ``go`` before touching the store.

    It is forked by this process's fork server (``forkserver``: no start-up, no imports) when
    there is one, else started with ``python -m``."""
    for child in list(_CHILDREN):  # reap executors this process started earlier
        if child.poll() is not None:
            _CHILDREN.remove(child)
    log_path = executor_log(bake_id, number)
    request_path = log_path.with_name(f"executor-{number}.request.json")
    request = {"root": str(cwd), "batch": batch, "params": dict(params), "backend": backend,
               "overlay": None if overlay is None else dict(overlay)}
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        request_path.write_text(json.dumps(request), encoding="utf-8")
    except OSError as exc:
        discard(log_path, request_path)
        raise os_error(exc, paths.home(), "starting the bake executor") from exc
    env = dict(os.environ)
    env[paths.HOME_ENV] = str(paths.home())
    args = ["--wait", bake_id, str(number), str(request_path)]
    try:
        with open(log_path, "ab") as log:
            read_end, go_fd = os.pipe()
            try:
                pid = forkserver.launch(args, cwd=str(cwd), env=env, stdin_fd=read_end,
                                        stdout_fd=log.fileno())
                if pid is not None:
                    return LaunchedExecutor(pid, go_fd, bake_id, number, log_path, request_path)
                popen = subprocess.Popen(
                    [sys.executable, "-m", "neuro_jupyter.core.bake.executor", *args],
                    cwd=str(cwd), env=env, stdin=read_end, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True, close_fds=True,
                )
            except BaseException:
                os.close(go_fd)
                raise
            finally:
                os.close(read_end)
    except (OSError, BackendError) as exc:
        discard(log_path, request_path)
        if isinstance(exc, BackendError):
            raise
        raise os_error(exc, paths.home(), "starting the bake executor") from exc
    _CHILDREN.append(popen)
    return LaunchedExecutor(popen.pid, go_fd, bake_id, number, log_path, request_path, popen)


@dataclass(frozen=True)
class Prepared:
    """What ``--wait`` planned before ``go``: used when the recorded bake matches it."""

    root: Path
    plan: BatchPlan
    config: Mapping[str, str]


def preload(backend: str, images: bool = True) -> None:
    """Before ``go``, while the caller records the bake: import what the run needs (the
    environments' code when the flow has ``images``), connect the backend (Ray) and open this
    process's store connection, so that none of it is on the way from ``go`` to the first
    task. A failure here is left to the run, which reports it."""
    from ..backends import get_backend
    from ..backends.local import child, launcher, mapping  # noqa: F401 - imported before "go"
    from . import runner  # noqa: F401

    if images:
        from ..envs import bakes  # noqa: F401

    get_backend(backend).check()  # Ray: import it, connect
    try:
        open_store(repair=False)  # the one ``execute`` uses (followed to its file, if replaced)
    except NeuroJupyterError:  # opened (and reported) after "go"
        pass


def _prepare(request_path: Path) -> Prepared | None:
    """Import what the run needs and plan from the request; None when that fails (after
    ``go``, planning from the recorded snapshot reports the error in the attempt)."""
    try:
        request: dict[str, Any] = json.loads(request_path.read_text(encoding="utf-8"))
        request_path.unlink(missing_ok=True)
        from ..project.discovery import open_project
        from ..workflow import plan_batch

        preload(request.get("backend") or "local")
        project = open_project(request["root"], record=False)
        overlay = request["overlay"]
        plan = plan_batch(project, request["batch"], params=request["params"], overlay=overlay)
    except Exception:  # reported by the plan from the snapshot, after "go"
        return None
    return Prepared(Path(project.root), plan, {**plan.config_files, **(overlay or {})})


def wait_for_go() -> bool:
    """Block until the caller says ``go`` (True) or goes away (EOF: False)."""
    try:
        data = os.read(0, len(GO))
    except OSError:
        data = b""
    null = os.open(os.devnull, os.O_RDONLY)  # nothing reads the pipe again
    os.dup2(null, 0)
    os.close(null)
    return data == GO


_STAMP: list[object] = [-1, ""]  # the second, and its "%H:%M:%S", formatted once
_LINES: list[str] = []  # log lines not written yet (``flush_echo``)
MAX_KEPT = 10_000  # log lines kept while they cannot be written (a full disk)
_DROPPED = [0]  # lines dropped beyond MAX_KEPT


def _echo(line: str) -> None:
    """Add a time-stamped line to the attempt's log; written by ``flush_echo``, which the
    runner calls with its store writes (at most every 50 ms), not one write per line: with
    ``PYTHONUNBUFFERED`` set (common in containers), each line was a system call."""
    now = int(time.time())
    if _STAMP[0] != now:
        _STAMP[:] = [now, time.strftime("%H:%M:%S", time.localtime(now))]
    _LINES.append(f"[{_STAMP[1]}] {line}\n")


def flush_echo() -> None:
    """Write the lines ``_echo`` kept to the log. When the log cannot take them (a full disk)
    they wait for the next call, the oldest dropped beyond ``MAX_KEPT`` (and counted in a
    line written with the rest): the bake goes on."""
    if not _LINES:
        return
    if _DROPPED[0]:
        _LINES.insert(0, f"[{_DROPPED[0]} log lines lost: they could not be written]\n")
        _DROPPED[0] = 0
    data = "".join(_LINES).encode()
    _LINES.clear()
    try:
        sys.stdout.flush()
        while data:
            data = data[os.write(1, data):]
    except OSError:
        _LINES.append(data.decode("utf-8", errors="replace"))
        if len(_LINES) > MAX_KEPT:
            _DROPPED[0] += len(_LINES) - MAX_KEPT
            del _LINES[: len(_LINES) - MAX_KEPT]


def execute(bake_id: str, number: int, prepared: Prepared | None = None) -> tuple[str, str]:
    """Run attempt ``number`` of the bake in this process; return its result and why."""
    from ..backends import get_backend
    from ..project.discovery import open_project
    from ..store.projects import ensure_project, get_project
    from ..workflow import plan_batch
    from .runner import BakeRunner

    store = open_store(repair=False)
    until_written(lambda: _record_executor(store, bake_id, number, os.getpid()))
    attempt = rows.get_attempt(store, bake_id, number)
    if attempt.result == "pending":
        until_written(lambda: rows.update_attempt(store, bake_id, number, result="running"))
        attempt = dataclasses.replace(attempt, result="running")
    bake = rows.get_bake(store, bake_id)
    _echo(f"Bake {bake_id} ({bake.batch}), attempt #{number}")
    record = get_project(bake.project_pk, store)
    project = open_project(record.root, record=False)
    if (
        prepared is not None and prepared.root == Path(project.root)
        and prepared.plan.batch == bake.batch and dict(prepared.config) == dict(bake.config_files)
        and dict(prepared.plan.params) == dict(bake.params)
    ):
        plan = prepared.plan
    else:
        plan = plan_batch(
            project, bake.batch, params=dict(bake.params), overlay=dict(bake.config_files)
        )
    previous: dict[str, rows.TaskRecord] = {}
    source = attempt.source_attempt
    if attempt.from_failed and source:
        previous = {task.full_id: task for task in rows.list_tasks(store, bake_id, source)}
    backend = get_backend(bake.backend)
    environments = None
    if plan.images:  # else no task has an environment
        from ..envs.bakes import task_environments

        environments = task_environments(project, plan.images, backend.name, bake.project_pk,
                                         _echo)
    runner = BakeRunner(
        store, bake, number, plan.root, project, backend=backend,
        mapper=backend.process_spec,
        logs_root=paths.logs_dir(), previous=previous,
        previous_attempt=source or 0, echo=_echo, flush_echo=flush_echo,
        environments=environments,
    )

    def record_again(new: Store) -> None:
        """A store that replaced ours: the project, the bake, the attempt and its tasks again."""
        pk = ensure_project(project.root, project.id, project.name, new, refresh=False)
        runner.bake = dataclasses.replace(runner.bake, project_pk=pk)
        rows.put_bake(new, runner.bake)
        rows.put_attempt(new, attempt)
        rows.put_tasks(new, runner.records.values())

    store.on_new_file.append(record_again)

    def on_term(signum: int, frame: FrameType | None) -> None:
        runner.external_cancel = True

    signal.signal(signal.SIGTERM, on_term)
    life_span = plan.life_span or DEFAULT_LIFE_SPAN
    runner.deadline = attempt.created_at + life_span
    gc.freeze()  # the plan's many objects live to the end: no collection needs to scan them
    result = runner.run()
    return result, runner.reason


def _finish(bake_id: str, number: int, result: str, reason: str = "") -> None:
    store = open_store(repair=False)
    asked = result
    try:
        result = until_written(lambda: _close(store, bake_id, number, asked, reason))
    except NotFoundError:  # a new store without this bake: nothing to record there
        pass
    _echo(f"Attempt #{number} {result}" + (f": {reason}" if reason else ""))
    if result != "succeeded":
        _echo(f"Hint: restart from the failed tasks with: neuro-jupyter restart {bake_id}")
    flush_echo()


def _close(store: Store, bake_id: str, number: int, result: str, reason: str) -> str:
    """Record the attempt's end (cancelled if it was cancelled meanwhile); the result."""
    with store.tx():
        current = rows.get_attempt(store, bake_id, number)
        if current.result == "cancelled":
            result = "cancelled"
        now = time.time()
        leftovers = [
            dataclasses.replace(task, status="cancelled", finished_at=now,
                                reason=task.reason or reason or "the attempt ended")
            for task in rows.list_tasks(store, bake_id, number, statuses=rows.UNFINISHED_STATUSES)
        ]
        rows.put_tasks(store, leftovers)
        rows.update_attempt(
            store, bake_id, number, result=result, reason=reason, finished_at=time.time()
        )
    return result


def _died(bake_id: str, number: int, pid: int, signum: int, stopped: int) -> None:
    """The keeper's record of an executor that was killed (every process below it has ended)."""
    from ..backends.local.procs import signal_name
    from .liveness import close_attempt

    reason = (f"the bake executor (pid {pid}) was killed by {signal_name(signum)}; its running "
              "tasks were stopped")
    if stopped:
        reason += f" ({stopped} process{'es' if stopped > 1 else ''} killed)"
    store = open_store(repair=False)
    try:
        until_written(lambda: close_attempt(store, bake_id, number, reason))
    except NotFoundError:  # killed before its attempt was recorded: nothing to close
        pass


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Ignore a signal in the executor only."""


def ignore_signals() -> None:
    """SIGHUP and SIGINT do nothing to an executor, as to neuro-flow's."""
    for sig in (signal.SIGHUP, signal.SIGINT):
        # a handler that does nothing, not SIG_IGN: an ignored signal stays ignored in the
        # task processes after exec, a handler goes back to the default there
        signal.signal(sig, _ignore)


def keep_attempt(bake_id: str, number: int) -> None:
    """Become the attempt's keeper (this process) and its executor (a forked child that
    returns): whatever kills the executor, its tasks end and the attempt is closed."""
    keeper.keep(functools.partial(_died, bake_id, number))


def run_attempt(bake_id: str, number: int, prepared: Prepared | None) -> int:
    """Run the attempt (``go`` was given) and record its end; the exit code."""
    try:
        result, reason = execute(bake_id, number, prepared)
    except NeuroJupyterError as exc:
        _finish(bake_id, number, "failed", str(exc))
        return 1
    except Exception as exc:  # a bug: keep the traceback in the log, close the attempt
        flush_echo()
        traceback.print_exc()
        _finish(bake_id, number, "failed", f"internal error: {type(exc).__name__}: {exc}")
        return 1
    finally:
        flush_echo()
    _finish(bake_id, number, result, reason)
    return 0 if result == "succeeded" else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit code is 0 when the attempt succeeded."""
    args = list(sys.argv[1:] if argv is None else argv)
    wait = bool(args) and args[0] == "--wait"
    if wait:
        args = args[1:]
    if len(args) != (3 if wait else 2) or not args[1].isdigit():
        print("usage: python -m neuro_jupyter.core.bake.executor BAKE_ID ATTEMPT\n"
              "       python -m neuro_jupyter.core.bake.executor --wait BAKE_ID ATTEMPT REQUEST",
              file=sys.stderr)
        return 2
    bake_id, number = args[0], int(args[1])
    ignore_signals()
    prepared = None
    if wait:
        request = Path(args[2])
        prepared = _prepare(request)
        keep_attempt(bake_id, number)  # while the caller records the bake: not on its critical path
        if not wait_for_go():
            discard(executor_log(bake_id, number), request)
            return 0
    else:
        keep_attempt(bake_id, number)
    return run_attempt(bake_id, number, prepared)


if __name__ == "__main__":
    sys.exit(main())
