"""Executors forked by the calling process's fork server: same bakes, no start-up cost."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.core.backends.local.procs import is_alive, wait_gone
from neuro_jupyter.core.bake import executor, forkserver, start_bake, task_log
from neuro_jupyter.core.store import bakes as rows
from neuro_jupyter.core.store import open_store

FLOW = "kind: batch\ntasks:\n  - id: a\n    bash: echo \"$WORD $$ $(cut -d' ' -f6 /proc/$$/stat)\"\n"


def _ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2:].split()[1])


def _server_pid() -> int:
    assert forkserver._server, "no fork server was started"
    return forkserver._server[0].popen.pid


def test_the_executor_is_forked_in_its_own_session_with_the_callers_env(
    a_project: Any, wait_finished: Any, monkeypatch: pytest.MonkeyPatch,
    launched_executors: list[executor.LaunchedExecutor],
) -> None:
    launched = launched_executors
    assert forkserver.prestart()
    server = _server_pid()
    monkeypatch.setenv("WORD", "set-after-the-server-started")
    bake = start_bake(a_project, "cell", text=FLOW.replace("$WORD", "$WORD"))
    pid = launched[-1].pid
    assert launched[-1].popen is None  # forked, not started with python -m
    assert _ppid(pid) == server or not is_alive(pid)
    state = wait_finished(a_project, bake)
    assert state.attempt.result == "succeeded"
    word, task_pid, sid = task_log(a_project, bake, "a").split()
    assert word == "set-after-the-server-started"
    assert int(sid) == int(task_pid)  # the task leads its own session, as before
    # the forked process is the executor's keeper; the executor is the child it forked
    assert state.attempt.executor_pid and state.attempt.executor_pid not in (pid, server)
    assert wait_gone(pid, 10)  # exited and reaped by the server: no zombie left behind


def test_a_forked_executor_gets_the_callers_umask_as_it_is_now(
    a_project: Any, wait_finished: Any, launched_executors: list[executor.LaunchedExecutor],
) -> None:
    assert forkserver.prestart()
    launched = launched_executors
    flow = "kind: batch\ntasks:\n  - id: a\n    cmd: sh -c umask\n"
    old = os.umask(0o027)
    try:
        bake = start_bake(a_project, "cell", text=flow)
    finally:
        os.umask(old)
    assert launched[-1].popen is None
    assert wait_finished(a_project, bake).attempt.result == "succeeded"
    assert task_log(a_project, bake, "a").strip() == "0027"


def test_turned_off_the_executor_is_started_with_python_m(
    a_project: Any, wait_finished: Any, monkeypatch: pytest.MonkeyPatch,
    launched_executors: list[executor.LaunchedExecutor],
) -> None:
    monkeypatch.setenv(forkserver.ENV, "0")
    launched = launched_executors
    bake = start_bake(a_project, "cell", text=FLOW.replace("$WORD", "cold"))
    assert launched[-1].popen is not None
    assert launched[-1].popen.pid == launched[-1].pid
    assert wait_finished(a_project, bake).attempt.result == "succeeded"
    assert task_log(a_project, bake, "a").split()[0] == "cold"


def test_a_server_that_died_or_left_is_replaced(
    a_project: Any, wait_finished: Any, monkeypatch: pytest.MonkeyPatch,
    launched_executors: list[executor.LaunchedExecutor],
) -> None:
    """The executor that finds its server gone is started with python -m; the next one is
    forked by a new server."""
    launched = launched_executors
    assert forkserver.prestart()
    first = _server_pid()
    os.kill(first, 9)
    assert wait_gone(first, 10)
    bake = start_bake(a_project, "cell", text=FLOW.replace("$WORD", "two"))
    assert launched[-1].popen is not None
    assert wait_finished(a_project, bake).attempt.result == "succeeded"
    assert forkserver.prestart() and _server_pid() != first
    bake = start_bake(a_project, "cell", text=FLOW.replace("$WORD", "three"))
    assert launched[-1].popen is None
    assert wait_finished(a_project, bake).attempt.result == "succeeded"
    # a server that left after its idle time
    forkserver._drop(forkserver._server[0])
    monkeypatch.setattr(forkserver, "IDLE_EXIT", 0.3)
    assert forkserver.prestart()
    idle = forkserver._server[0].popen
    assert idle.wait(timeout=30) == forkserver.IDLE_CODE
    bake = start_bake(a_project, "cell", text=FLOW.replace("$WORD", "four"))
    assert launched[-1].popen is not None
    assert wait_finished(a_project, bake).attempt.result == "succeeded"
    assert task_log(a_project, bake, "a").split()[0] == "four"


def test_a_process_forks_from_its_second_executor_on(a_project: Any, tmp_path: Path) -> None:
    """A process that starts one executor (the CLI) never starts a server; the second start
    starts it in the background."""
    script = tmp_path / "caller.py"
    script.write_text(textwrap.dedent(f"""
        from neuro_jupyter.core.bake import executor, forkserver, start_bake
        from neuro_jupyter.core.project import open_project
        launched = []
        spawn = executor.spawn_executor
        def keep(*args, **kwargs):
            launched.append(spawn(*args, **kwargs))
            return launched[-1]
        executor.spawn_executor = keep
        project = open_project({str(a_project.root)!r})
        start_bake(project, "cell", text={FLOW!r})
        print(len(forkserver._server), launched[-1].popen is not None)
        start_bake(project, "cell", text={FLOW!r})
        print(len(forkserver._server), launched[-1].popen is not None)
        assert forkserver.prestart()
        start_bake(project, "cell", text={FLOW!r})
        print(len(forkserver._server), launched[-1].popen is not None)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    assert out == ["0 True", "1 True", "1 False"]


