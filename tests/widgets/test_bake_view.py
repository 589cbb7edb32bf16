"""The live bake view's kernel side: data from the store, logs as text, polling on a loop (the
view in a real JupyterLab: tests/browser/test_browser_bake_graph.py)."""

from __future__ import annotations

import asyncio
import dataclasses
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


def test_view_sends_the_graph_and_the_tasks_state(a_project) -> None:
    bake = make_bake(a_project)
    view = BakeView(a_project, "nightly", follow=False)
    assert view.bake_id == bake.bake_id
    assert view.pk == project_pk(a_project) and view.attempt == 0
    assert view.structure["ids"] == ["prep", "fit-0", "fit-1", "fit-2"]
    assert [g["label"] for g in view.structure["groups"]] == ["fit (matrix, 3)"]
    assert view.state["tasks"]["status"] == ["succeeded", "pending", "running", "running"]
    assert view.state["tasks"]["raw_id"][0] == "job-1"
    assert view.state["bake"]["name"] == "nightly"
    assert view.state["attempt"]["result"] == "running"
    assert view.progress == (1, 4)
    assert view.result == "running"
    # a terminal IPython or a text-only viewer gets the state in one line, with the time it
    # was true and how to see the bake again (a saved notebook keeps this text as it was)
    text = repr(view)
    assert re.fullmatch(
        rf"BakeView\({bake.bake_id!r}\): nightly attempt #1 running, 1/4 tasks finished at "
        r"\d\d:\d\d:\d\d; %neuro_inspect nightly shows it again", text), text
    assert view._repr_mimebundle_()[0]["text/plain"] == text


def test_structure_is_sent_again_only_when_tasks_change(a_project) -> None:
    bake = make_bake(a_project)
    view = BakeView(a_project, "nightly", follow=False)
    sent: list[str] = []
    view.observe(lambda change: sent.append(change["name"]), names=["structure", "state"])
    store = open_store()
    rows.put_tasks(store, [rows.TaskRecord(bake.bake_id, 1, f"fit-{i}", "succeeded",
                                           needs={"prep": "completed"}, matrix_group="fit",
                                           seq=2 + i) for i in range(2)])
    view.refresh()
    assert sent == ["state"]  # status changes: no new structure, no new layout
    rows.put_tasks(store, [rows.TaskRecord(bake.bake_id, 1, "report", "pending",
                                           needs={"fit-0": "completed"}, seq=9)])
    view.refresh()
    assert sent == ["state", "structure", "state"]
    assert view.structure["ids"][-1] == "report"


def test_between_whole_states_only_the_changed_tasks_are_sent(a_project) -> None:
    """A 10,000-task bake must not send its whole state on every change: the ``state`` trait
    is sent at first, when a quarter of the tasks changed and at the end; in between, a
    ``tasks`` message has the tasks changed since (cumulative, so a view drawn meanwhile
    catches up from the whole state and the last message, which it asks for)."""
    store = open_store()
    bake = rows.create_bake(store, project_pk=project_pk(a_project, store), batch="train",
                            name="many", tags=(), params={}, config_files={})
    tasks = [rows.TaskRecord(bake.bake_id, 1, f"fit-{i}", "pending", seq=i) for i in range(20)]
    rows.put_tasks(store, tasks)
    rows.update_attempt(store, bake.bake_id, 1, result="running")
    view = BakeView(a_project, "many", follow=False)
    snapshot = view.state["snapshot"]
    traits: list[str] = []
    view.observe(lambda change: traits.append(change["name"]), names=["structure", "state"])
    messages: list[dict] = []
    view.send = messages.append  # type: ignore[method-assign]

    def move(i: int, status: str) -> None:
        rows.put_tasks(store, [dataclasses.replace(tasks[i], status=status)])
        view.refresh()

    view.refresh()
    assert messages == [] and traits == []  # nothing changed: nothing sent
    move(3, "running")
    assert traits == [] and len(messages) == 1
    assert messages[0]["type"] == "tasks" and messages[0]["snapshot"] == snapshot
    assert messages[0]["index"] == [3] and messages[0]["tasks"]["status"] == ["running"]
    assert messages[0]["attempt"]["result"] == "running"
    view.refresh()
    assert len(messages) == 1  # nothing new
    move(7, "running")
    assert messages[-1]["index"] == [3, 7]  # changes since the whole state
    view._on_msg(view, {"type": "tasks"}, [])  # a view drawn since asks for them
    assert messages[-1] == messages[-2]
    for i in (8, 9, 10):
        move(i, "running")
    assert traits == ["state"]  # 5 of 20 changed: the whole state again
    assert view.state["snapshot"] == snapshot + 1
    assert view.state["tasks"]["status"].count("running") == 5
    rows.update_attempt(store, bake.bake_id, 1, result="failed", finished_at=time.time())
    move(0, "failed")
    assert traits == ["state", "state"]  # the end: whole
    assert view.state["attempt"]["result"] == "failed"


