"""Readers say when the disk holding the state folder is full (``core/store/space.py``): the
note, once when it fills and once when it has room again, inside a followed log too."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuro_jupyter.core import logfiles
from neuro_jupyter.core.store import space


def test_the_note_names_the_folder_and_a_watch_says_each_change_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    free = {"bytes": 10 << 30}
    monkeypatch.setattr(space, "free_bytes", lambda folder: free["bytes"])
    monkeypatch.setattr(space, "CHECK_EVERY", 0.0)
    assert space.full_disk_note(tmp_path) == ""
    watch = space.SpaceWatch(tmp_path)
    assert watch.check() == ""
    free["bytes"] = 4096
    note = watch.check()
    assert note.startswith(f"The disk holding {tmp_path} is full (4,096 bytes free)")
    assert note == space.full_disk_note(tmp_path)
    assert watch.check() == ""  # said once
    free["bytes"] = 1 << 20
    assert watch.check() == "The disk holding the state folder has room again."
    assert watch.check() == ""


def test_a_followed_log_says_when_the_disk_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(space, "free_bytes", lambda folder: 0)
    log = tmp_path / "job.log"
    log.write_text("one\n")
    turns = iter([True, False])
    chunks = list(logfiles.follow(lambda offset: logfiles.read_from(log, offset),
                                  lambda: next(turns), poll=0.01))
    assert chunks[0] == "one\n"
    assert chunks[1].startswith("neuro-jupyter: The disk holding ") and "is full" in chunks[1]
    assert len(chunks) == 2


def test_the_real_disk_of_a_folder_is_measured(tmp_path: Path) -> None:
    assert (space.free_bytes(tmp_path) or 0) > 0
    assert space.free_bytes(tmp_path / "missing") is None



def test_a_state_folder_that_cannot_exist_is_no_full_disk_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The look at the disk comes before every command: a state folder that cannot be made
    is left to the command, which says why."""
    from neuro_jupyter.cli import main

    (tmp_path / "file").write_text("")
    monkeypatch.setenv("NEURO_JUPYTER_HOME", str(tmp_path / "file" / "home"))
    assert space.full_disk_note() == ""
    assert main(["projects"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Cannot use ") and "as the state folder" in err
