"""Bake routes: list, inspect, task logs, cancel, restart refusals, bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from bake_workflows import TRAINING

from neuro_jupyter.core import paths
from neuro_jupyter.core.bake import inspect_bake
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.store import bakes as rows
from neuro_jupyter.core.store import open_store
from neuro_jupyter.core.store.projects import project_pk

from .conftest import API, error_of, get_json

LOG = "<script>alert('x')</script>\n::set-output name=acc::0.9\nepoch 1 done\n"


def make_bake(
    project: Project, *, name: str | None = None, result: str = "failed", batch: str = "training"
) -> rows.BakeRecord:
    """A bake whose attempt #1 ran ``prepare`` (succeeded) then ``train`` (failed)."""
    store = open_store()
    bake = rows.create_bake(
        store, project_pk=project_pk(project, store), batch=batch, name=name, tags=("nightly",),
        params={"lr": "0.1"}, config_files={},
    )
    log = paths.logs_dir() / f"{bake.bake_id}-prepare.log"
    log.write_text(LOG)
    now = time.time()
    rows.put_tasks(store, [
        rows.TaskRecord(bake.bake_id, 1, "prepare", "succeeded", title="Prepare <data>", seq=0,
                        exit_code=0, log_path=str(log), started_at=now - 2, finished_at=now - 1),
        rows.TaskRecord(bake.bake_id, 1, "train", "failed" if result == "failed" else "succeeded",
                        needs={"prepare": "completed"}, seq=1, exit_code=1, started_at=now - 1,
                        finished_at=now),
    ])
    if result != "pending":
        rows.update_attempt(store, bake.bake_id, 1, result=result, finished_at=now)
    return rows.get_bake(store, bake.bake_id)


@pytest.fixture
def a_project(make_project: Callable[..., Project]) -> Project:
    return make_project("bakery")


async def test_bakes_lists_newest_first_with_status(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    first = make_bake(a_project, name="first", result="succeeded")
    second = make_bake(a_project)
    pk = await project_pk_of(a_project)
    bakes = (await get_json(jp_fetch, "projects", str(pk), "bakes"))["bakes"]
    assert [b["bake_id"] for b in bakes] == [second.bake_id, first.bake_id]
    assert bakes[0]["status"] == "failed"
    assert bakes[0]["attempt"] == 1
    assert bakes[1]["name"] == "first"
    assert bakes[1]["tags"] == ["nightly"]
    assert bakes[1]["params"] == {"lr": "0.1"}


async def test_bakes_of_a_project_without_any(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    pk = await project_pk_of(a_project)
    assert await get_json(jp_fetch, "projects", str(pk), "bakes") == {"bakes": []}


@pytest.mark.parametrize("by", ["id", "name"])
async def test_one_bake_has_attempts_tasks_and_edges(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]], by: str
) -> None:
    bake = make_bake(a_project, name="nightly-1")
    pk = await project_pk_of(a_project)
    ref = bake.bake_id if by == "id" else "nightly-1"
    state = await get_json(jp_fetch, "projects", str(pk), "bakes", ref)
    assert state["bake"]["bake_id"] == bake.bake_id
    assert state["attempt"]["number"] == 1
    assert state["attempt"]["result"] == "failed"
    assert [a["number"] for a in state["attempts"]] == [1]
    assert [(t["full_id"], t["status"]) for t in state["tasks"]] == [
        ("prepare", "succeeded"), ("train", "failed"),
    ]
    assert state["tasks"][0]["title"] == "Prepare <data>"
    assert "log_path" not in state["tasks"][0]
    assert state["edges"] == [["prepare", "train", "completed"]]


async def test_bake_attempt_argument(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    bake = make_bake(a_project)
    pk = str(await project_pk_of(a_project))
    state = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id, params={"attempt": "1"})
    assert state["attempt"]["number"] == 1
    code, message = await error_of(jp_fetch, "projects", pk, "bakes", bake.bake_id,
                                   params={"attempt": "7"})
    assert (code, "attempt #7" in message) == (404, True)
    code, message = await error_of(jp_fetch, "projects", pk, "bakes", bake.bake_id,
                                   params={"attempt": "one"})
    assert (code, "'attempt'" in message) == (400, True)


