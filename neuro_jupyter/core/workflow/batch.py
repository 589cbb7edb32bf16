"""Batch flows (§2): plan a bake as a tree of ``BatchGraph`` levels (tasks, matrix instances,
action and module calls) and evaluate tasks once their needs have finished."""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from typing import Any

from ..errors import UnknownNameError, WorkflowError, WorkflowErrors
from .actions import ActionFile, batch_call_errors, load_action
from .ast import Map, Node, Scalar, Seq
from .batch_api import BatchGraph, BatchPlan, GraphNode
from .common import (
    Defaults,
    ProjectConf,
    base_tags,
    eval_defaults,
    eval_images,
    eval_volumes,
    flow_ctx,
    flow_id_title,
    git_ctx,
    last,
    load_project_conf,
    make_host,
    mixin_layers,
    mixins_of,
    param_defs,
    resolve_params,
)
from .evaluate import (
    literal_str,
    raw,
    to_bool,
    to_int,
    to_str,
    to_time,
)
from .expr import Scope
from .grammar import batch_flow
from .limits import budgeted
from .live import eval_inputs
from .loader import Workspace
from .matrix import auto_suffix, expand_matrix
from .model import CachePolicy, DepResult, FullID, NeedLevel, TaskSpec, dotted
from .spec import ID_RE, PARALLEL
from .taskspec import DEFAULT_CACHE_LIFE, POST_PREFIX, LevelEnv, NodeInst, NodeKind, exec_unit
from .template import has_expr, node_template, to_text


