"""Bake task processes (``backends/local/child.py``): started on a launcher thread with libc's
posix_spawn (``launcher.py``), or where that cannot be used, posix_spawn in the working folder
and Popen elsewhere; output piped to a log created on the first byte."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuro_jupyter.core.backends.base import Execution, ExitInfo, ProcessSpec
from neuro_jupyter.core.backends.local import child, launcher, spawn
from neuro_jupyter.core.errors import BackendError


@pytest.fixture(params=["launched", "fallback"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test on the launcher threads (the caller's group is busy: a task of it runs), and
    on the caller's thread (no libc spawn here)."""
    if request.param == "fallback":
        monkeypatch.setattr(spawn, "spawner", lambda: None)
        yield "fallback"
        return
    assert spawn.spawner() is not None, "libc's posix_spawn is usable on this machine"
    group = launcher.current_group()
    group.started()
    try:
        yield "launched"
    finally:
        group.stopped()


def _finish(execution: Execution) -> ExitInfo:
    """Wait on the task's descriptor as the bake runner does, then reap."""
    fd = execution.fileno()  # type: ignore[attr-defined]
    select.select([fd], [], [], 30)
    info = execution.poll()
    assert info is not None
    return info


def _spec(argv: tuple[str, ...], workdir: Path, log: Path, life_span: float | None = None,
          **env: str) -> ProcessSpec:
    return ProcessSpec(argv=argv, workdir=workdir, log_path=log, env=env, life_span=life_span)


def test_a_task_is_spawned_in_its_own_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "logs" / "a.log"  # the folder is created with the first byte
    script = ('echo "$PWD $GREETING $NEURO_JUPYTER_TASK"; cut -d" " -f6 /proc/$$/stat;'
              ' echo err >&2; cat; trap -p; exit 3')
    execution = child.start_child(
        _spec(("bash", "-c", script), tmp_path, log, GREETING="hi", NEURO_JUPYTER_TASK="t.x"),
        raw_id="job-1",
    )
    if path == "launched":
        assert isinstance(execution, launcher.LaunchedChild)
    else:
        assert isinstance(execution, child.ChildExecution)
        assert isinstance(execution.popen, child.SpawnedProcess)
    info = _finish(execution)
    assert (info.exit_code, info.reason) == (3, "exit code 3")
    lines = log.read_text().splitlines()
    assert lines[0] == f"{tmp_path} hi t.x"
    assert int(lines[1]) == execution.pid  # type: ignore[attr-defined]  # setsid: it leads
    assert lines[2:] == ["err"]  # stdin is /dev/null: cat read nothing; no trap inherited
    assert execution.has_output  # type: ignore[attr-defined]


def test_elsewhere_it_starts_in_its_folder_and_a_silent_task_has_no_log(
    tmp_path: Path, path: str
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    log = tmp_path / "b.log"
    execution = child.start_child(_spec(("bash", "-c", "pwd > where"), other, log), raw_id="j2")
    if path == "fallback":
        assert not isinstance(execution.popen, child.SpawnedProcess)  # type: ignore[attr-defined]
    assert _finish(execution).ok
    assert (other / "where").read_text() == f"{other}\n"
    assert not log.exists() and not execution.has_output  # type: ignore[attr-defined]
    with pytest.raises(BackendError, match="no folder"):
        child.start_child(_spec(("true",), tmp_path / "missing", log), raw_id="job-3")


def test_an_unknown_command_is_a_backend_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.chdir(tmp_path)
    for command in ("no-such-command-here", "./no-such-script"):
        with pytest.raises(BackendError, match=f"{command}: command not found"):
            child.start_child(_spec((command,), tmp_path, tmp_path / "c.log"), raw_id="job-4")


def test_a_large_output_is_all_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """More than a pipe holds: the output is moved to the log while the task runs."""
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "big.log"
    execution = child.start_child(
        _spec(("bash", "-c", "head -c 1000000 /dev/zero | tr '\\0' x; echo; echo end"),
              tmp_path, log), raw_id="job-6")
    fd = execution.out_fd  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while fd is not None and execution.pump():  # type: ignore[attr-defined]  # as the runner does
        assert time.monotonic() < deadline
        select.select([fd], [], [], 1)
    assert _finish(execution).ok
    assert log.read_text() == "x" * 1_000_000 + "\nend\n"


def test_the_life_span_ends_a_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   path: str) -> None:
    monkeypatch.chdir(tmp_path)
    execution = child.start_child(
        _spec(("bash", "-c", "echo started; exec sleep 60"), tmp_path, tmp_path / "l.log",
              life_span=0.5), raw_id="job-7")
    deadline = time.monotonic() + 30
    info = execution.poll()
    while info is None:  # the fallback ends it when polled after its deadline, as the runner does
        assert time.monotonic() < deadline
        time.sleep(0.05)
        info = execution.poll()
    assert info.signal is not None and info.reason == "life span ended"
    assert (tmp_path / "l.log").read_text() == "started\n"


