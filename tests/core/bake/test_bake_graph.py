"""DOT export as neuro-flow writes it, rendering through Graphviz, and the graph as data for the
browser's graph component (``core.graph_data``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neuro_jupyter.core.bake.api import BakeState
from neuro_jupyter.core.errors import BackendError
from neuro_jupyter.core.graph import dot_from_tasks, graph_files, quote, render
from neuro_jupyter.core.graph_data import changed_tasks, graph_data, graph_structure, task_columns
from neuro_jupyter.core.store.bakes import AttemptRecord, BakeRecord, TaskRecord


def t(full_id: str, status: str, needs: tuple[str, ...] = (), kind: str = "task",
      group: str | None = None) -> TaskRecord:
    return TaskRecord("bake-x", 1, full_id, status, kind=kind,
                      needs={n: "completed" for n in needs}, matrix_group=group)


COMPLEX = [
    t("task_1_a", "succeeded"),
    t("task_1_b", "running"),
    t("task_2_after", "failed", ("task_1_b", "task_1_a")),
    t("task_2_at_running", "cached", ("task_1_b", "task_1_a"), kind="action"),
    t("task_2_at_running.task_1", "succeeded"),
    t("task_2_at_running.task_2", "running", ("task_2_at_running.task_1",)),
    t("task_3", "skipped", ("task_2_at_running", "task_2_after")),
]


def test_dot_matches_neuro_flow_output() -> None:
    assert dot_from_tasks("batch-complex-seq", COMPLEX) == """\
