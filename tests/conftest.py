"""Fixtures shared by every test: each test gets its own neuro-jupyter home (store, logs)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Helpers shared across test folders (``import lab_browser``, ``import bake_workflows``): with
# ``--import-mode=importlib`` tests/ is not on sys.path, so its _support folder is put there.
SUPPORT = str(Path(__file__).resolve().parent / "_support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)


_SESSION_HOME = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """A session-wide NEURO_JUPYTER_HOME before any fixture runs: module- and session-scoped
    fixtures run before ``a_home`` and must not write to the user's real state folder."""
    import os
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="nj-session-home-"))
    config.stash[_SESSION_HOME] = home
    os.environ["NEURO_JUPYTER_HOME"] = str(home)
    # project environments (core.envs) are keyed by content: tests share them, so the
    # template's is built once per session, not once per test home
    os.environ["NEURO_JUPYTER_ENVS"] = str(home / "envs")
    # kernels that `build` registers go to a folder of the session, never the user's; Jupyter
    # servers keep their usual runtime folder
    from jupyter_core.paths import jupyter_runtime_dir

    os.environ.setdefault("JUPYTER_RUNTIME_DIR", jupyter_runtime_dir())
    os.environ["JUPYTER_DATA_DIR"] = str(home / "jupyter-data")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop what module- or session-scoped fixtures left running in the session home, then
    remove it, so no session leaves processes or a folder behind."""
    import shutil

    home = config.stash.get(_SESSION_HOME, None)
    if home is None:
        return
    try:
        _stop_leftovers(home, wait=10.0)
    finally:
        _close_stores()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def a_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh NEURO_JUPYTER_HOME for this test, so tests never share state or touch ~."""
    from neuro_jupyter.core.store import db

    home = tmp_path_factory.mktemp("nj-home")
    monkeypatch.setenv("NEURO_JUPYTER_HOME", str(home))
    if hasattr(db._local, "stores"):
        db._local.stores = {}
    yield home
    _stop_leftovers(home)
    _close_stores()


def _close_stores() -> None:
    """Close this thread's cached store connections (the next test opens its own)."""
    from neuro_jupyter.core.store import db

    for store in getattr(db._local, "stores", {}).values():
        store.close()
    db._local.stores = {}


def _stop_leftovers(home: Path, *, wait: float = 0.0) -> None:
    """Stop live jobs and bake executors a failed test left running in its home, so no test
    leaves processes behind (a passing test stops its own); ``wait``: seconds to let the
    signalled executors exit (before their home is removed)."""
    import os
    import signal
    import time

    if not (home / "state.db").exists():
        return
    from neuro_jupyter.core.backends.records import request_stop, wait_stopped
    from neuro_jupyter.core.bake.liveness import executor_alive
    from neuro_jupyter.core.errors import BackendError, StoreError
    from neuro_jupyter.core.store import bakes, open_store
    from neuro_jupyter.core.store.jobs import active_jobs

    try:  # a fault test may leave a store that cannot be used: it ends its own processes
        store = open_store(home / "state.db", repair=False)
        store.query("SELECT 1 FROM jobs LIMIT 1")
    except StoreError:
        return
    leftovers = []
    for record in active_jobs(store=store):
        try:
            leftovers.append(request_stop(record))
        except BackendError:  # e.g. a Ray cluster a test stopped: nothing left to stop
            pass
    if leftovers:
        wait_stopped(leftovers, grace=1)
    signalled = []
    for row in store.query("SELECT bake_id, number FROM attempts WHERE finished_at IS NULL"):
        attempt = bakes.get_attempt(store, row["bake_id"], row["number"])
        if attempt.executor_pid and executor_alive(attempt):
            os.kill(attempt.executor_pid, signal.SIGTERM)  # the executor cancels its tasks
            signalled.append(attempt)
    from neuro_jupyter.core.backends.local.procs import is_alive
    from neuro_jupyter.core.store.envs import active_builds

    for build in active_builds(store=store):  # environment builds a test left running
        if build.pid and is_alive(build.pid, build.pid_start):
            os.kill(build.pid, signal.SIGTERM)  # the builder stops its installer, cleans up
    deadline = time.monotonic() + wait
    while signalled and time.monotonic() < deadline:
        time.sleep(0.05)
        signalled = [a for a in signalled if executor_alive(a)]


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A real Ray head on 127.0.0.1 (started on first use, stopped after the session): the
    address of its dashboard's Jobs API."""
    from ray_head import start_head

    head = start_head()
    try:
        yield head.address
    finally:
        head.stop()


@pytest.fixture(scope="session")
def ray_head_group(ray_cluster: str) -> int:
    """The process group of the session's Ray head (to inspect its sockets)."""
    from ray_head import RUNNING

    return RUNNING[ray_cluster].process.pid
