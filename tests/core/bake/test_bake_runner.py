"""The scheduler in-process over a hand-built BatchGraph: needs levels, limits, fail_fast, cache."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from neuro_jupyter.core import paths
from neuro_jupyter.core.backends.local import LocalBackend
from neuro_jupyter.core.backends.local.mapping import to_process_spec
from neuro_jupyter.core.bake.runner import BakeRunner
from neuro_jupyter.core.project import open_project
from neuro_jupyter.core.store import bakes as rows
from neuro_jupyter.core.store import open_store
from neuro_jupyter.core.store.projects import project_pk
from neuro_jupyter.core.workflow.batch_api import BatchGraph, GraphNode
from neuro_jupyter.core.workflow.model import CachePolicy, DepResult, TaskSpec


class ShellGraph(BatchGraph):
    """Nodes running shell snippets; enable is success() unless listed as always."""

    def __init__(self, nodes: list[GraphNode], scripts: Mapping[str, str], *,
                 max_parallel: int = 10, always: tuple[str, ...] = (), cache: str = "none") -> None:
        self.prefix = ()
        self.nodes = {node.id: node for node in nodes}
        self.scripts = scripts
        self.max_parallel = max_parallel
        self.fail_fast = True
        self.always = always
        self.cache = cache

    def is_enabled(self, node_id: str, needs: Mapping[str, DepResult], cancelling: bool) -> bool:
        if node_id in self.always:
            return True
        return not cancelling and all(dep.result == "succeeded" for dep in needs.values())

    def runs_on_cancel(self, node_id: str) -> bool:
        return node_id in self.always

    def task(self, node_id: str, needs: Mapping[str, DepResult]) -> TaskSpec:
        script = self.scripts[node_id]
        for dep, result in needs.items():
            for name, value in result.outputs.items():
                script = script.replace(f"{{{dep}.{name}}}", value)
        key = hashlib.sha256(json.dumps([node_id, script]).encode()).hexdigest()
        return TaskSpec(title=node_id, argv=("sh", "-c", script), full_id=(node_id,),
                        cache=CachePolicy(strategy=self.cache), caching_key=key)  # type: ignore[arg-type]

    def subgraph(self, node_id: str, needs: Mapping[str, DepResult]) -> BatchGraph:
        raise AssertionError("no calls here")

    def outputs(self, results: Mapping[str, DepResult]) -> dict[str, str]:
        return {}


@pytest.fixture()
def a_project(tmp_path: Path):
    (tmp_path / ".neuro").mkdir()
    return open_project(tmp_path)


def run(project, graph: BatchGraph, batch: str = "b") -> tuple[str, dict[str, rows.TaskRecord]]:
    store = open_store()
    bake = rows.create_bake(store, project_pk=project_pk(project, store), batch=batch, name=None,
                            tags=(), params={}, config_files={})
    runner = BakeRunner(store, bake, 1, graph, project, backend=LocalBackend(),
                        mapper=to_process_spec, logs_root=paths.logs_dir())
    result = runner.run()
    return result, {t.full_id: t for t in rows.list_tasks(store, bake.bake_id, 1)}


def test_runner_outputs_flow_to_needs_and_running_level(a_project) -> None:
    nodes = [
        GraphNode("a", "task", {}),
        GraphNode("server", "task", {}),
        GraphNode("b", "task", {"a": "completed", "server": "running"}),
    ]
    scripts = {"a": "echo '::set-output name=x::42'", "server": "sleep 0.5",
               "b": "echo got {a.x}"}
    result, tasks = run(a_project, ShellGraph(nodes, scripts))
    assert result == "succeeded"
    assert tasks["a"].outputs == {"x": "42"}
    assert Path(tasks["b"].log_path).read_text() == "got 42\n"
    # b needed server only at the running level, so it finished before server did
    assert tasks["b"].finished_at < tasks["server"].finished_at  # type: ignore[operator]
    assert tasks["b"].needs == {"a": "completed", "server": "running"}


def test_runner_max_parallel_limits_concurrency(a_project, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    script = f"touch {marks}/$$; ls {marks} | wc -l >> {tmp_path}/counts; sleep 0.2; rm {marks}/$$"
    nodes = [GraphNode(f"t{i}", "task", {}) for i in range(6)]
    result, _ = run(a_project, ShellGraph(nodes, {n.id: script for n in nodes}, max_parallel=2))
    assert result == "succeeded"
    counts = [int(x) for x in (tmp_path / "counts").read_text().split()]
    assert len(counts) == 6 and max(counts) <= 2


def test_runner_matrix_group_limit(a_project, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    script = f"touch {marks}/$$; ls {marks} | wc -l >> {tmp_path}/counts; sleep 0.2; rm {marks}/$$"
    nodes = [GraphNode(f"m-{i}", "task", {}, max_parallel=1, matrix_group="m") for i in range(3)]
    result, tasks = run(a_project, ShellGraph(nodes, {n.id: script for n in nodes}))
    assert result == "succeeded"
    assert max(int(x) for x in (tmp_path / "counts").read_text().split()) == 1
    assert {t.matrix_group for t in tasks.values()} == {"m"}


def test_runner_fail_fast_cancels_and_always_runs(a_project) -> None:
    nodes = [
        GraphNode("bad", "task", {}),
        GraphNode("slow", "task", {}),
        GraphNode("after", "task", {"bad": "completed"}),
        GraphNode("cleanup", "task", {"bad": "completed", "slow": "completed"}),
    ]
    scripts = {"bad": "sleep 0.2; exit 3", "slow": "sleep 30", "after": "true",
               "cleanup": "echo cleaning"}
    started = time.monotonic()
    result, tasks = run(a_project, ShellGraph(nodes, scripts, always=("cleanup",)))
    assert time.monotonic() - started < 25  # slow was killed, not waited for
    assert result == "cancelled"
    assert tasks["bad"].status == "failed" and tasks["bad"].exit_code == 3
    assert tasks["slow"].status == "cancelled"
    assert tasks["after"].status == "skipped"
    assert tasks["cleanup"].status == "succeeded"


def test_runner_cache_hit_marks_cached(a_project) -> None:
    nodes = [GraphNode("a", "task", {})]
    scripts = {"a": "echo '::set-output name=v::1'"}
    first, tasks1 = run(a_project, ShellGraph(nodes, scripts, cache="default"))
    second, tasks2 = run(a_project, ShellGraph(nodes, scripts, cache="default"))
    assert first == second == "succeeded"
    assert tasks2["a"].status == "cached"
    assert tasks2["a"].raw_id == tasks1["a"].raw_id
    assert tasks2["a"].outputs == {"v": "1"}
