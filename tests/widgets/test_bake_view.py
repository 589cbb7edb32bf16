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
    # a terminal IPython or a text-only viewer gets the state too, in one line
    assert repr(view) == f"BakeView({bake.bake_id!r}): nightly attempt #1 running, 1/4 tasks finished"
    assert view._repr_mimebundle_()[0]["text/plain"] == repr(view)


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


def test_selected_call_node_names_its_tasks(a_project) -> None:
    """An action call has no log of its own: clicking its node says so and names its tasks,
    as ``show`` does; a task's log comes after the same header lines."""
    store = open_store()
    bake = rows.create_bake(store, project_pk=project_pk(a_project, store), batch="train",
                            name="calls", tags=(), params={}, config_files={})
    log = paths.logs_dir() / "inner.log"
    log.write_text("inner ran\n")
    rows.put_tasks(store, [
        rows.TaskRecord(bake.bake_id, 1, "call", "failed", kind="action", seq=1),
        rows.TaskRecord(bake.bake_id, 1, "call.inner", "failed", reason="exit code 2",
                        log_path=str(log), seq=2),
    ])
    rows.update_attempt(store, bake.bake_id, 1, result="failed", finished_at=time.time())
    view = BakeView(a_project, "calls", follow=False)
    view.selected = "call"
    assert view.log == ("Attempt #1 failed\nTask call failed\n"
                        "It is an action call with no log of its own; its tasks: call.inner\n")
    view.selected = "call.inner"
    assert view.log == "Attempt #1 failed\nTask call.inner failed (exit code 2)\ninner ran\n"


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


def test_a_thousand_tasks_send_compact_data(a_project) -> None:
    import json

    store = open_store()
    bake = rows.create_bake(store, project_pk=project_pk(a_project, store), batch="big",
                            name=None, tags=(), params={}, config_files={})
    tasks = [rows.TaskRecord(bake.bake_id, 1, f"t{i}", "succeeded" if i < 500 else "pending",
                             needs={f"t{i - 10}": "completed"} if i >= 10 else {},
                             matrix_group=f"g{i // 100}", seq=i)
             for i in range(1000)]
    rows.put_tasks(store, tasks)
    view = BakeView(a_project, bake.bake_id, follow=False)
    assert len(view.graph["ids"]) == 1000 and len(view.statuses) == 1000
    assert len(view.graph["edges"]) == 2 * 990
    assert view.progress == [500, 1000]
    assert len(json.dumps(view.graph)) < 100_000  # one compact dict, drawn as one SVG
    assert len(json.dumps(view.statuses)) < 15_000  # what each poll sends
    view.collapsed = True
    assert view.graph["counts"] == [100] * 10
    assert view.statuses[:5] == ["succeeded"] * 5 and view.statuses[5] == "pending"


# --- the view in a real JupyterLab, driven through Debian's chromium with Playwright ---------

BROWSER_BATCH = """kind: batch
tasks:
  - id: prepare
    bash: echo "<script>window.pwned = 1</script> prepared"
  - id: train
    bash: while [ ! -e {gate} ]; do sleep 0.05; done; echo trained
"""
BIG_CELL = """\
from neuro_jupyter.core.project import find_project
from neuro_jupyter.core.store import bakes as rows, open_store
from neuro_jupyter.core.store.projects import project_pk
from neuro_jupyter.widgets.bake_view import BakeView

store = open_store()
big = rows.create_bake(store, project_pk=project_pk(find_project(), store), batch="big",
                       name="big", tags=(), params={}, config_files={})
rows.put_tasks(store, [rows.TaskRecord(
    big.bake_id, 1, f"fit_{i}", "succeeded" if i % 3 else "failed",
    needs={f"fit_{i - 1}": "completed"} if i % 100 else {}, matrix_group=f"g{i // 100}", seq=i)
    for i in range(1000)])
rows.update_attempt(store, big.bake_id, 1, result="failed", finished_at=1.0)
BakeView(find_project(), "big")"""


