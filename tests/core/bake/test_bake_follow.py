"""Following an attempt (``core/bake/follow.py``): each read takes only the task rows written
since the last one (``tasks.rev``), and a waiting follower wakes when the executor exits."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.core.backends.local.procs import start_ticks
from neuro_jupyter.core.bake import watch_bake
from neuro_jupyter.core.bake.follow import AttemptFollower
from neuro_jupyter.core.store import bakes as rows
from neuro_jupyter.core.store import open_store
from neuro_jupyter.core.store.projects import project_pk


def _bake(project: Any) -> rows.BakeRecord:
    store = open_store()
    return rows.create_bake(store, project_pk=project_pk(project, store), batch="b", name=None,
                            tags=(), params={}, config_files={})


def _task(bake_id: str, full_id: str, seq: int, status: str = "pending",
          needs: dict[str, str] | None = None, attempt: int = 1) -> rows.TaskRecord:
    return rows.TaskRecord(bake_id=bake_id, attempt=attempt, full_id=full_id, status=status,
                           seq=seq, needs=needs or {}, created_at=1.0)


def test_each_write_gets_the_attempts_next_rev_and_readers_take_what_is_newer(
    a_project: Any
) -> None:
    store = open_store()
    bake = _bake(a_project)
    rows.create_attempt(store, bake.bake_id, 2, from_failed=True)
    rows.put_tasks(store, [_task(bake.bake_id, "a", 1), _task(bake.bake_id, "b", 2)])
    rows.put_tasks(store, [_task(bake.bake_id, "a", 1, "running")])
    rows.put_tasks(store, [_task(bake.bake_id, "a", 1, attempt=2)])  # another attempt: its own
    revs = {t.full_id: t.rev for t in rows.list_tasks(store, bake.bake_id, 1)}
    assert revs == {"a": 2, "b": 1}
    assert [t.rev for t in rows.list_tasks(store, bake.bake_id, 2)] == [1]
    assert [t.full_id for t in rows.list_tasks_since(store, bake.bake_id, 1, 1)] == ["a"]
    assert rows.list_tasks_since(store, bake.bake_id, 1, 2) == []
    both = rows.list_tasks_since(store, bake.bake_id, 1, 0)
    assert [(t.full_id, t.status) for t in both] == [("a", "running"), ("b", "pending")]


def test_a_follower_reads_what_changed_and_keeps_file_order(a_project: Any) -> None:
    store = open_store()
    bake = _bake(a_project)
    rows.put_tasks(store, [_task(bake.bake_id, "b", 2, needs={"a": "completed"}),
                           _task(bake.bake_id, "a", 1)])
    follower = AttemptFollower(bake.bake_id, None, a_project.root)
    first = follower.read()
    assert [t.full_id for t in first.tasks] == ["a", "b"]
    assert {t.full_id for t in first.changed} == {"a", "b"}
    assert first.edges == [("a", "b", "completed")]
    assert follower.read().changed == []  # nothing written since
    rows.put_tasks(store, [_task(bake.bake_id, "a", 1, "succeeded")])
    second = follower.read()
    assert [(t.full_id, t.status) for t in second.changed] == [("a", "succeeded")]
    assert [(t.full_id, t.status) for t in second.tasks] == [("a", "succeeded"), ("b", "pending")]
    assert first.tasks[0].status == "pending"  # an earlier state is not changed after the fact
    # rows added later (an action call's inner tasks, numbered after the others) are added in
    # file order, even when written before a row that comes first
    rows.put_tasks(store, [_task(bake.bake_id, "call.y", 4), _task(bake.bake_id, "call.x", 3,
                                                                   needs={"a": "completed"})])
    third = follower.read()
    assert [t.full_id for t in third.tasks] == ["a", "b", "call.x", "call.y"]
    assert ("a", "call.x", "completed") in third.edges
    # the same answer as a full read
    whole = rows.list_tasks(store, bake.bake_id, 1)
    assert [dataclasses.astuple(t) for t in third.tasks] == [dataclasses.astuple(t) for t in whole]


@contextlib.contextmanager
def _running_executor(bake_id: str, seconds: float) -> Iterator[subprocess.Popen[bytes]]:
    """A process recorded as the attempt's running executor, living ``seconds``."""
    executor = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])
    try:
        rows.update_attempt(open_store(), bake_id, 1, result="running", executor_pid=executor.pid,
                            executor_start=str(start_ticks(executor.pid)))
        yield executor
    finally:
        executor.kill()
        executor.wait()


def test_a_waiting_follower_wakes_when_the_executor_exits(a_project: Any) -> None:
    """The attempt's recorded executor exits after 0.3 s; a follower waiting up to 60 s for
    its next read is back long before."""
    bake = _bake(a_project)
    follower = AttemptFollower(bake.bake_id)
    with _running_executor(bake.bake_id, 0.3) as executor:
        try:
            assert not follower.read().finished
            started = time.monotonic()
            follower.wait(60.0)
            assert time.monotonic() - started < 30
            assert executor.poll() is not None  # reaped by the follower: its child here
        finally:
            follower.close()


def test_watch_bake_yields_until_the_end(a_project: Any, write_batch: Any) -> None:
    from neuro_jupyter.core.bake import start_bake

    write_batch("w", "kind: batch\ntasks:\n  - id: a\n    bash: sleep 0.3\n"
                     "  - id: b\n    needs: [a]\n    bash: echo b\n")
    bake = start_bake(a_project, "w")
    seen: dict[str, list[str]] = {}
    for state in watch_bake(a_project, bake, interval=0.05):
        for task in state.changed:
            statuses = seen.setdefault(task.full_id, [])
            if not statuses or statuses[-1] != task.status:
                statuses.append(task.status)
    assert state.finished and state.attempt.result == "succeeded"
    assert seen["a"][-1] == seen["b"][-1] == "succeeded"
    assert Path(state.tasks[1].log_path).read_text() == "b\n"


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_reading_a_running_bake_again_and_again_holds_no_descriptor(a_project: Any) -> None:
    """The Jupyter server and a kernel read a running bake every second for hours
    (``inspect_bake``, the notebook view): a read that does not wait holds nothing (a server
    or a view polling a running bake ran out of descriptors), and a follower let go of closes
    what it held."""
    from neuro_jupyter.core.bake import inspect_bake

    bake = _bake(a_project)
    with _running_executor(bake.bake_id, 60):
        assert not inspect_bake(a_project, bake).finished  # what stays open once (the store)
        before = _open_fds()
        for _ in range(50):
            assert not inspect_bake(a_project, bake.bake_id).finished
            AttemptFollower(bake.bake_id, watch=False).read()
        assert _open_fds() == before
        waiting = AttemptFollower(bake.bake_id)
        waiting.read()
        assert _open_fds() == before + 1  # a follower that waits holds the executor's pidfd
        del waiting
        gc.collect()
        assert _open_fds() == before


def test_waiting_works_for_descriptors_past_select_s_limit(a_project: Any) -> None:
    """A long-lived process has descriptors numbered over 1023, which ``select`` refuses."""
    import resource

    from neuro_jupyter.core.fdwait import readable

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2100:
        pytest.skip(f"the hard limit of open files is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2100), hard))
    read_end, write_end = os.pipe()
    high = os.dup2(read_end, 2050)
    try:
        assert readable([high], 0.01) == []
        os.write(write_end, b"x")
        assert readable([high], 5.0) == [high]
    finally:
        for fd in (high, read_end, write_end):
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