class Level(BatchGraph):
    """One level of a bake: the flow's tasks, or the inside of an action/module call."""

    def __init__(self, env: LevelEnv, prefix: FullID, tasks: Seq | None,
                 max_parallel: int, fail_fast: bool, outputs: Node | None = None,
                 collect: list[WorkflowError] | None = None) -> None:
        self.env = env
        # with a list (``check``): graph errors (unknown needs, cycles) go there, all of them,
        # and building goes on without the bad edges; without one the first error raises
        self._collect = collect
        self.prefix = prefix
        self.max_parallel = max_parallel
        self.fail_fast = fail_fast
        self._outputs = outputs
        self._insts: dict[str, NodeInst] = {}
        self._inputs: dict[str, dict[str, Any]] = {}  # stateful calls' evaluated args
        self._build(tasks)
        self.nodes = {i.id: GraphNode(
            id=i.id, kind=i.kind, needs=dict(i.needs), max_parallel=i.max_parallel,
            fail_fast=i.fail_fast, matrix_group=i.group if i.matrix else None,
            matrix=dict(i.matrix), title=literal_str(last(i.layers, "title")) or "",
        ) for i in self._insts.values()}

    # ------------------------------------------------------------ building

    def _scope(self, **extra: Any) -> Scope:
        host = make_host(self.env.ws, self.env.conf.id, in_task=True,
                         needs=extra.pop("_needs", {}))
        return Scope({**self.env.names, **extra}, host)

    def _static_scope(self, matrix: dict[str, Any] | None = None) -> Scope:
        names = {k: v for k, v in self.env.names.items() if k not in ("needs", "state")}
        names.setdefault("strategy", {"fail_fast": self.fail_fast,
                                      "max_parallel": self.max_parallel})
        if matrix is not None:
            names["matrix"] = matrix
        return Scope(names, make_host(self.env.ws, self.env.conf.id))

    def _build(self, tasks: Seq | None) -> None:
        entries = list(tasks.items) if isinstance(tasks, Seq) else []
        groups: dict[str, list[str]] = {}
        prev_group: list[str] | None = None
        pending_needs: list[tuple[NodeInst, Node | None, list[str] | None]] = []
        post_groups: list[list[NodeInst]] = []
        for num, entry in enumerate(entries, 1):
            if not isinstance(entry, Map):
                raise WorkflowError("a task must be a mapping", entry.loc)
            kind, action = self._kind(entry)
            layers = (mixin_layers(entry, self.env.mixins, f"task #{num}") if kind == "task"
                      else {str(k.value): [v] for k, v in entry.items})
            strategy = last(layers, "strategy")
            matrix_node = strategy.get("matrix") if isinstance(strategy, Map) else None
            sscope = self._static_scope()  # read only: shared by the entry's static values
            rows = expand_matrix(matrix_node if isinstance(matrix_node, Map) else None,
                                 sscope, num)
            fail_fast = self.fail_fast
            max_parallel = self.max_parallel
            if isinstance(strategy, Map):
                if strategy.get("fail_fast") is not None:
                    fail_fast = bool(to_bool(strategy.get("fail_fast"), sscope,
                                             "strategy.fail_fast"))
                if strategy.get("max_parallel") is not None:
                    max_parallel = to_int(strategy.get("max_parallel"), sscope,
                                          "strategy.max_parallel", PARALLEL) or max_parallel
            id_node = last(layers, "id")
            literal_id = literal_str(id_node)
            group = literal_id or f"task-{num}"
            ids: list[str] = []
            posts: list[NodeInst] = []
            for row in rows:
                if id_node is not None:
                    tid = literal_id if literal_id is not None else to_text(
                        raw(id_node, self._static_scope(row)))
                    if not ID_RE.match(tid):
                        raise WorkflowError(f"task id {tid!r} is not an identifier",
                                            id_node.loc)
                    if tid == tid.upper():
                        raise WorkflowError(f"task id {tid!r} is invalid: uppercase names are "
                                            "reserved for internal usage", id_node.loc)
                else:  # Neu.ro's auto id: task-<n>[-<value of each key, keys sorted>]
                    tid = f"task-{num}" + auto_suffix(row)
                if tid in self._insts:
                    hint = (" (a matrix task needs an id that uses ${{ matrix.<key> }}, or no "
                            "id)" if len(rows) > 1 and literal_str(id_node) else "")
                    raise WorkflowError(f"duplicate task id '{tid}'{hint}",
                                        (id_node or entry).loc)
                if kind == "stateful":  # main runs here as a task, post at the end
                    inst = NodeInst(tid, "task", entry, layers, row, action, {}, fail_fast,
                                    max_parallel, group, role="main")
                    if action is not None and isinstance(action.node.get("post"), Map):
                        posts.append(NodeInst(
                            POST_PREFIX + tid, "task", entry, {}, row, action, {}, fail_fast,
                            max_parallel, POST_PREFIX + group, role="post", state_from=tid))
                else:
                    inst = NodeInst(tid, kind, entry, layers, row, action, {}, fail_fast,
                                    max_parallel, group)
                self._insts[tid] = inst
                ids.append(tid)
                pending_needs.append((inst, last(layers, "needs"), prev_group))
            if posts:
                post_groups.append(posts)
            groups.setdefault(group, []).extend(ids)
            prev_group = ids
        for inst, needs_node, prev in pending_needs:
            inst.needs = self._needs(inst, needs_node, prev, groups)
        # post tasks of stateful calls run after everything, the latest call's first
        last_ids = prev_group or []
        for posts in reversed(post_groups):
            for post in posts:
                if post.id in self._insts:
                    raise WorkflowError(f"duplicate task id '{post.id}'", post.entry.loc)
                post.needs = {**{i: "completed" for i in last_ids},
                              post.state_from: "completed"}
                self._insts[post.id] = post
            last_ids = [p.id for p in posts]
        self._check_cycles()
        self._check_local_order()

    def _kind(self, entry: Map) -> tuple[NodeKind, ActionFile | None]:
        kw = "module" if "module" in entry else "action" if "action" in entry else None
        if kw is None:
            return "task", None
        ref = entry.get(kw)
        action = load_action(self.env.ws, to_text(getattr(ref, "value", "")), entry.loc_of(kw),
                             module=kw == "module")
        errors = batch_call_errors(action, entry, kw)
        if errors:
            raise errors[0]  # the rules exclude each other: there is at most one
        if kw == "module":
            return "module", action
        kind: NodeKind = {"batch": "action", "local": "local",
                          "stateful": "stateful"}[action.kind]  # type: ignore[assignment]
        return kind, action

    def _needs(self, inst: NodeInst, node: Node | None, prev: list[str] | None,
               groups: dict[str, list[str]]) -> dict[str, NeedLevel]:
        if node is None:
            return {p: "completed" for p in (prev or [])}
        scopes: list[Scope] = []  # made when a value has an expression (most are names)

        def value(item: Node) -> Any:
            if isinstance(item, Scalar) and not (
                    isinstance(item.value, str) and has_expr(item.value)):
                return item.value  # what ``raw`` gives for it
            if not scopes:
                scopes.append(self._static_scope(inst.matrix))
            return raw(item, scopes[0])

        pairs: list[tuple[Any, NeedLevel, Node]] = []
        if isinstance(node, Seq):
            pairs = [(value(item), "completed", item) for item in node.items]
        elif isinstance(node, Map):
            for k, v in node.items:
                level = to_text(getattr(v, "value", "completed"))
                if level not in ("running", "completed"):
                    raise WorkflowError(f"needs level must be running or completed, not "
                                        f"{level!r}", v.loc)
                pairs.append((value(k), level, k))  # type: ignore[arg-type]
        elif isinstance(node, Scalar) and node.value is not None:
            listed = value(node)
            if isinstance(listed, list):
                pairs = [(v, "completed", node) for v in listed]
            else:
                raise WorkflowError("needs: expected a list or a mapping", node.loc)
        out: dict[str, NeedLevel] = {}
        for value, level, where in pairs:
            name = value if type(value) is str else to_text(value)  # most are plain names
            if name in self._insts and name not in groups:
                targets = [name]
            elif name in groups:
                targets = groups[name]
            elif name in self._insts:
                targets = [name]
            else:
                valid = sorted(set(groups) | set(self._insts))
                self._graph_error(WorkflowError(
                    f"Task {inst.id} needs unknown task {name} (tasks: {', '.join(valid)})",
                    where.loc))
                continue
            for t in targets:
                if t == inst.id:
                    self._graph_error(WorkflowError(f"Task {inst.id} needs itself", where.loc))
                    continue
                out[t] = level
        return out

    def _graph_error(self, error: WorkflowError) -> None:
        """Raise ``error``, or, when collecting (``check``), note it and go on."""
        if self._collect is None:
            raise error
        self._collect.append(error)

    def _check_cycles(self) -> None:
        """Every cycle when collecting (each found, then one of its edges set aside, until none
        is left; one report per set of task groups, so matrix copies of a cycle count once);
        else the first one raises."""
        graph = {i.id: set(i.needs) for i in self._insts.values()}
        reported: set[frozenset[str]] = set()
        for _ in range(sum(len(deps) for deps in graph.values())):
            try:
                graphlib.TopologicalSorter(graph).prepare()
                return
            except graphlib.CycleError as exc:
                cycle = list(reversed(exc.args[1]))
            graph[cycle[0]].discard(cycle[1])  # cycle[0] needs cycle[1]
            groups = frozenset(self._insts[c].group for c in cycle)
            if groups in reported:
                continue
            reported.add(groups)
            inst = self._insts[cycle[0]]
            where = last(inst.layers, "needs") or inst.entry
            path = " -> ".join(dotted((*self.prefix, c)) for c in cycle)
            self._graph_error(WorkflowError(f"tasks form a cycle: {path}", where.loc))

    def _check_local_order(self) -> None:
        for inst in self._insts.values():
            if inst.kind != "local":
                continue
            for dep in inst.needs:
                if self._insts[dep].kind != "local":
                    raise WorkflowError(f"Local action '{inst.id}' depends on remote task "
                                        f"'{dep}'", (last(inst.layers, "needs")
                                                     or inst.entry).loc)

    # ------------------------------------------------------------ evaluation

    def _inst(self, node_id: str) -> NodeInst:
        inst = self._insts.get(node_id)
        if inst is None:
            raise UnknownNameError("task", node_id, self._insts, dotted(self.prefix) or "bake")
        return inst

    def _task_scope(self, inst: NodeInst, needs: Mapping[str, DepResult]) -> Scope:
        completed = {k: v for k, v in needs.items() if inst.needs.get(k) == "completed"}
        ctx = {k: {"result": "succeeded" if v.result == "cached" else v.result,
                   "outputs": dict(v.outputs)} for k, v in completed.items()}
        return self._scope(matrix=inst.matrix, needs=ctx,
                           strategy={"fail_fast": inst.fail_fast,
                                     "max_parallel": inst.max_parallel},
                           _needs=completed)

    def _enable(self, inst: NodeInst) -> Node | None:
        """The node's ``enable`` (a post task's is the action's ``post_if``)."""
        if inst.role == "post" and inst.action is not None:
            return inst.action.node.get("post_if")
        return last(inst.layers, "enable")

    def runs_on_cancel(self, node_id: str) -> bool:
        inst = self._inst(node_id)
        enable = self._enable(inst)
        if enable is None:
            return inst.role == "post"  # post_if defaults to always()
        if isinstance(enable, Scalar) and isinstance(enable.value, str) and has_expr(
                enable.value):
            tpl = node_template(enable)
            return any("always" in e.calls for e, _ in tpl.expressions())
        return False

    @budgeted
    def is_enabled(self, node_id: str, needs: Mapping[str, DepResult], cancelling: bool
                   ) -> bool:
        inst = self._inst(node_id)
        if cancelling and not self.runs_on_cancel(node_id):
            return False
        enable = self._enable(inst)
        if enable is None:
            if inst.role == "post":
                return True
            return all(d.result in ("succeeded", "cached") for k, d in needs.items()
                       if inst.needs.get(k) == "completed")
        scope = self._task_scope(inst, needs)
        if inst.role == "post":
            scope = self._action_scope(inst, scope, needs)
        return bool(to_bool(enable, scope, "enable", True))

    @budgeted
    def task(self, node_id: str, needs: Mapping[str, DepResult]) -> TaskSpec:
        inst = self._inst(node_id)
        if inst.kind == "local":
            return self._local_task(inst, needs)
        if inst.kind != "task":
            raise WorkflowError(f"'{node_id}' is a {inst.kind} call: expand it with subgraph()",
                                inst.entry.loc)
        scope = self._task_scope(inst, needs)
        if inst.role:
            return self._stateful_task(inst, scope, needs)
        return exec_unit(self.env, self.prefix, inst, inst.layers, scope, needs,
                         self.env.defaults, self._cache(inst, scope, self.env.cache))

    def _action_scope(self, inst: NodeInst, scope: Scope, needs: Mapping[str, DepResult]
                      ) -> Scope:
        """What a stateful action's ``main``/``post``/``post_if`` see: ``inputs`` (the call's
        args), ``flow`` with ``action_path``, and for post the ``state`` main saved."""
        action = inst.action
        assert action is not None
        main = self._insts[inst.state_from] if inst.role == "post" else inst
        if inst.role == "main" or main.id not in self._inputs:
            self._inputs[main.id] = eval_inputs(action, main.entry.get("args"), scope,
                                                main.entry)
        names: dict[str, Any] = {
            "inputs": self._inputs[main.id], "git": self.env.names.get("git"),
            "flow": dict(self.env.names.get("flow", {}), action_path=str(action.path))}
        if inst.role == "post":
            dep = needs.get(inst.state_from)
            names["state"] = dict(dep.state or dep.outputs) if dep is not None else {}
        host = make_host(self.env.ws, self.env.conf.id, in_task=True, needs=needs)
        return Scope(names, host)

    def _stateful_task(self, inst: NodeInst, scope: Scope, needs: Mapping[str, DepResult]
                       ) -> TaskSpec:
        """A stateful action's ``main`` (at the call) or ``post`` (with main's saved state)."""
        assert inst.action is not None
        ascope = self._action_scope(inst, scope, needs)
        unit = inst.action.node.get(inst.role)
        assert isinstance(unit, Map)
        layers = {str(k.value): [v] for k, v in unit.items}
        return exec_unit(self.env, self.prefix, inst, layers, ascope, needs, Defaults(),
                         self.env.cache, state=ascope.names.get("state"))

    def _cache(self, inst: NodeInst, scope: Scope, inherited: CachePolicy,
               node: Node | None = None) -> CachePolicy:
        """The cache policy: ``inherit`` takes the parent's strategy; a life span is at most
        the parent's (Neu.ro's ``_build_cache``)."""
        cache = node if node is not None else last(inst.layers, "cache")
        if not isinstance(cache, Map):
            return inherited
        strategy = to_str(cache.get("strategy"), scope, "cache.strategy") or "inherit"
        life = to_time(cache.get("life_span"), scope, "cache.life_span")
        s = inherited.strategy if strategy == "inherit" else strategy
        return CachePolicy(strategy="none" if s == "none" else "default",
                           life_span=min(life, inherited.life_span) if life is not None
                           else inherited.life_span)

    def _local_task(self, inst: NodeInst, needs: Mapping[str, DepResult]) -> TaskSpec:
        action = inst.action
        assert action is not None
        scope = self._task_scope(inst, needs)
        inputs = eval_inputs(action, inst.entry.get("args"), scope, inst.entry)
        fctx = dict(self.env.names.get("flow", {}), action_path=str(action.path))
        ascope = Scope({"inputs": inputs, "flow": fctx}, make_host(self.env.ws,
                                                                   self.env.conf.id))
        layers = {k: [v] for k, v in ((str(k.value), v) for k, v in action.node.items)
                  if k in ("cmd", "bash", "python")}
        return exec_unit(self.env, self.prefix, inst, layers, ascope, needs, Defaults(),
                         CachePolicy(strategy="none"))

    @budgeted
    def subgraph(self, node_id: str, needs: Mapping[str, DepResult]) -> BatchGraph:
        inst = self._inst(node_id)
        action = inst.action
        if inst.kind not in ("action", "module") or action is None:
            raise WorkflowError(f"'{node_id}' is a {inst.kind}, not an action or module call",
                                inst.entry.loc)
        scope = self._task_scope(inst, needs)
        inputs = eval_inputs(action, inst.entry.get("args"), scope, inst.entry)
        fctx = dict(self.env.names.get("flow", {}), action_path=str(action.path))
        prefix = (*self.prefix, inst.id)
        host_scope = Scope({"inputs": inputs, "flow": fctx},
                           make_host(self.env.ws, self.env.conf.id))
        # the call's cache over the flow's, then the action file's over that (Neu.ro's order)
        cache = self._cache(inst, scope, self.env.cache)
        cache = self._cache(inst, host_scope, cache, action.node.get("cache"))
        if inst.kind == "module":
            names = dict(self.env.names, inputs=inputs)
            mixins = self.env.mixins
            defaults = self.env.defaults
            images = dict(self.env.names.get("images", {}))
        else:
            names = {"inputs": inputs, "flow": fctx, "git": self.env.names.get("git")}
            mixins = {}
            defaults = Defaults()
            images = {}
        images.update(eval_images(self.env.ws, ProjectConf(id=self.env.conf.id), action.node,
                                  host_scope))
        names["images"] = images
        env = LevelEnv(ws=self.env.ws, conf=self.env.conf, flow_id=self.env.flow_id,
                       names=names, mixins=mixins, defaults=defaults, cache=cache,
                       volumes=self.env.volumes if inst.kind == "module" else {},
                       kind=inst.kind)
        tasks = action.node.get("tasks")
        return Level(env, prefix, tasks if isinstance(tasks, Seq) else None,
                     inst.max_parallel, inst.fail_fast, outputs=action.node.get("outputs"))

    @budgeted
    def outputs(self, results: Mapping[str, DepResult]) -> dict[str, str]:
        if not isinstance(self._outputs, Map):
            return {}
        ctx = {k: {"result": "succeeded" if v.result == "cached" else v.result,
                   "outputs": dict(v.outputs)} for k, v in results.items()}
        scope = Scope({**{k: v for k, v in self.env.names.items()
                          if k in ("inputs", "flow")}, "needs": ctx},
                      make_host(self.env.ws, self.env.conf.id, in_task=True, needs=results))
        out: dict[str, str] = {}
        for k, v in self._outputs.items:
            name = str(k.value)
            if name == "needs" or not isinstance(v, Map):
                continue
            value = v.get("value")
            if value is not None:
                out[name] = to_text(raw(value, scope))
        return out