@pytest.mark.browser
@pytest.mark.slow
def test_view_in_jupyterlab_updates_live_and_escapes_logs(tmp_path: Path) -> None:
    import json

    from lab_browser import ARTIFACTS, TOKEN, chromium, running_lab

    root = tmp_path / "nb"
    (root / ".neuro").mkdir(parents=True)
    gate = tmp_path / "gate"
    (root / ".neuro" / "demo.yml").write_text(BROWSER_BATCH.format(gate=gate))
    cells = ["%load_ext neuro_jupyter", "%bake demo --name in-lab", BIG_CELL]
    (root / "bake.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                   "outputs": [], "source": src} for i, src in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))
    with running_lab(tmp_path, root) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{url}/lab/tree/bake.ipynb?reset&token={TOKEN}")
        page.wait_for_selector(".jp-Notebook")
        select = page.locator(".jp-Dialog button", has_text="Select")
        try:  # Lab may ask which kernel to start
            select.wait_for(timeout=10_000)
            select.click()
        except Exception:  # no dialog: the kernel started by itself
            pass
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

        view = page.locator(".nj-bake").first
        try:
            view.wait_for()
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "bake-view-missing.png"))
            raise
        rects = view.locator("svg rect")
        page.wait_for_function(
            "() => document.querySelector('.nj-bake').querySelectorAll('svg rect').length === 2")
        fill = ('document.querySelector(".nj-bake").querySelectorAll("svg rect")[{}]'
                '.getAttribute("fill")')
        page.wait_for_function(f"() => {fill.format(0)} === 'limegreen'")
        page.wait_for_function(f"() => {fill.format(1)} === 'steelblue'")  # running
        assert view.locator(".nj-bake-legend-item").count() == 8
        assert view.locator(".nj-bake-progress-text").inner_text() == "1/2 finished"
        gate.touch()  # the view follows the bake by itself
        page.wait_for_function(f"() => {fill.format(1)} === 'limegreen'")
        page.wait_for_function(
            "() => document.querySelector('.nj-bake-badge').textContent === 'succeeded'")
        assert view.locator(".nj-bake-progress-text").inner_text() == "2/2 finished"
        assert rects.nth(1).get_attribute("data-status") == "succeeded"

        view.locator("svg .nj-bake-node").first.click()
        page.wait_for_function(
            "() => document.querySelector('.nj-bake-log').textContent.includes('prepared')")
        assert view.locator(".nj-bake-log").inner_text().strip().endswith(
            "<script>window.pwned = 1</script> prepared")
        assert view.locator("script").count() == 0
        assert page.evaluate("() => window.pwned === undefined")
        assert view.locator("tbody tr").count() == 2
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "bake-view.png"))

        # a 1000-task bake: one SVG, then a toggle collapses each matrix group into a node
        big = page.locator(".nj-bake").nth(1)
        page.wait_for_function(
            "() => document.querySelectorAll('.nj-bake')[1]?.querySelectorAll('svg rect')"
            ".length === 1000")
        assert big.locator("svg").count() == 1
        assert big.locator(".nj-bake-progress-text").inner_text() == "1000/1000 finished"
        big.locator(".nj-bake-collapse input").check()
        page.wait_for_function(
            "() => document.querySelectorAll('.nj-bake')[1].querySelectorAll('svg rect')"
            ".length === 10")
        assert big.locator("svg text").first.text_content() == "fit ×100"
        assert big.locator('svg rect[data-status="failed"]').count() == 10
        page.screenshot(path=str(ARTIFACTS / "bake-view-1000.png"), full_page=True)
        assert errors == []


def test_selected_task_names_its_executed_notebook(a_project, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Links through the Jupyter server that runs the kernel (found in Jupyter's runtime
    folder, as for live jobs); none without one, and nothing for a task with no notebook."""
    import json
    import os

    from notebook_files import notebook_bake

    bake = notebook_bake(a_project)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    path = f"results/bakes/{bake.bake_id}/1/report.ipynb"

    view = BakeView(a_project, "reported", follow=False)
    view.selected = "report"
    assert view.notebook == {"path": path, "lab_url": None, "html_url": None}
    view.selected = "plain"
    assert view.notebook == {}

    (runtime / "jpserver-1.json").write_text(json.dumps({
        "pid": os.getpid(), "base_url": "/user/me/", "root_dir": str(a_project.root.parent),
        "url": "http://127.0.0.1:8888/user/me/"}))
    view = BakeView(a_project, "reported", follow=False)
    view.selected = "report"
    pk = bake.project_pk
    assert view.notebook == {
        "path": path,
        "lab_url": f"/user/me/lab/tree/{a_project.root.name}/{path}",
        "html_url": f"/user/me/neuro-jupyter/api/projects/{pk}/bakes/{bake.bake_id}/tasks/"
                    "report/notebook.html?attempt=1",
    }
    source = JS.read_text()
    assert re.search(r'link\.setAttribute\("href", href\)', source)  # a link, never HTML