def test_log_messages_answer_with_text_never_html(a_project) -> None:
    make_bake(a_project)
    view = BakeView(a_project, "nightly", follow=False)
    replies: list[dict] = []
    view.send = replies.append  # type: ignore[method-assign]
    view._on_msg(view, {"type": "log", "id": 7, "task": "prep", "attempt": 0}, [])
    assert replies[-1]["id"] == 7
    assert replies[-1]["header"] == "Attempt #1 running\nTask prep succeeded"
    assert "<script>alert(1)</script>" in replies[-1]["text"]  # sent as text ...
    assert "::set-output" not in replies[-1]["text"]  # command lines hidden as in `show`
    view._on_msg(view, {"type": "log", "id": 8, "task": "nope", "attempt": 0}, [])
    assert replies[-1]["id"] == 8 and "nope" in replies[-1]["error"] and "prep" in replies[-1]["error"]
    source = (Path(__file__).parents[2] / "labextension" / "src" / "graph").glob("*.ts")
    for path in source:  # ... and shown as text
        text = path.read_text()
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, path


def test_selected_call_node_names_its_tasks(a_project) -> None:
    """An action call has no log of its own: its log message says so and names its tasks,
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
    replies: list[dict] = []
    view.send = replies.append  # type: ignore[method-assign]
    view._on_msg(view, {"type": "log", "id": 1, "task": "call"}, [])
    assert replies[-1]["header"] == ("Attempt #1 failed\nTask call failed\n"
                                     "It is an action call with no log of its own; its tasks: "
                                     "call.inner")
    view._on_msg(view, {"type": "log", "id": 2, "task": "call.inner"}, [])
    assert replies[-1]["header"] == "Attempt #1 failed\nTask call.inner failed (exit code 2)"
    assert replies[-1]["text"] == "inner ran\n"
    assert [g["label"] for g in view.structure["groups"]] == ["call (action, 1 task)"]


def test_polls_on_the_event_loop_until_finished_or_followed_by_the_browser(a_project) -> None:
    bake = make_bake(a_project)
    store = open_store()

    async def scenario() -> BakeView:
        view = BakeView(a_project, bake.bake_id, interval=0.05)
        assert view._task is not None  # following on this loop, no thread
        view.remote = True  # the browser follows through the server: the kernel stops
        await asyncio.wait_for(view._task, timeout=10)
        view.remote = False  # the browser lost the server: the kernel follows again
        assert not view._task.done()
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
    assert view.state["tasks"]["status"] == ["succeeded", "failed", "failed", "failed"]
    assert view.progress == (4, 4)


def test_a_task_names_its_executed_notebook(a_project, tmp_path: Path,
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

    def notebook_of(view: BakeView, task: str) -> object:
        ids = view.structure["ids"]
        return view.state["tasks"]["notebook"][ids.index(task)]

    view = BakeView(a_project, "reported", follow=False)
    assert notebook_of(view, "report") == {"path": path, "lab_url": None, "html_url": None}
    assert notebook_of(view, "plain") is None

    (runtime / "jpserver-1.json").write_text(json.dumps({
        "pid": os.getpid(), "base_url": "/user/me/", "root_dir": str(a_project.root.parent),
        "url": "http://127.0.0.1:8888/user/me/"}))
    view = BakeView(a_project, "reported", follow=False)
    pk = bake.project_pk
    assert notebook_of(view, "report") == {
        "path": path,
        "lab_url": f"/user/me/lab/tree/{a_project.root.name}/{path}",
        "html_url": f"/user/me/neuro-jupyter/api/projects/{pk}/bakes/{bake.bake_id}/tasks/"
                    "report/notebook.html?attempt=1",
    }
