"""The live bake view: traits from the store, log escaping, matrix collapse, polling on a loop."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from neuro_jupyter.core import paths
from neuro_jupyter.core.project import open_project
from neuro_jupyter.core.store import bakes as rows
from neuro_jupyter.core.store import open_store
from neuro_jupyter.core.store.projects import project_pk
from neuro_jupyter.widgets.bake_view import BakeView

JS = Path(__file__).parents[2] / "neuro_jupyter" / "widgets" / "bake_view.js"


@pytest.fixture()
def a_project(tmp_path: Path):
    (tmp_path / ".neuro").mkdir()
    return open_project(tmp_path)


def make_bake(project, *, result: str = "running") -> rows.BakeRecord:
    store = open_store()
    bake = rows.create_bake(store, project_pk=project_pk(project, store), batch="train",
                            name="nightly", tags=(), params={}, config_files={})
    log = paths.logs_dir() / "prep.log"
    log.write_text("<script>alert(1)</script>\n::set-output name=x::1\ndone\n")
    now = time.time()
    tasks = [rows.TaskRecord(bake.bake_id, 1, "prep", "succeeded", log_path=str(log),
                             raw_id="job-1", started_at=now, finished_at=now, seq=1)]
    tasks += [rows.TaskRecord(bake.bake_id, 1, f"fit-{i}", "running" if i else "pending",
                              needs={"prep": "completed"}, matrix_group="fit", seq=2 + i)
              for i in range(3)]
    rows.put_tasks(store, tasks)
    rows.update_attempt(store, bake.bake_id, 1, result=result, executor_pid=None)
    return rows.get_bake(store, bake.bake_id)


def test_view_shows_graph_statuses_table_and_progress(a_project) -> None:
    bake = make_bake(a_project)
    view = BakeView(a_project, "nightly", follow=False)
    assert view.bake_id == bake.bake_id
    assert "nightly" in view.title and "attempt #1" in view.title
    assert view.graph["ids"] == ["prep", "fit-0", "fit-1", "fit-2"]
    assert view.statuses == ["succeeded", "pending", "running", "running"]
    assert view.tasks[0][:3] == ["prep", "succeeded", "job-1"]
    assert view.progress == [1, 4]
    assert view.result == "running"
    assert view.colors["failed"] == "orangered"


def test_collapse_matrix_into_one_node(a_project) -> None:
    make_bake(a_project)
    view = BakeView(a_project, "nightly", follow=False)
    view.collapsed = True
    assert view.graph["ids"] == ["prep", "fit"]
    assert view.graph["counts"] == [1, 3]
    assert view.statuses == ["succeeded", "running"]
    view.collapsed = False
    assert len(view.graph["ids"]) == 4


def test_selected_task_log_is_text_never_html(a_project) -> None:
    make_bake(a_project)
    view = BakeView(a_project, "nightly", follow=False)
    view.selected = "prep"
    assert "<script>alert(1)</script>" in view.log  # sent as text ...
    assert "::set-output" not in view.log  # command lines hidden as in `show`
    source = JS.read_text()
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source  # ... shown as text
    assert re.search(r"log\.textContent = model\.get\(\"log\"\)", source)


def test_polls_on_the_event_loop_until_finished(a_project) -> None:
    bake = make_bake(a_project)
    store = open_store()

    async def scenario() -> BakeView:
        view = BakeView(a_project, bake.bake_id, interval=0.05)
        assert view._task is not None  # following on this loop, no thread
        await asyncio.sleep(0.2)
        with store.tx():
            for task in rows.list_tasks(store, bake.bake_id, 1):
                if task.status != "succeeded":
                    rows.put_tasks(store, [rows.TaskRecord(
                        bake.bake_id, 1, task.full_id, "failed", needs=task.needs,
                        matrix_group=task.matrix_group, seq=task.seq, finished_at=time.time())])
            rows.update_attempt(store, bake.bake_id, 1, result="failed", finished_at=time.time())
        await asyncio.wait_for(view._task, timeout=10)
        return view

    view = asyncio.run(scenario())
    assert view.result == "failed"
    assert view.statuses == ["succeeded", "failed", "failed", "failed"]
    assert view.progress == [4, 4]
