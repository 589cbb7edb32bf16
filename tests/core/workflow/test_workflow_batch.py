"""Batch flows (§2): planning, matrix, needs, enable, nested actions, caching keys, overlay."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from neuro_jupyter.core.errors import UnknownNameError, WorkflowError, WorkflowErrors
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.workflow import list_batches, plan_batch, taskspec
from neuro_jupyter.core.workflow.model import DepResult

from .conftest import FIXTURES

MakeProject = Callable[..., Project]
OK = DepResult("succeeded")


@pytest.fixture
def full(tmp_path: Path) -> Project:
    root = tmp_path / "full"
    shutil.copytree(FIXTURES / "full", root)
    return Project(root=root, id="full_proj", name="full")


def _batch(tasks: str, head: str = "") -> dict[str, str]:
    return {".neuro/b.yml": f"kind: batch\n{head}tasks:\n{tasks}"}


def test_list_batches(full: Project) -> None:
    assert list_batches(full) == ["batch_all"]


def test_plan_params_and_snapshot(full: Project) -> None:
    with pytest.raises(WorkflowError, match="Param required_p is not initialized"):
        plan_batch(full, "batch_all")
    plan = plan_batch(full, "batch_all", params={"required_p": "r", "count": "4"})
    assert plan.params == {"count": "4", "name": "world", "required_p": "r"}
    assert (plan.batch, plan.flow_id, plan.title) == ("batch_all", "batch_all_flow",
                                                      "Every batch key")
    assert plan.life_span == 2 * 24 * 3600
    assert sorted(plan.config_files) == [
        ".neuro/batch_all.yml", ".neuro/project.yml", "actions/batch_action.yml",
        "actions/leaf_action.yml", "actions/local_action.yml", "actions/stateful_action.yml",
        "modules/batch_module.yml"]
    assert plan.config_files[".neuro/batch_all.yml"] == (
        full.root / ".neuro" / "batch_all.yml").read_text()
    with pytest.raises(UnknownNameError, match="Valid batches: batch_all"):
        plan_batch(full, "nope")


def test_graph_nodes(full: Project) -> None:
    g = plan_batch(full, "batch_all", params={"required_p": "r"}).root
    assert g.prefix == () and g.max_parallel == 3 and g.fail_fast is False
    assert list(g.nodes) == [
        "local_prep", "first", "grid_o1_t1", "grid_o2_t1", "grid_o2_t2", "grid_extra_t9",
        "task-4-a", "task-4-b", "after_grid", "act", "state", "mod", "cleanup", "on_failure",
        "post-state"]
    n = g.nodes
    assert n["local_prep"].kind == "local" and n["act"].kind == "action"
    assert n["state"].kind == "task" and n["mod"].kind == "module"
    assert n["post-state"].kind == "task"
    assert n["post-state"].needs == {"on_failure": "completed", "state": "completed"}
    assert n["first"].needs == {"local_prep": "completed"}
    assert n["grid_o2_t1"].matrix == {"x": "o2", "y": "t1", "ORDINAL": 1}
    assert n["grid_o2_t1"].matrix_group == "task-3" and n["grid_o2_t1"].max_parallel == 2
    assert n["grid_o2_t1"].fail_fast is True
    grid = {"grid_o1_t1", "grid_o2_t1", "grid_o2_t2", "grid_extra_t9"}
    assert set(n["task-4-a"].needs) == grid  # default: every instance of the previous task
    assert set(n["after_grid"].needs) == grid | {"first"}  # instances and an expression
    assert n["cleanup"].needs == {"act": "completed", "state": "running"}
    assert n["act"].max_parallel == 1 and n["first"].title == "First task"


def test_enable(full: Project) -> None:
    g = plan_batch(full, "batch_all", params={"required_p": "r"}).root
    grid = {k: OK for k in g.nodes["after_grid"].needs}
    assert g.is_enabled("after_grid", {**grid, "first": OK}, False)
    assert not g.is_enabled("after_grid", {**grid, "first": DepResult("failed")}, False)
    assert g.is_enabled("first", {"local_prep": DepResult("cached")}, False)  # default
    assert not g.is_enabled("first", {"local_prep": DepResult("skipped")}, False)
    assert g.is_enabled("on_failure", {"act": DepResult("failed")}, False)
    assert not g.is_enabled("on_failure", {"act": OK}, False)
    assert g.runs_on_cancel("cleanup") and not g.runs_on_cancel("first")
    assert g.is_enabled("cleanup", {"act": DepResult("cancelled")}, True)
    assert not g.is_enabled("first", {"local_prep": OK}, True)


def test_task_evaluation(full: Project, a_home: Path) -> None:
    g = plan_batch(full, "batch_all", params={"required_p": "r"}).root
    first = g.task("first", {"local_prep": OK})
    assert first.full_id == ("first",) and first.title == "First task"
    assert first.argv == ("bash", "-euo", "pipefail", "-c", 'echo "::set-output name=answer::42"')
    assert first.image == "ubuntu:world" and first.entrypoint == "sh"
    assert first.env == {"FROM_PROJECT": "1", "BENV": "1", "T": "3"}
    assert [m.mount for m in first.volumes] == ["/bvol", "/vol"]
    assert first.volumes[1].local == a_home / "storage" / "full_proj" / "batch_all_flow" / "vol"
    assert set(first.tags) == {"project:full-proj", "flow:batch-all-flow", "task:first", "bt",
                               "proj-tag", "t1"}
    assert (first.life_span, first.schedule_timeout, first.preset) == (1800, 10, "gpu")
    assert (first.http_port, first.http_auth, first.pass_config) == (8080, False, True)
    assert first.cache.strategy == "default" and first.cache.life_span == 24 * 3600
    grid = g.task("grid_o2_t2", {"first": DepResult("succeeded", {"answer": "42"})})
    assert grid.argv == ("python3", "-uc", 'print("o2-t2-2-2-42")')
    assert grid.workdir == "/w" and grid.env["MIX"] == "quick"
    assert grid.cache.strategy == "none"  # from the mixin
    auto = g.task("task-4-b", {})
    assert auto.argv == ("echo", "auto", "b") and auto.cache.life_span == 2 * 24 * 3600
    local = g.task("local_prep", {})
    assert local.argv == ("echo", "local", "world") and local.cache.strategy == "none"


def test_caching_key(full: Project) -> None:
    g = plan_batch(full, "batch_all", params={"required_p": "r"}).root
    needs = {"local_prep": DepResult("succeeded", {"answer": "42"})}
    key = g.task("first", needs).caching_key
    assert len(key) == 64
    assert g.task("first", needs).caching_key == key
    assert g.task("first", {"local_prep": DepResult("cached", {"answer": "42"})}
                  ).caching_key == key  # cached counts as succeeded
    assert g.task("first", {"local_prep": DepResult("succeeded", {"answer": "43"})}
                  ).caching_key != key
    # a task that is never cached (``strategy: none``, from its mixin) gets no key
    assert g.task("grid_o1_t1", {"first": DepResult("succeeded", {"answer": "42"})}
                  ).caching_key == ""


def _key_data(full: Project) -> list[object]:
    """What caching keys encode, for tasks that together set every TaskSpec field, plus the
    other types the encoder meets (non-ASCII text, floats, None, paths, sets)."""
    g = plan_batch(full, "batch_all", params={"required_p": "r"}).root
    first = g.task("first", {"local_prep": OK})
    assert all(v not in (None, (), {}) for v in vars(first).values())  # every field set
    grid = g.task("grid_o2_t2", {"first": DepResult("succeeded", {"answer": "42"})})
    extra = {"text": "naïve ☃ \"q\"\n", "float": 1.5, "none": None, "path": Path("/a/b"),
             "set": {"x"}, "nested": {"b": [1, (2, 3)], "a": True}}
    return [{"task": taskspec._task_dict(spec), "needs": {"first": {"result": "succeeded",
             "outputs": {"answer": "42"}}}, "state": {"k": "v"}, "extra": extra}
            for spec in (first, grid)]


def test_caching_key_text_is_json_dumps(full: Project) -> None:
    for data in _key_data(full):
        assert taskspec._dumps(data) == json.dumps(data, sort_keys=True,
                                                   default=taskspec._jsonable)


def test_caching_key_without_the_c_encoder(full: Project,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    data = _key_data(full)
    fast = [taskspec._dumps(d) for d in data]
    # what json.encoder holds on a Python without the _json accelerator: json.dumps then
    # encodes in pure Python, and must give the text the C encoder gave
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    assert taskspec._c_encoder() is None
    monkeypatch.setattr(taskspec, "_ENCODE", None)
    assert [taskspec._dumps(d) for d in data] == fast


def test_nested_action_graphs(full: Project) -> None:
    g = plan_batch(full, "batch_all", params={"required_p": "r"}).root
    act = g.subgraph("act", {"after_grid": OK})
    assert act.prefix == ("act",) and list(act.nodes) == ["inner_a", "inner_b", "deeper"]
    assert act.max_parallel == 1
    inner = act.task("inner_a", {})
    assert inner.full_id == ("act", "inner_a") and inner.image == "alpine:3"
    assert inner.argv == ("echo", "succeeded") and "task:act.inner_a" in inner.tags
    assert inner.cache.strategy == "default"  # the action's cache applies over the call's
    assert inner.cache.life_span == 3600
    deeper = act.subgraph("deeper", {"inner_b": OK})
    assert deeper.prefix == ("act", "deeper")
    assert deeper.task("leaf", {}).argv == ("echo", "leaf", "succeeded")
    assert deeper.outputs({"leaf": OK}) == {}
    assert act.outputs({"inner_b": DepResult("succeeded", {"v": "V"})}) == {"out": "V"}
    assert g.outputs({}) == {}


def test_stateful_and_module_calls(full: Project) -> None:
    g = plan_batch(full, "batch_all", params={"required_p": "r"}).root
    main = g.task("state", {"act": OK})  # main runs at the call, as a task
    assert main.argv == ("echo", "::save-state name=token::x") and main.full_id == ("state",)
    assert main.image == "ubuntu" and main.workdir is None  # no flow defaults
    saved = {"on_failure": OK, "state": DepResult("succeeded", {}, {"token": "T"})}
    post = g.task("post-state", saved)  # post runs last, with main's saved state
    assert post.argv == ("echo", "post", "T") and post.full_id == ("post-state",)
    assert g.is_enabled("post-state", {"on_failure": OK, "state": DepResult("failed")}, False)
    assert g.runs_on_cancel("post-state") and not g.runs_on_cancel("state")
    assert g.is_enabled("post-state", {}, True)
    mod = g.subgraph("mod", {"state": OK})
    assert mod.task("m1", {}).argv == ("echo", "2", "world", "batch_all_flow")
    assert mod.task("m1", {}).env["FROM_PROJECT"] == "1"  # modules inherit defaults
    assert mod.outputs({}) == {"lvl": "2"}


def test_overlay_and_replanning_from_the_snapshot(full: Project, tmp_path: Path) -> None:
    cell = "kind: batch\ntasks:\n  - id: only\n    cmd: echo ${{ flow.flow_id }}\n"
    plan = plan_batch(full, "cell", overlay={".neuro/cell.yml": cell})
    assert list(plan.root.nodes) == ["only"]
    assert plan.config_files[".neuro/cell.yml"] == cell
    assert plan.root.task("only", {}).argv == ("echo", "cell")
    # a bake re-planned from its stored files alone, in a folder without them
    original = plan_batch(full, "batch_all", params={"required_p": "r"})
    empty = tmp_path / "elsewhere"
    (empty / ".neuro").mkdir(parents=True)
    again = plan_batch(Project(root=empty, id="full_proj", name="x"), "batch_all",
                       params={"required_p": "r"}, overlay=original.config_files)
    assert list(again.root.nodes) == list(original.root.nodes)
    needs = {"first": DepResult("succeeded", {"answer": "1"})}
    assert again.root.task("grid_o1_t1", needs).argv == original.root.task(
        "grid_o1_t1", needs).argv
    act = again.root.subgraph("act", {"after_grid": OK})
    assert act.subgraph("deeper", {"inner_b": OK}).task("leaf", {}).argv


def test_matrix_rules(make_project: MakeProject) -> None:
    project = make_project(_batch(
        "  - strategy:\n      matrix:\n        z: [1, 2]\n        a: [x]\n"
        "    cmd: echo\n  - id: ${{ fmt('u_{}', matrix.v) }}\n    strategy:\n"
        "      matrix:\n        v: ${{ range(2) }}\n    needs: [task-1-x-1]\n"
        "    cmd: echo\n  - strategy:\n      matrix:\n        lr: [0.1]\n    cmd: echo\n"))
    g = plan_batch(project, "b").root
    # auto ids: task-<n>, then the values by sorted key; '.' made '_'
    assert list(g.nodes) == ["task-1-x-1", "task-1-x-2", "u_0", "u_1", "task-3-0_1"]
    assert g.nodes["u_1"].needs == {"task-1-x-1": "completed"}  # a need on one instance
    assert g.nodes["u_1"].matrix == {"v": 1, "ORDINAL": 1}
    assert set(g.nodes["task-3-0_1"].needs) == {"u_0", "u_1"}


def test_a_matrix_task_with_a_fixed_id_is_refused(make_project: MakeProject) -> None:
    project = make_project(_batch("  - id: t\n    strategy:\n      matrix:\n"
                                  "        a: [1, 2]\n    cmd: echo\n"))
    with pytest.raises(WorkflowError, match=r"b.yml:3:9: duplicate task id 't' \(a matrix "
                                            "task needs an id that uses"):
        plan_batch(project, "b")


@pytest.mark.parametrize(("tasks", "message"), [
    ("  - id: a\n    needs: [zzz]\n    cmd: x\n",
     r"b.yml:4:13: Task a needs unknown task zzz \(tasks: a\)"),
    ("  - id: a\n    needs: [c]\n    cmd: x\n  - id: b\n    cmd: x\n  - id: c\n    cmd: x\n",
     r"b.yml:4:12: tasks form a cycle: a -> c -> b -> a"),
    ("  - id: a\n    cmd: x\n  - id: a\n    cmd: y\n", "b.yml:5:9: duplicate task id 'a'"),
    ("  - id: a\n    needs: [a]\n    cmd: x\n", "Task a needs itself"),
    ("  - id: a\n    strategy:\n      matrix:\n        x: ${{ range(20) }}\n"
     "        y: ${{ range(20) }}\n    cmd: x\n",
     "b.yml:6:9: The matrix size for task #1 exceeds the limit of 256"),
    ("  - id: a\n    strategy:\n      matrix:\n        x: [1]\n        include:\n"
     "          - {y: 2}\n    cmd: x\n",
     "missing keys: x; extra keys: y"),
    ("  - id: ${{ 'bad-id' + '!' }}\n    cmd: x\n", "task id 'bad-id!' is not an identifier"),
])
def test_graph_errors(make_project: MakeProject, tasks: str, message: str) -> None:
    project = make_project(_batch(tasks))
    with pytest.raises((WorkflowError, WorkflowErrors), match=message):
        plan_batch(project, "b")


def test_planning_stops_at_the_first_graph_error(make_project: MakeProject) -> None:
    """``plan_batch`` raises one error (``check`` collects them all)."""
    project = make_project(_batch("  - id: a\n    needs: [zzz]\n    cmd: x\n"
                                  "  - id: b\n    needs: [c]\n    cmd: x\n"
                                  "  - id: c\n    needs: [b]\n    cmd: x\n"))
    with pytest.raises(WorkflowError) as info:
        plan_batch(project, "b")
    assert "needs unknown task zzz" in str(info.value) and "cycle" not in str(info.value)


def test_local_actions_run_first(make_project: MakeProject) -> None:
    files = _batch("  - id: remote\n    cmd: x\n  - id: loc\n    action: ws:loc.yml\n")
    files["loc.yml"] = "kind: local\ncmd: echo local\n"
    with pytest.raises(WorkflowError, match="Local action 'loc' depends on remote task "
                                            "'remote'"):
        plan_batch(make_project(files), "b")


def test_cache_is_refused_on_local_action_calls(make_project: MakeProject) -> None:
    files = _batch("  - id: loc\n    action: ws:loc.yml\n    cache:\n      strategy: none\n")
    files["loc.yml"] = "kind: local\ncmd: echo local\n"
    with pytest.raises(WorkflowError, match="Specifying cache in action call to the action "
                                            "ws:loc.yml of kind local is not supported"):
        plan_batch(make_project(files), "b")


def test_image_refs_defined_twice(make_project: MakeProject) -> None:
    head = ("images:\n  a:\n    ref: image:img:1\n    context: x\n  b:\n    ref: image:img:1\n"
            "    context: y\n")
    with pytest.raises(WorkflowErrors, match="Image with ref 'image:img:1' defined multiple "
                                             "times with different attributes"):
        plan_batch(make_project(_batch("  - cmd: x\n", head)), "b")


def test_image_refs_twice_that_neuro_flow_accepts(make_project: MakeProject) -> None:
    """Only platform refs (image:) must agree, and only on context and dockerfile."""
    head = ("images:\n  a:\n    ref: docker/img:1\n    context: x\n  b:\n    ref: docker/img:1"
            "\n    context: y\n  c:\n    ref: image:i:1\n    build_args: [A=1]\n"
            "  d:\n    ref: image:i:1\n    build_args: [A=2]\n")
    plan_batch(make_project(_batch("  - cmd: x\n", head)), "b")


def test_no_image_needed_locally(make_project: MakeProject) -> None:
    g = plan_batch(make_project(_batch("  - cmd: echo hi\n  - image: x\n")), "b").root
    assert g.task("task-1", {}).argv == ("echo", "hi") and g.task("task-1", {}).image is None
    assert g.task("task-2", {}).argv is None
    assert g.nodes["task-2"].needs == {"task-1": "completed"}


def test_post_if_reads_the_state(make_project: MakeProject) -> None:
    files = _batch("  - id: s\n    action: ws:st.yml\n")
    files["st.yml"] = ("kind: stateful\nmain:\n  cmd: echo main\npost:\n  cmd: echo post\n"
                       "post_if: ${{ state.keep == 'no' }}\n")
    g = plan_batch(make_project(files), "b").root
    assert list(g.nodes) == ["s", "post-s"]
    assert g.is_enabled("post-s", {"s": DepResult("succeeded", {}, {"keep": "no"})}, False)
    assert not g.is_enabled("post-s", {"s": DepResult("succeeded", {}, {"keep": "x"})}, False)
    assert not g.runs_on_cancel("post-s")


def test_list_batches_skips_actions_kept_in_dot_neuro(make_project: MakeProject) -> None:
    project = make_project({".neuro/b.yml": "kind: batch\ntasks:\n  - cmd: x\n",
                            ".neuro/helper.yml": "kind: local\ncmd: echo\n",
                            ".neuro/broken.yml": "kind: [\n",
                            ".neuro/live.yml": "kind: live\njobs: {}\n"})
    assert list_batches(project) == ["b", "broken"]


def test_task_restart_policy_is_checked_like_a_jobs(full: Project) -> None:
    # a literal is refused when the file loads; an expression's value when the task evaluates
    overlay = _batch("  - id: a\n    cmd: 'true'\n    restart: ${{ 'sometimes' }}\n")
    graph = plan_batch(full, "b", overlay=overlay).root
    with pytest.raises(WorkflowError, match=r"b\.yml:5:14: restart: expected never, on-failure"):
        graph.task("a", {})


def test_a_bake_calling_an_unfetched_gh_action_says_how_to_fetch_it(
        make_project: MakeProject) -> None:
    files = _batch("  - id: lint\n    action: gh:someone/linter@v2\n")
    with pytest.raises(WorkflowError, match=r"action gh:someone/linter@v2 is not fetched: run "
                                            r"'neuro-jupyter fetch-action gh:someone/linter@v2'"):
        plan_batch(make_project(files), "b")