def plan_batch(ws: Workspace, batch: str, *, params: Mapping[str, Any],
               collect: list[WorkflowError] | None = None) -> BatchPlan:
    """Load, check and plan the batch flow ``batch`` (``.neuro/<batch>.yml``). With
    ``collect`` (``check``), the top level's graph errors (unknown needs, cycles) are appended
    there, every one of them, instead of the first raising."""
    rel = ws.find(batch) if batch not in ("live", "project") else None
    if rel is None:
        raise UnknownNameError("batch", batch, ws.batch_names())
    conf = load_project_conf(ws)
    node = ws.load(rel, batch_flow())
    flow_id, title = flow_id_title(ws, node, batch)
    fctx = flow_ctx(ws, flow_id, title, conf.id)
    base = Scope({"flow": fctx, "project": conf.ctx()}, make_host(ws, conf.id))
    defs = param_defs([node.get("params")] if node.get("params") is not None else [])
    pvals = resolve_params(defs, params, base, f"batch {batch}")
    git = git_ctx(ws)  # for tasks: neuro-flow's bake reads definitions before the git state
    scope = Scope({"flow": fctx, "project": conf.ctx(), "params": pvals},
                  make_host(ws, conf.id))
    life_span = to_time(node.get("life_span"), scope, "life_span")
    fctx["life_span"] = life_span if life_span is not None else 10 * 24 * 3600.0
    volumes = eval_volumes(ws, conf, node, scope, allow_local=False)
    images = eval_images(ws, conf, node, scope)
    check_image_refs(conf, node, images)
    defaults = eval_defaults(conf, node, scope)
    names = {"flow": fctx, "project": conf.ctx(), "params": pvals, "env": dict(defaults.env),
             "tags": base_tags(conf.id, flow_id, defaults), "volumes": volumes,
             "images": images, "git": git}
    mixins = mixins_of(conf.section("mixins"), node.get("mixins"))
    cache = CachePolicy(
        strategy="none" if defaults.cache_strategy == "none" else "default",
        life_span=defaults.cache_life_span if defaults.cache_life_span is not None
        else DEFAULT_CACHE_LIFE)
    env = LevelEnv(ws=ws, conf=conf, flow_id=flow_id, names=names, mixins=mixins,
                   defaults=defaults, cache=cache, volumes=volumes)
    tasks = node.get("tasks")
    _preload_calls(ws, tasks, 0)
    root = Level(env, (), tasks if isinstance(tasks, Seq) else None,
                 defaults.max_parallel or 10,
                 True if defaults.fail_fast is None else defaults.fail_fast, collect=collect)
    return BatchPlan(batch=batch, flow_id=flow_id, title=title, params=pvals,
                     config_files=dict(ws.files), root=root,
                     life_span=life_span if life_span is not None else 10 * 24 * 3600.0,
                     images=images)


