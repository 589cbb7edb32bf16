"""The keeper: a parent that ends a worker's whole process tree when the worker ends or dies.

A job's supervisor and a bake's executor (the workers) fork at their start; the parent becomes
the keeper, a child subreaper (``PR_SET_CHILD_SUBREAPER``): every process that the worker's
jobs leave orphaned, even one that left its process group and session (``setsid``, a daemon's
double fork), is re-parented to the keeper instead of to init. The keeper reaps those while the
worker runs, and when the worker exits it SIGKILLs what is left below it. When the worker was
killed (SIGKILL, a crash by a signal) it first ends the tree, then records what happened
(``on_death``, retried while the store refuses writes), and only then reaps the worker: until
then the worker is a zombie, which readers take for "being handled" (``procs.kept``), not
for "died" — so the recorded reason is the keeper's, which knows the signal.

Neither a process group (``setsid`` leaves it) nor PR_SET_PDEATHSIG (it reaches only the
direct child) does this; a cgroup would, but needs root or a delegated hierarchy. What the
keeper cannot catch: the keeper and its worker both killed at once; the worker is put in a
process group of its own, so one ``kill -- -PGID`` does not end both.

SIGTERM sent to the keeper is passed to the worker (it stops the job or cancels the bake);
SIGINT and SIGHUP are ignored, as the workers do.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

from .limits import libc
from .procs import descendants, start_ticks

PR_SET_CHILD_SUBREAPER = 36
END_TREE_TIMEOUT = 10.0

OnDeath = Callable[[int, int, int], None]
"""``on_death(worker_pid, signal, processes_stopped)``."""


def keep(on_death: OnDeath) -> None:
    """Fork: the child returns and goes on as the worker; this process becomes its keeper and
    never returns. Without subreapers (not Linux) or a fork, the caller goes on alone."""
    lib = libc()
    if lib is None or not hasattr(os, "fork"):
        return
    if lib.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:  # before the fork: no window
        return
    try:
        pid = os.fork()
    except OSError:
        lib.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        return
    if pid == 0:  # the worker (the subreaper flag is not inherited)
        try:
            os.setpgid(0, 0)
        except OSError:  # pragma: no cover - a session leader cannot change its group
            pass
        return
    exit_flushed(_keep(pid, on_death))


def exit_flushed(code: int) -> NoReturn:
    """Leave this (forked) process at once, after writing what stdout and stderr hold: no
    ``finally`` or ``atexit`` of the code it was forked from runs twice."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # exiting anyway
            pass
    os._exit(code)


def _keep(worker: int, on_death: OnDeath) -> int:
    """Wait for the worker, reaping orphans; then end the tree; the keeper's exit code."""
    code = 1
    try:
        def forward(signum: int, frame: FrameType | None) -> None:
            try:
                os.kill(worker, signum)
            except ProcessLookupError:
                pass

        signal.signal(signal.SIGTERM, forward)
        for sig in (signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
            if info is None:  # pragma: no cover - only with WNOHANG
                continue
            if info.si_pid == worker:
                break
            _reap(info.si_pid)  # an orphan of the worker's jobs
        killed = info.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
        stopped = end_tree(worker)
        if killed:
            try:
                on_death(worker, info.si_status, stopped)
            except Exception:
                traceback.print_exc()
            end_tree(worker)
        code = 128 + info.si_status if killed else info.si_status
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            os.waitpid(worker, 0)
        except ChildProcessError:
            pass
    return code


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def end_tree(worker: int) -> int:
    """SIGKILL every process below the keeper but ``worker``, round after round until none is
    left (a killed process's children come to the keeper); how many were running."""
    me = os.getpid()
    running: set[int] = set()
    deadline = time.monotonic() + END_TREE_TIMEOUT
    while True:
        below, children = descendants(me)
        below = [pid for pid in below if pid != worker]
        if not below or time.monotonic() > deadline:
            return len(running)
        for pid in below:
            if start_ticks(pid) is not None:  # not a zombie
                running.add(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.002)
        for pid in children:
            if pid != worker:
                _reap(pid)