strict digraph "batch-complex-seq" {
\tnode [style=filled]
\tcompound=true
\ttask_1_a [label=task_1_a color=limegreen]
\ttask_1_b [label=task_1_b color=steelblue]
\ttask_2_after [label=task_2_after color=orangered]
\ttask_1_b -> task_2_after
\ttask_1_a -> task_2_after
\tsubgraph cluster_task_2_at_running {
\t\tlabel=task_2_at_running
\t\tcompound=true
\t\tcolor=yellowgreen
\t\t"task_2_at_running.task_1" [label=task_1 color=limegreen]
\t\t"task_2_at_running.task_2" [label=task_2 color=steelblue]
\t\t"task_2_at_running.task_1" -> "task_2_at_running.task_2"
\t}
\ttask_1_b -> "task_2_at_running.task_1" [lhead=cluster_task_2_at_running]
\ttask_1_a -> "task_2_at_running.task_1" [lhead=cluster_task_2_at_running]
\ttask_3 [label=task_3 color=magenta]
\t"task_2_at_running.task_1" -> task_3 [ltail=cluster_task_2_at_running]
\ttask_2_after -> task_3
}
"""


def test_quote_follows_graphviz_rules() -> None:
    assert quote("task_1") == "task_1"
    assert quote("a-b") == '"a-b"'
    assert quote("node") == '"node"'
    assert quote('say "hi"') == '"say \\"hi\\""'


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_render_svg_and_pdf() -> None:
    dot = dot_from_tasks("b", COMPLEX)
    assert b"<svg" in render(dot, "svg")
    assert render(dot, "pdf").startswith(b"%PDF")


def _state() -> BakeState:
    bake = BakeRecord("bake-x", 1, "batch-complex-seq", None, (), {}, {}, "local", 0.0)
    attempt = AttemptRecord("bake-x", 1, "running", "", None, "", "", False, 0.0, None, "")
    return BakeState(bake, attempt, COMPLEX, [])


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graph_files_named_like_a_rendered_format_keep_the_dot_beside(tmp_path: Path) -> None:
    dot = dot_from_tasks("batch-complex-seq", COMPLEX)
    for name in ("g.svg", "g.pdf"):
        target = tmp_path / name
        files = graph_files(_state(), target, dot=True, svg=True, pdf=True)
        gv = tmp_path / "g.gv"
        assert files[0] == gv and len(set(files)) == len(files) == 3
        assert gv.read_text() == dot
        assert target in files  # the explicit extension is not doubled
        svg = target if name == "g.svg" else Path(f"{target}.svg")
        pdf = target if name == "g.pdf" else Path(f"{target}.pdf")
        assert svg.read_text().lstrip().startswith("<?xml")
        assert pdf.read_bytes().startswith(b"%PDF")
        for out in files:
            out.unlink()
    # a FILE no rendered format claims keeps the DOT text, as neuro-flow writes it
    assert graph_files(_state(), tmp_path / "g.svg", dot=True) == [tmp_path / "g.svg"]
    assert (tmp_path / "g.svg").read_text() == dot
    files = graph_files(_state(), tmp_path / "h.gv", dot=True, svg=True)
    assert files == [tmp_path / "h.gv", tmp_path / "h.gv.svg"]
    assert (tmp_path / "h.gv").read_text() == dot


def test_render_without_dot_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BackendError, match="Graphviz's `dot` program was not found"):
        render("digraph {}", "pdf")


def edges_of(structure: dict) -> set[tuple[str, str]]:
    ids, flat = structure["ids"], structure["edges"]
    return {(ids[flat[k]], ids[flat[k + 1]]) for k in range(0, len(flat), 2)}


def test_structure_has_ids_kinds_titles_and_edges_from_needs() -> None:
    structure = graph_structure([t("a", "succeeded"), t("b", "running", ("a",)),
                                 t("c", "pending", ("a", "b", "gone"))])
    assert structure["ids"] == ["a", "b", "c"]
    assert structure["kinds"] == ["task"] * 3
    assert edges_of(structure) == {("a", "b"), ("a", "c"), ("b", "c")}  # unknown needs dropped
    assert structure["groups"] == []
    assert len(structure["key"]) == 16


def test_what_needs_a_call_comes_after_the_calls_inner_tasks() -> None:
    tasks = [
        t("prep", "succeeded"),
        t("outer", "running", ("prep",), kind="action"),
        t("outer.a", "succeeded"),
        t("outer.b", "running", ("outer.a",)),
        t("outer.deep", "running", ("outer.a",), kind="module"),
        t("outer.deep.x", "pending"),
        t("last", "pending", ("outer",)),
    ]
    edges = edges_of(graph_structure(tasks))
    assert {("prep", "outer"), ("outer", "outer.a"), ("outer.a", "outer.b"),
            ("outer.deep", "outer.deep.x"), ("outer.b", "last"), ("outer.deep.x", "last")} <= edges
    assert ("outer", "last") not in edges and ("outer.deep", "last") not in edges
    # a call whose inner tasks are not known yet is one step
    early = graph_structure([t("outer", "pending", kind="action"), t("last", "pending", ("outer",))])
    assert edges_of(early) == {("outer", "last")}
    assert early["groups"] == []


def test_groups_collapse_calls_and_matrices_with_readable_labels() -> None:
    tasks = [t("prep", "succeeded")]
    tasks += [t(f"train_{i}", "running", ("prep",), group="task-2") for i in range(2)]
    tasks += [t("deploy", "running", ("train_0", "train_1"), kind="action"),
              t("deploy.push", "succeeded"), t("deploy.check", "running", ("deploy.push",))]
    tasks += [t(f"deploy.ping-{i}", "pending", ("deploy.check",), group="deploy.ping")
              for i in range(3)]
    structure = graph_structure(tasks)
    groups = {g["id"]: g for g in structure["groups"]}
    ids = structure["ids"]
    assert groups["task-2"]["label"] == "train (matrix, 2)"  # not "train_0 ×2" or "task-2"
    assert [ids[m] for m in groups["task-2"]["members"]] == ["train_0", "train_1"]
    assert groups["deploy"]["kind"] == "action"
    assert groups["deploy"]["label"] == "deploy (action, 5 tasks)"
    assert groups["deploy.ping"]["label"] == "ping (matrix, 3)"
    numbered = graph_structure([t(f"fit_{i}", "pending", group="g2") for i in range(200, 300)])
    assert numbered["groups"][0]["label"] == "fit (matrix, 100)"  # whole words, not "fit_2"
    # outer groups come first; a matrix inside a call names the call's group as its parent
    order = [g["id"] for g in structure["groups"]]
    assert order.index("deploy") < order.index("deploy.ping")
    assert groups["deploy.ping"]["parent"] == order.index("deploy")
    assert groups["task-2"]["parent"] == -1
    # the key follows the structure, not the statuses
    again = graph_structure([TaskRecord(x.bake_id, 1, x.full_id, "failed", kind=x.kind,
                                        needs=x.needs, matrix_group=x.matrix_group)
                             for x in tasks])
    assert again["key"] == structure["key"]
    assert graph_structure(tasks[:-1])["key"] != structure["key"]


def test_a_matrix_of_calls_holds_the_calls_inner_tasks() -> None:
    tasks = [t(f"svc-{i}", "running", kind="action", group="task-1") for i in range(2)]
    tasks += [t(f"svc-{i}.run", "running") for i in range(2)]
    structure = graph_structure(tasks)
    groups = {g["id"]: g for g in structure["groups"]}
    matrix = groups["task-1"]
    assert sorted(structure["ids"][m] for m in matrix["members"]) == [
        "svc-0", "svc-0.run", "svc-1", "svc-1.run"]
    assert matrix["label"] == "svc (matrix, 2)"
    assert groups["svc-0"]["parent"] == structure["groups"].index(matrix)


def test_task_columns_and_the_notebook_field() -> None:
    tasks = [t("a", "succeeded"), t("b", "failed", ("a",))]
    columns = task_columns(tasks)
    assert columns["status"] == ["succeeded", "failed"]
    assert "notebook" not in columns  # no task wrote one
    link = {"path": "out/b.ipynb", "lab_url": "/lab/tree/out/b.ipynb", "html_url": "/x.html"}
    columns = task_columns(tasks, lambda task: link if task.full_id == "b" else None)
    assert columns["notebook"] == [None, link]


def test_graph_data_of_a_thousand_tasks_is_compact() -> None:
    import json

    tasks = [t(f"fit_{i}", "succeeded" if i < 500 else "pending",
               (f"fit_{i - 10}",) if i >= 10 else (), group=f"g{i // 100}") for i in range(1000)]
    bake = BakeRecord("bake-x", 1, "big", "nightly", (), {}, {}, "local", 0.0)
    attempt = AttemptRecord("bake-x", 1, "running", "", None, "", "", True, 0.0, None, "")
    data = graph_data(BakeState(bake, attempt, tasks, []))
    assert data["bake"]["name"] == "nightly" and data["attempt"]["result"] == "running"
    assert [a["number"] for a in data["attempts"]] == [1]
    assert len(data["structure"]["edges"]) == 2 * 990
    assert len(data["structure"]["groups"]) == 10
    assert data["structure"]["groups"][0]["label"] == "fit (matrix, 100)"
    assert len(json.dumps(data["tasks"]["status"])) < 15_000  # what changes on a refresh
    assert len(json.dumps(data)) < 150_000

    # a browser that has the structure is sent its key alone
    key = data["structure"]["key"]
    assert graph_data(BakeState(bake, attempt, tasks, []), known_key=key)["structure"] == {"key": key}
    assert graph_data(BakeState(bake, attempt, tasks, []), known_key="x")["structure"]["ids"]


def test_changed_tasks_between_two_states() -> None:
    before = task_columns([t("a", "succeeded"), t("b", "pending", ("a",)), t("c", "pending")])
    after = task_columns([t("a", "succeeded"), t("b", "running", ("a",)), t("c", "pending")])
    assert changed_tasks(before, after) == [1]
    assert changed_tasks(before, before) == []
    assert changed_tasks(before, task_columns([t("a", "succeeded")])) is None  # tasks added
    with_notebook = task_columns([t("a", "succeeded"), t("b", "pending"), t("c", "pending")],
                                 lambda task: {"path": "x"} if task.full_id == "a" else None)
    assert changed_tasks(before, with_notebook) is None  # another column
