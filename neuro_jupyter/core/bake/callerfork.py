"""The CLI's executor: the calling process itself, forked once it has planned the flow.

``neuro-jupyter bake`` plans the flow to check it before anything is recorded; an executor
started with ``python -m`` then spends 0.15–0.3 s (more on a loaded machine) on Python's start,
its imports and the same plan again, on every bake's critical path. A process that owns all of
its state, as the CLI does, can instead fork: the child has the imports and the plan, becomes
the executor (its own session, its log as stdout and stderr, the project as its folder) and
waits for ``go`` as an executor started with ``--wait`` does.

Only for callers that say so (``start_bake(..., fork_caller=True)``) and only when safe: one
thread (a fork copies no other thread), Linux, fork servers not turned off
(``NEURO_JUPYTER_FORKSERVER=0`` turns this off too). The caller's store connections are closed
first: SQLite's locks belong to a process, so its state must not cross a fork. Anything else
falls back to ``spawn_executor``. A kernel or the Jupyter server never forks itself (threads,
sockets, their memory): they use the fork server.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import NoReturn

from .. import paths
from ..backends.local.keeper import exit_flushed
from ..errors import os_error
from ..store.db import close_stores
from . import executor, forkserver

_FORKED: list[int] = []  # executors this process forked, reaped when it forks again


def usable() -> bool:
    """Whether this process may fork itself into an executor now."""
    return forkserver.usable() and threading.active_count() == 1


def fork_executor(bake_id: str, number: int, cwd: Path, prepared: executor.Prepared,
                  backend: str = "local") -> executor.LaunchedExecutor:
    """Fork the executor of attempt ``number`` with the caller's ``prepared`` plan; it waits
    for ``go`` before touching the store (``LaunchedExecutor.go``/``abort``)."""
    reap()
    log_path = executor.executor_log(bake_id, number)
    request_path = log_path.with_name(f"executor-{number}.request.json")  # none: nothing to remove
    home = str(paths.home())
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise os_error(exc, paths.home(), "starting the bake executor") from exc
    read_end, go_fd = os.pipe()
    close_stores()
    for stream in (sys.stdout, sys.stderr):  # what is buffered is printed once, here
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in (log_fd, read_end, go_fd):
            os.close(fd)
        executor.discard(log_path, request_path)
        raise os_error(exc, paths.home(), "starting the bake executor") from exc
    if pid == 0:
        os.close(go_fd)
        _become_executor(bake_id, number, prepared, read_end, log_fd, cwd, home, request_path,
                         backend)
    os.close(read_end)
    os.close(log_fd)
    _FORKED.append(pid)
    return executor.LaunchedExecutor(pid, go_fd, bake_id, number, log_path, request_path)


def _become_executor(bake_id: str, number: int, prepared: executor.Prepared, stdin_fd: int,
                     log_fd: int, cwd: Path, home: str, request_path: Path,
                     backend: str) -> NoReturn:
    """In the forked child: run the attempt as ``python -m ...executor --wait`` would, then
    leave without the caller's exit handlers."""
    code = 1
    try:
        os.setsid()
        os.dup2(stdin_fd, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(stdin_fd)
        os.close(log_fd)
        os.environ[paths.HOME_ENV] = home
        os.chdir(cwd)
        executor.ignore_signals()
        executor.keep_attempt(bake_id, number)  # this process its keeper, a child goes on
        gc.freeze()  # the caller's objects (the plan) live to the end: no collection scans them
        try:  # while the caller records the bake
            executor.preload(backend, images=bool(prepared.plan.images))
        except Exception:  # reported by the run, after "go"
            pass
        if not executor.wait_for_go():
            executor.discard(executor.executor_log(bake_id, number), request_path)
            code = 0
        else:
            code = executor.run_attempt(bake_id, number, prepared)
    except BaseException:
        traceback.print_exc()
    exit_flushed(code)


def reap() -> None:
    """Collect the executors this process forked that have ended (no zombies left behind)."""
    for pid in list(_FORKED):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _FORKED.remove(pid)
