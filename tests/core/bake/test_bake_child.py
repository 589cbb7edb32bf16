"""Bake task processes (``backends/local/child.py``): posix_spawn in the working folder, Popen
elsewhere, output piped to a log created on the first byte, the pipe closed only on request."""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

import pytest

from neuro_jupyter.core.backends.base import ExitInfo, ProcessSpec
from neuro_jupyter.core.backends.local import child
from neuro_jupyter.core.errors import BackendError


def _finish(execution: child.ChildExecution) -> ExitInfo:
    """Wait on the pidfd as the bake runner does, then reap."""
    pidfd = execution.fileno()
    select.select([pidfd], [], [], 30)
    info = execution.poll()
    assert info is not None
    return info


def _spec(argv: tuple[str, ...], workdir: Path, log: Path, **env: str) -> ProcessSpec:
    return ProcessSpec(argv=argv, workdir=workdir, log_path=log, env=env)


def test_a_task_in_the_working_folder_is_spawned_in_its_own_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "logs" / "a.log"  # the folder is created with the first byte
    script = 'echo "$PWD $GREETING"; cut -d" " -f6 /proc/$$/stat; echo err >&2; cat; exit 3'
    execution = child.start_child(
        _spec(("bash", "-c", script), tmp_path, log, GREETING="hi"), raw_id="job-1"
    )
    assert isinstance(execution.popen, child.SpawnedProcess)
    info = _finish(execution)
    assert (info.exit_code, info.reason) == (3, "exit code 3")
    lines = log.read_text().splitlines()
    assert lines[0] == f"{tmp_path} hi"
    assert int(lines[1]) == execution.pid  # setsid: the task leads its own session
    assert lines[2:] == ["err"]  # stdin is /dev/null: cat read nothing
    assert execution.has_output


def test_elsewhere_popen_starts_it_and_a_silent_task_has_no_log(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    log = tmp_path / "b.log"
    execution = child.start_child(_spec(("true",), other, log), raw_id="job-2")
    assert not isinstance(execution.popen, child.SpawnedProcess)
    assert _finish(execution).ok
    assert not log.exists() and not execution.has_output
    with pytest.raises(BackendError, match="no folder"):
        child.start_child(_spec(("true",), tmp_path / "missing", log), raw_id="job-3")


def test_an_unknown_command_is_a_backend_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BackendError, match="no-such-command-here: command not found"):
        child.start_child(
            _spec(("no-such-command-here",), tmp_path, tmp_path / "c.log"), raw_id="job-4"
        )


def test_the_pipe_stays_open_at_its_end_until_close_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A selector must drop the pipe before it is closed (a reused number could otherwise
    stay registered for the old pipe), so ``pump`` reports the end and does not close it."""
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "d.log"
    execution = child.start_child(
        _spec(("bash", "-c", "echo out; sleep 0.2"), tmp_path, log), raw_id="job-5"
    )
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
