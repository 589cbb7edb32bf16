"""Fixtures of the bake tests: a project folder with batch workflows, and waiting for a bake."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_until

from neuro_jupyter.core.bake import BakeState, inspect_bake
from neuro_jupyter.core.project import open_project


@pytest.fixture()
def a_project(tmp_path: Path) -> Any:
    """An empty project (a folder with .neuro/)."""
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    return open_project(root)


@pytest.fixture()
def launched_executors(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every executor the test's bakes launch (``LaunchedExecutor``), in order."""
    from neuro_jupyter.core.bake import executor

    launched: list[Any] = []
    spawn = executor.spawn_executor

    def spawn_and_keep(*args: Any, **kwargs: Any) -> Any:
        launched.append(spawn(*args, **kwargs))
        return launched[-1]

    monkeypatch.setattr(executor, "spawn_executor", spawn_and_keep)
    return launched


@pytest.fixture()
def write_batch(a_project: Any) -> Callable[[str, str], Path]:
    """Write ``.neuro/<name>.yml``."""

    def write(name: str, text: str) -> Path:
        path = a_project.root / ".neuro" / f"{name}.yml"
        path.write_text(text)
        return path

    return write


def _wait_finished(
    project: Any, bake: Any, attempt: int | None = None, timeout: float = 60.0
) -> BakeState:
    """Poll until the attempt has finished (the executor runs in its own process)."""
    deadline = time.monotonic() + timeout
    while True:
        state = inspect_bake(project, bake, attempt)
        if state.finished:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"bake still {state.attempt.result}: {state.tasks}")
        time.sleep(0.05)


@pytest.fixture()
def wait_finished() -> Callable[..., BakeState]:
    """``wait_finished(project, bake, attempt=None, timeout=60)``."""
    return _wait_finished


def _wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> object:
    return wait_until(predicate, timeout, interval=0.05)


@pytest.fixture()
def wait_for() -> Callable[..., object]:
    """``wait_for(predicate, timeout=30)``."""
    return _wait_for