async def test_unknown_bake_is_404(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    pk = str(await project_pk_of(a_project))
    code, message = await error_of(jp_fetch, "projects", pk, "bakes", "bake-nope")
    assert code == 404
    assert "bake-nope" in message


async def test_bake_of_another_project_is_404(
    jp_fetch: Any, make_project: Callable[..., Project], a_project: Project,
    project_pk_of: Callable[[Project], Awaitable[int]],
) -> None:
    other = make_project("other")
    bake = make_bake(other)
    pk = str(await project_pk_of(a_project))
    code, _ = await error_of(jp_fetch, "projects", pk, "bakes", bake.bake_id)
    assert code == 404


async def test_task_log_drops_command_lines_unless_raw(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    bake = make_bake(a_project)
    pk = str(await project_pk_of(a_project))
    parts = ("projects", pk, "bakes", bake.bake_id, "tasks", "prepare", "log")
    log = await get_json(jp_fetch, *parts)
    assert log["task"] == "prepare"
    assert log["text"] == "<script>alert('x')</script>\nepoch 1 done\n"
    raw = await get_json(jp_fetch, *parts, params={"raw": "true"})
    assert raw["text"] == LOG
    code, message = await error_of(jp_fetch, *parts, params={"raw": "maybe"})
    assert (code, "'raw'" in message) == (400, True)


async def test_unknown_task_is_404_listing_the_tasks(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    bake = make_bake(a_project)
    pk = str(await project_pk_of(a_project))
    code, message = await error_of(jp_fetch, "projects", pk, "bakes", bake.bake_id, "tasks",
                                   "evaluate", "log")
    assert code == 404
    assert "prepare, train" in message


async def test_cancel_a_pending_bake(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    bake = make_bake(a_project, result="pending")
    pk = str(await project_pk_of(a_project))
    state = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id, "cancel",
                           method="POST", body="{}")
    assert state["attempt"]["result"] == "cancelled"
    listed = await get_json(jp_fetch, "projects", pk, "bakes")
    assert listed["bakes"][0]["status"] == "cancelled"


async def test_cancel_a_finished_bake_is_409(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    bake = make_bake(a_project)
    pk = str(await project_pk_of(a_project))
    code, message = await error_of(jp_fetch, "projects", pk, "bakes", bake.bake_id, "cancel",
                                   method="POST", body="{}")
    assert code == 409
    assert "already finished" in message


async def test_restart_a_running_bake_is_409(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    bake = make_bake(a_project, result="pending")
    pk = str(await project_pk_of(a_project))
    code, message = await error_of(jp_fetch, "projects", pk, "bakes", bake.bake_id, "restart",
                                   method="POST", body="{}")
    assert code == 409
    assert "still running" in message


async def test_restart_a_succeeded_bake_from_failed_is_409(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    bake = make_bake(a_project, result="succeeded")
    pk = str(await project_pk_of(a_project))
    code, message = await error_of(jp_fetch, "projects", pk, "bakes", bake.bake_id, "restart",
                                   method="POST", body=json.dumps({"from_failed": True}))
    assert code == 409
    assert "succeeded" in message


@pytest.mark.parametrize(
    ("action", "body", "words"),
    [
        ("cancel", "not json", "not JSON"),
        ("cancel", "[1]", "JSON object"),
        ("cancel", json.dumps({"attempt": "1"}), "'attempt'"),
        ("restart", json.dumps({"from_failed": "yes"}), "'from_failed'"),
    ],
)
async def test_bake_actions_refuse_bad_bodies(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]],
    action: str, body: str, words: str,
) -> None:
    bake = make_bake(a_project)
    pk = str(await project_pk_of(a_project))
    code, message = await error_of(jp_fetch, "projects", pk, "bakes", bake.bake_id, action,
                                   method="POST", body=body)
    assert code == 400
    assert words in message
    state = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id)
    assert [a["number"] for a in state["attempts"]] == [1]


async def test_graph_as_dot_is_coloured_by_status(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    bake = make_bake(a_project)
    pk = str(await project_pk_of(a_project))
    response = await jp_fetch(API, "projects", pk, "bakes", bake.bake_id, "graph.dot")
    assert response.headers["Content-Type"].startswith("text/vnd.graphviz")
    dot = response.body.decode()
    assert dot.startswith("strict digraph training {")
    assert "prepare [label=prepare color=limegreen]" in dot
    assert "train [label=train color=orangered]" in dot
    assert "prepare -> train" in dot


async def test_graph_as_svg_escapes_names(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    bake = make_bake(a_project, batch="x<script>alert(1)</script>")
    pk = str(await project_pk_of(a_project))
    response = await jp_fetch(API, "projects", pk, "bakes", bake.bake_id, "graph.svg",
                              params={"attempt": "1"})
    assert response.headers["Content-Type"] == "image/svg+xml"
    svg = response.body.decode()
    assert "<svg" in svg
    assert ">prepare</text>" in svg
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg


async def test_graph_svg_without_graphviz_is_a_clear_error(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
) -> None:
    bake = make_bake(a_project)
    pk = str(await project_pk_of(a_project))
    monkeypatch.setenv("PATH", str(tmp_path))
    code, message = await error_of(jp_fetch, "projects", pk, "bakes", bake.bake_id, "graph.svg")
    assert code == 503  # a tool this server lacks, not a bug of ours (500)
    assert "Graphviz" in message
    dot = await jp_fetch(API, "projects", pk, "bakes", bake.bake_id, "graph.dot")
    assert dot.code == 200


async def test_graph_of_unknown_bake_is_404(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    pk = str(await project_pk_of(a_project))
    code, _ = await error_of(jp_fetch, "projects", pk, "bakes", "missing", "graph.svg")
    assert code == 404


async def test_restart_a_failed_bake_starts_attempt_two(
    jp_fetch: Any, make_project: Callable[..., Project],
    project_pk_of: Callable[[Project], Awaitable[int]],
) -> None:
    from neuro_jupyter.core.bake import start_bake, watch_bake

    project = make_project("real", {"training.yml": TRAINING})
    bake = start_bake(project, "training")
    state = list(watch_bake(project, bake, interval=0.05))[-1]
    assert state.attempt.result == "failed"
    pk = str(await project_pk_of(project))
    response = await jp_fetch(API, "projects", pk, "bakes", bake.bake_id, "restart",
                              method="POST", body=json.dumps({"from_failed": True}))
    assert response.code == 201
    restarted = json.loads(response.body)
    assert restarted["attempt"]["number"] == 2
    assert [a["number"] for a in restarted["attempts"]] == [1, 2]
    state = list(watch_bake(project, bake.bake_id, interval=0.05))[-1]
    assert state.attempt.number == 2
    latest = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id)
    assert latest["attempt"]["result"] == "failed"
    assert dict((t["full_id"], t["status"]) for t in latest["tasks"])["train"] == "failed"
    first = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id, "tasks", "prepare",
                           "log", params={"attempt": "1"})
    assert first["text"] == "<script>prepared</script>\n"


async def test_graph_json_needs_no_graphviz(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
) -> None:
    """graph.json is what the browser's graph component lays out and draws: the structure
    (ids, edges, groups) and the tasks' state, from ``core.graph_data``."""
    bake = make_bake(a_project)
    pk = str(await project_pk_of(a_project))
    monkeypatch.setenv("PATH", str(tmp_path))
    data = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id, "graph.json")
    assert data["bake"]["bake_id"] == bake.bake_id
    assert data["bake"]["project_pk"] == int(pk)
    assert data["attempt"]["number"] == 1
    assert data["structure"]["ids"] == ["prepare", "train"]
    assert data["structure"]["edges"] == [0, 1]
    assert data["tasks"]["status"] == ["succeeded", "failed"]
    again = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id, "graph.json",
                           params={"attempt": "1"})
    assert again["structure"]["key"] == data["structure"]["key"]
    # a browser that has the structure is sent its key alone; another key gets it all
    key = data["structure"]["key"]
    known = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id, "graph.json",
                           params={"known": key})
    assert known["structure"] == {"key": key}
    assert known["tasks"] == data["tasks"]
    other = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id, "graph.json",
                           params={"known": "0123456789abcdef"})
    assert other["structure"] == data["structure"]


