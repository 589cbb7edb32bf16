"""Fixtures of the fault tests (issue 15): a world per test (``fault_world``), and one whose
state folder can be made full."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fault_world import World, end_leftovers, make_world
from faultfs import FailingWritesDisk, TmpfsDisk, build_shim, can_mount, tmpfs
from waiting import wait_until


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A project with the fault jobs and batches, and a state folder of its own."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("NEURO_JUPYTER_HOME", str(home))
    yield make_world(tmp_path / "proj", home, tmp_path / "gate", {})
    end_leftovers(home)


@pytest.fixture(params=["tmpfs", "failing-writes"])
def full_world(request: pytest.FixtureRequest, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, Any]]:
    """A world whose state folder can be made full: a 2 MB tmpfs (as root), or (everywhere)
    writes failing with ENOSPC through a preloaded library."""
    home = tmp_path / "home"
    monkeypatch.setenv("NEURO_JUPYTER_HOME", str(home))
    with ExitStack() as stack:
        disk: Any
        if request.param == "tmpfs":
            why = can_mount()
            if why:
                pytest.skip(f"a 2 MB tmpfs is not possible here: {why}")
            try:
                stack.enter_context(tmpfs(home))
            except subprocess.CalledProcessError as exc:
                pytest.skip(f"mounting a tmpfs failed: {exc.stderr!r}")
            disk = TmpfsDisk(home)
        else:
            home.mkdir()
            library = build_shim(tmp_path)
            if isinstance(library, str):
                pytest.skip(library)
            disk = FailingWritesDisk(home, library, tmp_path / "disk-is-full")
        stack.callback(end_leftovers, home)  # before the tmpfs goes
        yield make_world(tmp_path / "proj", home, tmp_path / "gate", disk.env), disk


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """``wait_for(predicate, timeout=30)``: poll until true, else fail."""
    return lambda predicate, timeout=30.0: wait_until(predicate, timeout, interval=0.05)

