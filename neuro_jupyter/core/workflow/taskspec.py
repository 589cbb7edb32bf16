"""Evaluating one batch task into a ``TaskSpec`` and its caching key (§2.2, §2.6)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, Literal

from .actions import ActionFile
from .ast import Map, Node
from .common import Defaults, ProjectConf, exec_unit_fields, last
from .contexts import id2tag
from .evaluate import to_str
from .expr import Scope
from .loader import Workspace
from .model import CachePolicy, DepResult, FullID, NeedLevel, TaskSpec, VolumeMount, dotted

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
    fields, user_tags = exec_unit_fields(layers, scope, d, env.volumes, env.conf.id,
                                         inst.entry.loc)
    full_id = (*prefix, inst.id)
    key = dotted(full_id)
    tags = {*_system_tags(env.conf.id, env.flow_id), f"task:{key}", *user_tags}
    fields["title"] = to_str(last(layers, "title"), scope, "title") or key
    fields["tags"] = tuple(sorted(tags))
    fields["name"] = to_str(last(layers, "name"), scope, "name")
    fields["full_id"] = full_id
    fields["cache"] = cache
    # ``TaskSpec(**fields)`` without the frozen dataclass's per-field ``object.__setattr__``
    # (every field is given: the dataclass has no ``__post_init__``); the caching key is set
    # on the new, not yet shared spec
    if fields.keys() != _GIVEN_FIELDS:  # pragma: no cover - a field added to TaskSpec
        spec = TaskSpec(**fields)
    else:
        spec = object.__new__(TaskSpec)
        spec.__dict__.update(fields)
    # a task that is never cached needs no key (its sha256 over the whole task is ≈20 % of
    # evaluating it, for every task of a bake with ``cache: strategy: none``)
    if cache.strategy != "none":
        spec.__dict__["caching_key"] = caching_key(spec, needs, state)
    return spec


@lru_cache(maxsize=64)
def _system_tags(project_id: str, flow_id: str) -> tuple[str, str]:
    return f"project:{id2tag(project_id)}", f"flow:{id2tag(flow_id)}"


def _jsonable(x: Any) -> Any:
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, (set, frozenset, tuple)):
        return list(x)
    raise TypeError(type(x).__name__)


def _volume_dict(v: VolumeMount) -> dict[str, Any]:
    return {"remote": v.remote, "mount": v.mount, "local": str(v.local),
            "read_only": v.read_only, "volume_id": v.volume_id}


def _task_dict(spec: TaskSpec) -> dict[str, Any]:
    """The evaluated task as JSON-able data (what ``dataclasses.asdict`` gives, faster)."""
    out = dict(spec.__dict__)  # the fields (a frozen dataclass without slots)
    out.pop("caching_key", None)
    out["volumes"] = [_volume_dict(v) for v in spec.volumes]
    cache = spec.cache
    out["cache"] = {"strategy": cache.strategy, "life_span": cache.life_span}
    out["env"] = dict(spec.env)
    return out  # tuples (argv, tags, full_id) encode as JSON lists, as lists do


_GIVEN_FIELDS = frozenset(f.name for f in dataclasses.fields(TaskSpec)) - {"caching_key"}


def _c_encoder() -> Callable[[Any, int], Iterable[str]] | None:
    """The C encoder ``json.dumps(..., sort_keys=True, default=_jsonable)`` uses, built once and
    without its check for cycles (the data is a tree); None where CPython's private
    ``c_make_encoder`` is missing or takes other arguments (``_dumps`` then uses json.dumps)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        encode: Callable[[Any, int], Iterable[str]] = make(
            None, _jsonable, encode_basestring_ascii, None, ": ", ", ", True, False, True)
    except TypeError:
        return None
    return encode


_ENCODE = _c_encoder()


def _dumps(data: Any) -> str:
    """``json.dumps(data, sort_keys=True, default=_jsonable)``, faster: caching keys are stored
    and compared across versions, so the text must stay exactly that."""
    if _ENCODE is None:
        return json.dumps(data, sort_keys=True, default=_jsonable)
    return "".join(_ENCODE(data, 0))


def caching_key(spec: TaskSpec, needs: Mapping[str, DepResult],
                state: Mapping[str, str] | None = None) -> str:
    """sha256 of the evaluated task plus its needs' results and outputs (sort_keys)."""
    task = _task_dict(spec)
    deps = {k: {"result": "succeeded" if v.result == "cached" else v.result,
                "outputs": dict(v.outputs)} for k, v in needs.items()}
    blob = _dumps({"task": task, "needs": deps, "state": dict(state or {})})
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
