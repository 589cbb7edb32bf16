"""Evaluating one batch task into a ``TaskSpec`` and its caching key (§2.2, §2.6)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .actions import ActionFile
from .ast import Map, Node
from .common import Defaults, ProjectConf, exec_unit_fields, last
from .contexts import id2tag
from .evaluate import to_str
from .expr import Scope
from .loader import Workspace
from .model import CachePolicy, DepResult, FullID, NeedLevel, TaskSpec, dotted

NodeKind = Literal["task", "action", "module", "local", "stateful"]
POST_PREFIX = "post-"  # a stateful call's post task: ``post-<call id>``, run at the end
DEFAULT_CACHE_LIFE = 14 * 24 * 3600.0


@dataclass
class NodeInst:
    """One node of a level before it runs: the entry it came from and its matrix row."""

    id: str
    kind: NodeKind
    entry: Map
    layers: dict[str, list[Node]]
    matrix: dict[str, Any]
    action: ActionFile | None
    needs: dict[str, NeedLevel]
    fail_fast: bool
    max_parallel: int
    group: str
    role: str = ""  # "main" / "post" for the two halves of a stateful action call
    state_from: str = ""  # post: the id of the main task whose saved state it reads


@dataclass
class LevelEnv:
    """What the nodes of one level evaluate against."""

    ws: Workspace
    conf: ProjectConf
    flow_id: str
    names: dict[str, Any]  # contexts shared by the level's tasks (no matrix/needs/strategy)
    mixins: dict[str, Map]
    defaults: Defaults
    cache: CachePolicy
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    kind: str = "flow"  # flow | action | module | stateful


def exec_unit(env: LevelEnv, prefix: FullID, inst: NodeInst, layers: Mapping[str, list[Node]],
              scope: Scope, needs: Mapping[str, DepResult], d: Defaults,
              cache: CachePolicy, state: Mapping[str, str] | None = None) -> TaskSpec:
    """Evaluate a task's exec-unit attributes (with mixin layers) into a TaskSpec."""

    def one(key: str) -> Node | None:
        return last(layers, key)

    fields, user_tags = exec_unit_fields(layers, scope, d, env.volumes, env.conf.id,
                                         inst.entry.loc)
    full_id = (*prefix, inst.id)
    tags = {f"project:{id2tag(env.conf.id)}", f"flow:{id2tag(env.flow_id)}",
            f"task:{dotted(full_id)}", *user_tags}
    spec = TaskSpec(
        **fields,
        title=to_str(one("title"), scope, "title") or dotted(full_id),
        tags=tuple(sorted(tags)),
        name=to_str(one("name"), scope, "name"),
        full_id=full_id,
        cache=cache,
    )
    # set on the new, not yet shared spec: dataclasses.replace would build it all again
    object.__setattr__(spec, "caching_key", caching_key(spec, needs, state))
    return spec


def _jsonable(x: Any) -> Any:
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, (set, frozenset, tuple)):
        return list(x)
    raise TypeError(type(x).__name__)


def _task_dict(spec: TaskSpec) -> dict[str, Any]:
    """The evaluated task as JSON-able data (what ``dataclasses.asdict`` gives, faster)."""
    out: dict[str, Any] = {}
    for f in _TASK_FIELDS:
        value = getattr(spec, f)
        if f == "volumes":
            value = [{"remote": v.remote, "mount": v.mount, "local": str(v.local),
                      "read_only": v.read_only, "volume_id": v.volume_id} for v in value]
        elif f == "cache":
            value = {"strategy": value.strategy, "life_span": value.life_span}
        elif f == "env":
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f] = value
    return out


_TASK_FIELDS = tuple(f.name for f in dataclasses.fields(TaskSpec) if f.name != "caching_key")


def caching_key(spec: TaskSpec, needs: Mapping[str, DepResult],
                state: Mapping[str, str] | None = None) -> str:
    """sha256 of the evaluated task plus its needs' results and outputs (sort_keys)."""
    task = _task_dict(spec)
    deps = {k: {"result": "succeeded" if v.result == "cached" else v.result,
                "outputs": dict(v.outputs)} for k, v in needs.items()}
    blob = json.dumps({"task": task, "needs": deps, "state": dict(state or {})},
                      sort_keys=True, default=_jsonable)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