def _preload_calls(ws: Workspace, tasks: Node | None, depth: int) -> None:
    """Read every action/module file a bake may expand (nested too), so the plan's
    ``config_files`` snapshot is complete."""
    if depth > 20 or not isinstance(tasks, Seq):
        return
    for entry in tasks.items:
        if not isinstance(entry, Map):
            continue
        for key in ("action", "module"):
            ref = entry.get(key)
            if isinstance(ref, Scalar) and ref.value:
                action = load_action(ws, to_text(ref.value), ref.loc, module=key == "module")
                if action.kind == "batch":
                    _preload_calls(ws, action.node.get("tasks"), depth + 1)


def check_image_refs(conf: ProjectConf, node: Map, images: Mapping[str, Mapping[str, Any]]
                     ) -> None:
    """A platform image ref (``image:…``) defined twice must have the same context and
    dockerfile, as neuro-flow's ``check_image_refs_unique`` requires; other attributes and
    other refs may differ."""
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    locs: dict[str, Any] = {}
    for owner in (conf.section("images"), node.get("images")):
        if isinstance(owner, Map):
            for k, v in owner.items:
                locs[str(k.value)] = v.loc
    for iid, img in images.items():
        ref = img.get("ref")
        if not ref or not str(ref).startswith("image:"):
            continue
        attrs = {k: img.get(k) for k in ("full_context_path", "full_dockerfile_path")}
        if ref in seen and seen[ref][1] != attrs:
            raise WorkflowErrors([WorkflowError(
                f"Image with ref '{ref}' defined multiple times with different attributes "
                f"(images {seen[ref][0]} and {iid})", locs.get(iid))])
        seen.setdefault(ref, (iid, attrs))
