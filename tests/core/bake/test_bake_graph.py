"""DOT export as neuro-flow writes it, rendering through Graphviz, and the pure-Python layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neuro_jupyter.core.bake.api import BakeState
from neuro_jupyter.core.errors import BackendError
from neuro_jupyter.core.graph import dot_from_tasks, graph_files, quote, render, statuses_summary
from neuro_jupyter.core.graph_layout import NodeIn, layout
from neuro_jupyter.core.store.bakes import AttemptRecord, BakeRecord, TaskRecord


def t(full_id: str, status: str, needs: tuple[str, ...] = (), kind: str = "task") -> TaskRecord:
    return TaskRecord("bake-x", 1, full_id, status, kind=kind,
                      needs={n: "completed" for n in needs})


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


def test_layout_layers_left_to_right() -> None:
    nodes = [NodeIn("a", "a"), NodeIn("b", "b", ("a",)), NodeIn("c", "c", ("a", "b"))]
    result = layout(nodes)
    x = dict(zip(result.ids, result.x, strict=True))
    assert x["a"] < x["b"] < x["c"]
    assert sorted(result.edges) == [(0, 1), (0, 2), (1, 2)]


def test_layout_puts_what_needs_a_call_after_the_calls_inner_tasks() -> None:
    nodes = [
        NodeIn("prep", "prep"),
        NodeIn("outer", "outer", ("prep",), kind="action"),
        NodeIn("outer.a", "a"),
        NodeIn("outer.b", "b", ("outer.a",)),
        NodeIn("outer.deep", "deep", ("outer.a",), kind="module"),
        NodeIn("outer.deep.x", "x"),
        NodeIn("last", "last", ("outer",)),
    ]
    result = layout(nodes)
    x = dict(zip(result.ids, result.x, strict=True))
    assert x["prep"] < x["outer"] < x["outer.a"] < x["outer.b"] < x["last"]
    assert x["outer.deep"] < x["outer.deep.x"] < x["last"]
    pairs = {(result.ids[a], result.ids[b]) for a, b in result.edges}
    assert {("outer.b", "last"), ("outer.deep.x", "last")} <= pairs
    assert ("outer", "last") not in pairs and ("outer.deep", "last") not in pairs
    # a call whose inner tasks are not known yet is drawn as one step
    early = layout([NodeIn("outer", "outer", kind="action"), NodeIn("last", "last", ("outer",))])
    assert early.edges == [(0, 1)]


def test_layout_collapses_matrix_groups() -> None:
    nodes = [NodeIn("prep", "prep")]
    nodes += [NodeIn(f"train-{i}", f"train-{i}", ("prep",), group="train") for i in range(40)]
    nodes += [NodeIn("eval", "eval", tuple(f"train-{i}" for i in range(40)))]
    full = layout(nodes)
    small = layout(nodes, collapse=True)
    assert len(full.ids) == 42
    assert small.ids == ["prep", "train", "eval"]
    assert small.counts == [1, 40, 1]
    assert small.edges == [(0, 1), (1, 2)]
    statuses = {f"train-{i}": "succeeded" for i in range(40)} | {"train-3": "running"}
    assert small.statuses(statuses)[1] == "running"


def test_layout_handles_a_thousand_tasks() -> None:
    nodes = [NodeIn(f"t{i}", f"t{i}", (f"t{i - 1}",) if i % 10 else ()) for i in range(1000)]
    result = layout(nodes)
    assert len(result.ids) == 1000 and len(result.edges) == 900
    assert len(set(zip(result.x, result.y, strict=True))) == 1000  # no two nodes overlap


def test_collapsed_status_summary() -> None:
    assert statuses_summary(["succeeded", "cached"]) == "succeeded"
    assert statuses_summary(["failed", "succeeded"]) == "failed"
    assert statuses_summary(["pending", "succeeded"]) == "running"
    assert statuses_summary(["pending", "pending"]) == "pending"
    assert statuses_summary(["skipped"]) == "skipped"


def test_wide_layers_wrap_into_columns() -> None:
    result = layout([NodeIn(f"t{i}", f"t{i}") for i in range(1000)])
    assert result.height < 40 * 40  # at most 40 rows
    assert len(set(result.x)) == 25  # 1000 nodes in 25 columns of 40
    assert len(set(zip(result.x, result.y, strict=True))) == 1000
