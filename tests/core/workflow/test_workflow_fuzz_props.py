"""Property tests over whole files: random documents built from the real keys never crash the
checker, the live resolver or the batch planner: they give our own errors or a result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuro_jupyter.core.errors import NeuroJupyterError
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.workflow import check_paths, plan_batch, resolve_live_job
from neuro_jupyter.core.workflow.grammar import batch_flow, live_flow

KEYS = sorted({*live_flow().fields, *batch_flow().fields, "cmd", "bash", "python", "image",
               "env", "volumes", "id", "needs", "strategy", "matrix", "include", "exclude",
               "enable", "cache", "mixins", "params", "default", "multi", "action",
               "args", "ref", "remote", "mount", "local", "life_span", "http_port", "j", "t"})
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.sampled_from([
        "echo hi", "${{ 1 + 1 }}", "${{ matrix.x }}", "${{ needs.a.result }}", "x:/y",
        "storage:a:/b:ro", "${{ params.p }}", "1d", "ws:nothing", "gh:neuro-actions/jupyter@v1",
        "${{ [1, 2] }}", "${{ {'a': 1} }}", "${{ success() }}", "a", "t", "j", "live", "batch",
        "${{ range(300) }}", "completed", "running", "${{ ().__class__ }}", "$[[ flow.id ]]",
    ]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=25,
)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def _write(tmp: Path, name: str, doc: dict[str, Any]) -> tuple[Project, Path]:
    root = tmp / "fz"
    (root / ".neuro").mkdir(parents=True, exist_ok=True)
    path = root / ".neuro" / name
    path.write_text(yaml.safe_dump(doc))
    return Project(root=root, id="fz", name="fz"), path


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6),
       st.dictionaries(st.sampled_from(["j", "t", "a"]), VALUES, max_size=3))
def test_random_live_files(tmp_path: Path, top: dict[str, Any], jobs: dict[str, Any]) -> None:
    doc = {**top, "kind": "live", "jobs": jobs}
    project, path = _write(tmp_path, "live.yml", doc)
    errors = check_paths([path])
    assert all(isinstance(e, NeuroJupyterError) for e in errors)
    for job in jobs:
        try:
            resolve_live_job(project, job)
        except NeuroJupyterError:
            pass


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6),
       st.lists(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5), max_size=4))
def test_random_batch_files(tmp_path: Path, top: dict[str, Any], tasks: list[Any]) -> None:
    doc = {**top, "kind": "batch", "tasks": tasks}
    project, path = _write(tmp_path, "b.yml", doc)
    errors = check_paths([path])
    assert all(isinstance(e, NeuroJupyterError) for e in errors)
    try:
        plan = plan_batch(project, "b", params={"p": "1"})
    except NeuroJupyterError:
        return
    graph = plan.root
    for node in graph.nodes.values():
        try:
            if node.kind in ("task", "local"):
                graph.task(node.id, {})
            graph.is_enabled(node.id, {}, False)
        except NeuroJupyterError:
            pass
