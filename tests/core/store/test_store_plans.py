"""The store's hot queries use indexes: no full scan of a bakes table in what an executor, a
follower or a front end runs, whatever the store holds (a store of a hundred 10,000-task
bakes stays fast: ``bench/bake_scale.py``).

Every statement the real code paths run (an executor's attempt, with a cache hit and a
restart; following, inspecting, listing, resolving by id and by name, cancelling, clearing
the cache, closing a dead executor's attempt) is recorded through SQLite's trace hook, then
planned with ``EXPLAIN QUERY PLAN``: a deterministic check, not a timing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.core.bake import (
    cancel_bake,
    clear_cache,
    executor,
    inspect_bake,
    list_attempts,
    list_bakes,
    resolve_bake,
    watch_bake,
)
from neuro_jupyter.core.bake.executor import Prepared
from neuro_jupyter.core.project import open_project
from neuro_jupyter.core.store import bakes as rows
from neuro_jupyter.core.store import open_store
from neuro_jupyter.core.store.projects import project_pk
from neuro_jupyter.core.workflow import plan_batch

BAKE_TABLES = ("tasks", "attempts", "bakes", "cache_entries")
FLOW = """\
kind: batch
tasks:
  - id: a
    bash: echo "::set-output name=x::1"
  - id: b
    needs: [a]
    cache:
      strategy: none
    bash: exit ${{ params.code }}
params:
  code: "0"
"""


def _attempt(project: Any, bake: rows.BakeRecord, number: int,
             params: dict[str, str]) -> None:
    """Run attempt ``number`` in this process (the executor's own statements are traced)."""
    plan = plan_batch(project, bake.batch, params=params)
    executor.execute(bake.bake_id, number, Prepared(Path(project.root), plan,
                                                    dict(plan.config_files)))
    executor._finish(bake.bake_id, number, "done")
    executor._LINES.clear()


@pytest.fixture()
def statements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the bake code paths ran, each statement once."""
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "flow.yml").write_text(FLOW)
    monkeypatch.chdir(root)
    monkeypatch.setattr(executor, "_echo", lambda line: None)
    project = open_project(root)
    store = open_store()
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    pk = project_pk(project, store)
    bake = rows.create_bake(store, project_pk=pk, batch="flow", name="named", tags=(),
                            params={"code": "0"}, config_files={})
    _attempt(project, bake, 1, {"code": "0"})
    again = rows.create_bake(store, project_pk=pk, batch="flow", name=None, tags=(),
                             params={"code": "3"}, config_files={})
    _attempt(project, again, 1, {"code": "3"})  # ``a`` from the cache, ``b`` fails
    rows.create_attempt(store, again.bake_id, 2, from_failed=True, source=1)
    _attempt(project, again, 2, {"code": "3"})  # a restart from the failed task
    for ref in (bake.bake_id, "named"):
        resolve_bake(project, ref)
    inspect_bake(project, bake)
    list_attempts(project, bake)
    list(watch_bake(project, bake))
    list_bakes(project)
    dead = rows.create_bake(store, project_pk=pk, batch="flow", name=None, tags=(), params={},
                            config_files={})
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    rows.update_attempt(store, dead.bake_id, 1, result="running",
                        executor_pid=int(gone.stdout), executor_start="1")
    rows.put_tasks(store, [rows.TaskRecord(bake_id=dead.bake_id, attempt=1, full_id="a",
                                           status="running")])
    assert inspect_bake(project, dead).attempt.result == "failed"  # a dead executor's, closed
    waiting = rows.create_bake(store, project_pk=pk, batch="flow", name=None, tags=(),
                               params={}, config_files={})
    cancel_bake(project, waiting)
    clear_cache(project, "flow", "a")
    clear_cache(project, "ALL")
    store.conn.set_trace_callback(None)
    unique: dict[str, str] = {}
    for text in seen:
        if re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT)", text, re.I):
            unique.setdefault(re.sub(r"'[^']*'|\b\d+(\.\d+)?\b", "?", text), text)
    return list(unique.values())


def test_the_bake_paths_scan_no_bake_table(statements: list[str]) -> None:
    store = open_store()
    scans = []
    touched = set()
    for text in statements:
        plan = [row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + text)]
        for detail in plan:
            table = re.match(r"(SCAN|SEARCH) (\w+)", detail)
            if table and table.group(2) in BAKE_TABLES:
                touched.add(table.group(2))
                if table.group(1) == "SCAN":
                    scans.append(f"{text}\n    {detail}")
    assert not scans, "full scans:\n" + "\n".join(scans)
    assert touched == set(BAKE_TABLES)  # each table's queries were planned
    planned = " ".join(statements)
    for hot in ("rev > ", "FROM cache_entries WHERE project_pk", "WHERE raw_id = ",
                "SELECT result FROM attempts"):  # the follower, cache lookups, cancel checks
        assert hot in planned, f"no statement with {hot!r} was recorded"