async def test_task_log_of_a_call_names_its_tasks(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    """An action call has no log of its own: the route says so and names its tasks (as ``show``
    does); every task's log comes with the same header lines."""
    bake = make_bake(a_project)
    store = open_store()
    rows.put_tasks(store, [
        rows.TaskRecord(bake.bake_id, 1, "call", "failed", kind="action", seq=2),
        rows.TaskRecord(bake.bake_id, 1, "call.inner", "failed", seq=3),
    ])
    pk = str(await project_pk_of(a_project))
    call = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id, "tasks", "call", "log")
    assert call["header"] == (
        "Attempt #1 failed\nTask call failed\n"
        "It is an action call with no log of its own; its tasks: call.inner"
    )
    assert call["text"] == ""
    prepare = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id, "tasks", "prepare",
                             "log")
    assert prepare["header"] == "Attempt #1 failed\nTask prepare succeeded"


async def test_bakes_carry_their_backend_named_and_labelled_by_core(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    store = open_store()
    rows.create_bake(store, project_pk=project_pk(a_project, store), batch="training", name="far",
                     tags=(), params={}, config_files={}, backend="ray@http://127.0.0.1:8265")
    make_bake(a_project, name="near")
    pk = str(await project_pk_of(a_project))
    bakes = (await get_json(jp_fetch, "projects", pk, "bakes"))["bakes"]
    shown = {b["name"]: (b["backend"], b["backend_name"], b["backend_label"]) for b in bakes}
    assert shown == {
        "far": ("ray@http://127.0.0.1:8265", "ray", "ray (http://127.0.0.1:8265)"),
        "near": ("local", "local", "local"),
    }
    state = await get_json(jp_fetch, "projects", pk, "bakes", "far")
    assert state["bake"]["backend_label"] == "ray (http://127.0.0.1:8265)"


async def test_a_huge_task_log_is_answered_by_its_end(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Awaitable[int]]
) -> None:
    """A task that wrote tens of megabytes: the server reads and answers its end only (1 MiB
    by default, ``?limit=`` characters), saying where the whole log is."""
    bake = make_bake(a_project)
    pk = str(await project_pk_of(a_project))
    state = inspect_bake(a_project, bake.bake_id)
    log_path = Path(next(t for t in state.tasks if t.full_id == "prepare").log_path)
    line = "x" * 99 + "\n"
    with open(log_path, "w") as log:
        for i in range(300_000):  # 30 MB
            log.write(line if i % 1000 else f"::set-output name=n::{i}\n")
        log.write("the end\n")
    parts = ("projects", pk, "bakes", bake.bake_id, "tasks", "prepare", "log")
    answer = await get_json(jp_fetch, *parts)
    note, _, text = answer["text"].partition("\n")
    assert note == (f"[the beginning of this {log_path.stat().st_size:,}-byte log is not shown; "
                    f"the whole log: {log_path}]")
    assert len(text) <= 1 << 20 and text.endswith(line + "the end\n")
    assert text.startswith("x") and "::set-output" not in text  # whole lines, commands dropped
    small = await get_json(jp_fetch, *parts, params={"limit": "250"})
    assert small["text"].split("\n", 1)[1] == line + line + "the end\n"
    code, message = await error_of(jp_fetch, *parts, params={"limit": str(1 << 40)})
    assert code == 400 and "'limit'" in message