def test_kill_ends_the_task_and_its_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          path: str) -> None:
    monkeypatch.chdir(tmp_path)
    execution = child.start_child(
        _spec(("bash", "-c", "sleep 60 & echo $! > child; wait"), tmp_path, tmp_path / "k.log"),
        raw_id="job-8")
    deadline = time.monotonic() + 30
    while not (tmp_path / "child").exists() or not (tmp_path / "child").read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    grandchild = int((tmp_path / "child").read_text())
    execution.fileno()  # type: ignore[attr-defined]  # as the runner holds it while it runs
    execution.kill(grace=5.0)
    info = _finish(execution)
    assert info.reason == "cancelled" and info.signal is not None
    while Path(f"/proc/{grandchild}").exists() and "Z" not in _state(grandchild):
        assert time.monotonic() < deadline, "the task's group outlived the kill"
        time.sleep(0.02)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_only_a_task_started_beside_another_goes_to_a_launcher_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alone, a task is spawned on the caller's thread (a chain of tasks pays no thread
    wake-ups); one started while it runs goes to a launcher thread; then alone again."""
    monkeypatch.chdir(tmp_path)
    gate = tmp_path / "gate"
    first = child.start_child(_spec(("bash", "-c", f"until [ -e {gate} ]; do sleep 0.01; done"),
                                    tmp_path, tmp_path / "1.log"), raw_id="job-a")
    second = child.start_child(_spec(("true",), tmp_path, tmp_path / "2.log"), raw_id="job-b")
    assert isinstance(first, child.ChildExecution)
    assert isinstance(second, launcher.LaunchedChild)
    assert _finish(second).ok
    gate.touch()
    assert _finish(first).ok
    third = child.start_child(_spec(("true",), tmp_path, tmp_path / "3.log"), raw_id="job-c")
    assert isinstance(third, child.ChildExecution) and _finish(third).ok


def test_a_spawn_that_fails_on_the_launcher_thread_ends_the_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Found, but not executable: on a launcher thread, the spawn itself fails (EACCES) after
    ``start_child`` returned, and the task ends with ``start_error`` and no process; on the
    caller's thread, ``start_child`` raises."""
    if path == "fallback":
        with pytest.raises(BackendError, match="Permission denied"):
            script = tmp_path / "not-executable"
            script.write_text("echo never\n")
            child.start_child(_spec((str(script),), tmp_path, tmp_path / "e.log"), "job-9")
        return
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "not-executable"
    script.write_text("echo never\n")
    execution = child.start_child(_spec((str(script),), tmp_path, tmp_path / "e.log"), "job-9")
    info = _finish(execution)
    assert isinstance(execution, launcher.LaunchedChild)
    assert execution.pid is None and info.exit_code is None
    assert execution.start_error.startswith(f"Cannot start {script}: [Errno 13]")


def test_the_pipe_stays_open_at_its_end_until_close_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the caller's thread, a selector must drop the pipe before it is closed (a reused
    number could otherwise stay registered for the old pipe), so ``pump`` reports the end and
    does not close it."""
    monkeypatch.setattr(spawn, "spawner", lambda: None)
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "d.log"
    execution = child.start_child(
        _spec(("bash", "-c", "echo out; sleep 0.2"), tmp_path, log), raw_id="job-5"
    )
    assert isinstance(execution, child.ChildExecution)
    fd = execution.out_fd
    assert fd is not None
    deadline = time.monotonic() + 30
    while execution.pump():
        assert time.monotonic() < deadline
        select.select([fd], [], [], 1)
    assert not execution.output_open
    os.fstat(fd)  # still open
    execution.close_output()
    assert execution.out_fd is None
    with pytest.raises(OSError):
        os.fstat(fd)
    assert _finish(execution).ok
    assert log.read_text() == "out\n"