def test_the_server_leaves_with_its_caller_and_the_bake_goes_on(
    a_project: Any, wait_finished: Any, tmp_path: Path
) -> None:
    """The caller (a kernel, say) exits mid-bake: the server goes, the executor runs on."""
    flow = "kind: batch\ntasks:\n  - id: a\n    bash: sleep 1; echo done\n"
    script = tmp_path / "caller.py"
    script.write_text(textwrap.dedent(f"""
        from neuro_jupyter.core.bake import forkserver, start_bake
        from neuro_jupyter.core.project import open_project
        assert forkserver.prestart()
        bake = start_bake(open_project({str(a_project.root)!r}), "cell", text={flow!r})
        print(bake.bake_id, forkserver._server[0].popen.pid, flush=True)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    bake_id, server = out[0], int(out[1])
    assert wait_gone(server, 30)
    state = wait_finished(a_project, bake_id)
    assert state.attempt.result == "succeeded"
    assert task_log(a_project, bake_id, "a").strip() == "done"


def test_a_task_gets_only_stdin_stdout_and_stderr(a_project: Any, wait_finished: Any) -> None:
    """Nothing of the server or the caller leaks into a forked executor's tasks."""
    assert forkserver.prestart()
    flow = "kind: batch\ntasks:\n  - id: a\n    cmd: ls -1 /proc/self/fd\n"
    bake = start_bake(a_project, "cell", text=flow)
    assert wait_finished(a_project, bake).attempt.result == "succeeded"
    assert task_log(a_project, bake, "a").split() == ["0", "1", "2", "3"]  # 3: ls's listing


def test_a_restart_goes_through_the_server_too(
    a_project: Any, wait_finished: Any, launched_executors: list[executor.LaunchedExecutor],
) -> None:
    from neuro_jupyter.core.bake import restart_bake

    flow = "kind: batch\ntasks:\n  - id: a\n    bash: test -e flag && echo ok\n"
    bake = start_bake(a_project, "cell", text=flow)
    assert wait_finished(a_project, bake).attempt.result == "failed"
    (a_project.root / "flag").write_text("")
    launched = launched_executors
    assert forkserver.prestart()
    attempt = restart_bake(a_project, bake.bake_id)
    assert launched[-1].popen is None and attempt.executor_pid == launched[-1].pid
    state = wait_finished(a_project, bake.bake_id, attempt.number)
    assert state.attempt.result == "succeeded"
    store = open_store()
    assert rows.get_attempt(store, bake.bake_id, 2).result == "succeeded"


def test_a_server_that_cannot_start_is_not_tried_again(
    a_project: Any, wait_finished: Any, monkeypatch: pytest.MonkeyPatch,
    launched_executors: list[executor.LaunchedExecutor],
) -> None:
    """A server that does not say it is ready (say, an import failed) is dropped, and this
    process starts its executors with python -m from then on."""
    monkeypatch.setattr(forkserver, "_broken", set())
    if forkserver._server:
        forkserver._drop(forkserver._server[0])
    monkeypatch.setattr(forkserver, "READY", b"something else\n")
    assert not forkserver.prestart()
    assert forkserver._server == []
    launched = launched_executors
    for word in ("one", "two"):
        bake = start_bake(a_project, "cell", text=FLOW.replace("$WORD", word))
        assert launched[-1].popen is not None
        assert forkserver._server == []  # not started again
        assert wait_finished(a_project, bake).attempt.result == "succeeded"


def test_a_server_still_starting_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the server says it is ready, executors start with python -m, at once."""
    if forkserver._server:
        forkserver._drop(forkserver._server[0])
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    importing = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ours.settimeout(forkserver.REPLY_TIMEOUT)
    server = forkserver._Server(importing, ours, forkserver._key())
    monkeypatch.setattr(forkserver, "_server", [server])
    try:
        assert forkserver._ready_server(start=True) is None
        assert forkserver._server == [server] and not forkserver._broken
        theirs.send(forkserver.READY)
        assert forkserver._ready_server(start=True) is server
    finally:
        theirs.close()
        importing.kill()
        forkserver._drop(server)
