"""A stateful action call (§1.10): ``main``, then ``post`` with the state ``main`` saved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import UnknownNameError, WorkflowError
from .actions import ActionFile
from .ast import Map, Scalar
from .batch_api import BatchGraph, GraphNode
from .common import Defaults, make_host
from .evaluate import raw, to_bool
from .expr import Scope
from .model import CachePolicy, DepResult, FullID, TaskSpec, dotted
from .taskspec import LevelEnv, NodeInst, exec_unit
from .template import node_template, to_text


class StatefulLevel(BatchGraph):
    """A stateful action call: ``main``, then ``post`` (enabled by ``post_if``, default
    ``always()``); ``state`` is what ``main`` saved (its outputs)."""

    def __init__(self, env: LevelEnv, prefix: FullID, action: ActionFile,
                 inputs: dict[str, Any], fctx: dict[str, Any], cache: CachePolicy,
                 max_parallel: int, fail_fast: bool) -> None:
        self.env = env
        self.prefix = prefix
        self.action = action
        self.inputs = inputs
        self.fctx = fctx
        self.cache = cache
        self.max_parallel = max_parallel
        self.fail_fast = fail_fast
        nodes = {"main": GraphNode(id="main", kind="task", max_parallel=max_parallel,
                                   fail_fast=fail_fast, title="main")}
        if isinstance(action.node.get("post"), Map):
            nodes["post"] = GraphNode(id="post", kind="task", needs={"main": "completed"},
                                      max_parallel=max_parallel, fail_fast=fail_fast,
                                      title="post")
        self.nodes = nodes

    def _scope(self, needs: Mapping[str, DepResult], post: bool) -> Scope:
        names: dict[str, Any] = {"inputs": self.inputs, "flow": self.fctx}
        if post:
            main = needs.get("main")
            names["state"] = dict(main.outputs) if main else {}
        host = make_host(self.env.ws, self.env.conf.id, in_task=True, needs=needs)
        return Scope(names, host)

    def runs_on_cancel(self, node_id: str) -> bool:
        if node_id != "post":
            return False
        post_if = self.action.node.get("post_if")
        if post_if is None:
            return True
        if isinstance(post_if, Scalar) and isinstance(post_if.value, str):
            tpl = node_template(post_if)
            return any("always" in e.calls for e, _ in tpl.expressions())
        return False

    def is_enabled(self, node_id: str, needs: Mapping[str, DepResult], cancelling: bool
                   ) -> bool:
        if node_id == "main":
            return not cancelling
        if cancelling and not self.runs_on_cancel(node_id):
            return False
        post_if = self.action.node.get("post_if")
        if post_if is None:
            return True
        return bool(to_bool(post_if, self._scope(needs, True), "post_if", True))

    def task(self, node_id: str, needs: Mapping[str, DepResult]) -> TaskSpec:
        if node_id not in self.nodes:
            raise UnknownNameError("task", node_id, self.nodes, dotted(self.prefix))
        unit = self.action.node.get(node_id)
        assert isinstance(unit, Map)
        layers = {str(k.value): [v] for k, v in unit.items}
        inst = NodeInst(node_id, "task", unit, layers, {}, None, dict(self.nodes[node_id].needs),
                     self.fail_fast, self.max_parallel, node_id)
        scope = self._scope(needs, node_id == "post")
        cache = self.cache if node_id == "main" else CachePolicy(strategy="none")
        return exec_unit(self.env, self.prefix, inst, layers, scope, needs, Defaults(), cache)

    def subgraph(self, node_id: str, needs: Mapping[str, DepResult]) -> BatchGraph:
        raise WorkflowError(f"'{node_id}' of a stateful action is a task, not a call")

    def outputs(self, results: Mapping[str, DepResult]) -> dict[str, str]:
        outs = self.action.node.get("outputs")
        if not isinstance(outs, Map):
            return {}
        main = results.get("main")
        scope = Scope({"inputs": self.inputs, "flow": self.fctx,
                       "state": dict(main.outputs) if main else {}},
                      make_host(self.env.ws, self.env.conf.id))
        out: dict[str, str] = {}
        for k, v in outs.items:
            if isinstance(v, Map) and v.get("value") is not None:
                out[str(k.value)] = to_text(raw(v.get("value"), scope))
        return out
