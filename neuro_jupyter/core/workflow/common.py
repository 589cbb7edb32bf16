"""What live and batch flows share: project.yml, flow/project contexts, images, volumes,
defaults, mixins, params, and turning evaluated volume refs into ``VolumeMount``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import Location, UnknownParamError, WorkflowError
from ..paths import HOME_ENV
from .ast import Map, Node, Scalar, Seq
from .contexts import GitContext, id2tag, image_ctx, split_volume_ref, volume_ctx
from .evaluate import raw, to_bool, to_list, to_map, to_str, to_time
from .expr import Scope
from .functions import Host
from .grammar import project_file
from .loader import Workspace
from .model import VolumeMount
from .spec import PARALLEL, PORTS
from .template import to_text


@dataclass
class ProjectConf:
    """``.neuro/project.yml``: the project context and what applies to every flow."""

    id: str
    owner: str | None = None
    project_name: str | None = None
    role: str | None = None
    node: Map | None = None

    def ctx(self) -> dict[str, Any]:
        return {"id": self.id, "owner": self.owner, "project_name": self.project_name,
                "role": self.role}

    def section(self, key: str) -> Map | None:
        n = self.node.get(key) if self.node is not None else None
        return n if isinstance(n, Map) else None


def load_project_conf(ws: Workspace) -> ProjectConf:
    """Read project.yml (if any); the id falls back to the Project's id or folder name."""
    rel = ws.project_file()
    node = ws.load(rel, project_file()) if rel else None

    def lit(key: str) -> str | None:
        n = node.get(key) if node is not None else None
        return to_text(n.value) if isinstance(n, Scalar) and n.value is not None else None

    pid = ws.project_id or lit("id")  # the Project (core.project) read the same file
    if not pid:
        from ..project.ids import derive_project_id

        pid = derive_project_id(ws.root.name)
    return ProjectConf(id=pid, owner=lit("owner") or _local_user(),
                       project_name=lit("project_name"), role=lit("role"), node=node)


def _local_user() -> str | None:
    """``project.owner`` when project.yml sets none: Neu.ro uses the platform user; here,
    the local user."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or passwd
        return None


def flow_ctx(ws: Workspace, flow_id: str, title: str, project_id: str,
             **extra: Any) -> dict[str, Any]:
    return {"flow_id": flow_id, "project_id": project_id, "workspace": str(ws.root),
            "title": title, "id": flow_id, **extra}


def flow_id_title(ws: Workspace, node: Map, stem: str) -> tuple[str, str]:
    """Flow id (default: file stem with '-' → '_') and title (default: the id)."""
    fid = node.get("id")
    flow_id = to_text(fid.value) if isinstance(fid, Scalar) and fid.value else stem.replace(
        "-", "_")
    ftitle = node.get("title")
    title = to_text(ftitle.value) if isinstance(ftitle, Scalar) and ftitle.value else flow_id
    return flow_id, title


def _sections(conf: ProjectConf, flow: Map, key: str) -> list[tuple[Scalar, Node]]:
    out: list[tuple[Scalar, Node]] = []
    for owner in (conf.section(key), flow.get(key)):
        if isinstance(owner, Map):
            out.extend(owner.items)
    return out


def eval_volumes(ws: Workspace, conf: ProjectConf, flow: Map, scope: Scope,
                 *, allow_local: bool = True) -> dict[str, dict[str, Any]]:
    """``volumes.<id>`` contexts: project.yml volumes, then the flow's (which win)."""
    out: dict[str, dict[str, Any]] = {}
    for key, node in _sections(conf, flow, "volumes"):
        vid = str(key.value)
        assert isinstance(node, Map)
        remote = to_str(node.get("remote"), scope, f"volumes.{vid}.remote") or ""
        mount = to_str(node.get("mount"), scope, f"volumes.{vid}.mount") or ""
        local = to_str(node.get("local"), scope, f"volumes.{vid}.local")
        ro = bool(to_bool(node.get("read_only"), scope, f"volumes.{vid}.read_only", False))
        if local is not None and not allow_local:
            local = None  # batch volumes: Neu.ro's bake refuses to sync; locally we ignore it
        out[vid] = volume_ctx(vid, remote, mount, ro, local, ws.root)
    return out


def eval_images(ws: Workspace, conf: ProjectConf, flow: Map, scope: Scope
                ) -> dict[str, dict[str, Any]]:
    """``images.<id>`` contexts: project.yml images, then the flow's."""
    out: dict[str, dict[str, Any]] = {}
    for key, node in _sections(conf, flow, "images"):
        iid = str(key.value)
        assert isinstance(node, Map)
        fields = {
            "ref": to_str(node.get("ref"), scope, f"images.{iid}.ref"),
            "context": to_str(node.get("context"), scope, f"images.{iid}.context"),
            "dockerfile": to_str(node.get("dockerfile"), scope, f"images.{iid}.dockerfile"),
            "build_preset": to_str(node.get("build_preset"), scope, f"images.{iid}.build_preset"),
            "build_args": [to_text(v) for v in to_list(node.get("build_args"), scope,
                                                       f"images.{iid}.build_args")],
            "env": {k: to_text(v) for k, v in to_map(node.get("env"), scope,
                                                     f"images.{iid}.env").items()},
            "volumes": [to_text(v) for v in to_list(node.get("volumes"), scope,
                                                    f"images.{iid}.volumes") if v],
            "force_rebuild": to_bool(node.get("force_rebuild"), scope, "force_rebuild", False),
            "extra_kaniko_args": to_str(node.get("extra_kaniko_args"), scope,
                                        "extra_kaniko_args"),
        }
        out[iid] = image_ctx(iid, fields, ws.root)
    return out


@dataclass
class Defaults:
    """Evaluated flow defaults (project.yml's, overridden by the flow's)."""

    tags: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    workdir: str | None = None
    life_span: float | None = None
    preset: str | None = None
    schedule_timeout: float | None = None
    fail_fast: bool | None = None
    max_parallel: int | None = None
    cache_strategy: str | None = None
    cache_life_span: float | None = None


def eval_defaults(conf: ProjectConf, flow: Map, scope: Scope) -> Defaults:
    """Merge project.yml defaults and the flow's: lists extend, maps merge, scalars override."""
    from .evaluate import to_int

    d = Defaults()
    for node in (conf.section("defaults"), flow.get("defaults")):
        if not isinstance(node, Map):
            continue
        d.tags += [to_text(t) for t in to_list(node.get("tags"), scope, "defaults.tags")]
        d.env.update({k: to_text(v) for k, v in to_map(node.get("env"), scope,
                                                       "defaults.env").items()})
        d.volumes += [to_text(v) for v in to_list(node.get("volumes"), scope,
                                                  "defaults.volumes") if v]
        for attr in ("workdir", "preset"):
            if node.get(attr) is not None:
                setattr(d, attr, to_str(node.get(attr), scope, f"defaults.{attr}"))
        for attr in ("life_span", "schedule_timeout"):
            if node.get(attr) is not None:
                setattr(d, attr, to_time(node.get(attr), scope, f"defaults.{attr}"))
        if node.get("fail_fast") is not None:
            d.fail_fast = to_bool(node.get("fail_fast"), scope, "defaults.fail_fast")
        if node.get("max_parallel") is not None:
            d.max_parallel = to_int(node.get("max_parallel"), scope, "defaults.max_parallel",
                                    PARALLEL)
        cache = node.get("cache")
        if isinstance(cache, Map):
            if cache.get("strategy") is not None:
                d.cache_strategy = to_str(cache.get("strategy"), scope, "cache.strategy")
            if cache.get("life_span") is not None:
                d.cache_life_span = to_time(cache.get("life_span"), scope, "cache.life_span")
    return d


def base_tags(project_id: str, flow_id: str, defaults: Defaults) -> list[str]:
    """The ``tags`` context: project and flow tags plus defaults.tags."""
    tags = [f"project:{id2tag(project_id)}", f"flow:{id2tag(flow_id)}"]
    for t in defaults.tags:
        if t not in tags:
            tags.append(t)
    return tags


def make_host(ws: Workspace, project_id: str, **kw: Any) -> Host:
    return Host(workspace=ws.root, project_id=project_id, project=ws.project, **kw)


def git_ctx(ws: Workspace) -> GitContext:
    return GitContext(ws.root)


# ---------------------------------------------------------------- mixins

LIST_ATTRS = frozenset({"volumes", "tags", "port_forward", "mixins"})
MAP_ATTRS = frozenset({"env", "params"})


def mixins_of(*owners: Node | None) -> dict[str, Map]:
    """Name → mixin of ``mixins:`` sections, later owners overriding earlier ones."""
    out: dict[str, Map] = {}
    for owner in owners:
        if isinstance(owner, Map):
            out.update({str(k.value): v for k, v in owner.items if isinstance(v, Map)})
    return out


def mixin_layers(entry: Map, mixins: Mapping[str, Map], what: str, *,
                 mixin_name: str | None = None) -> dict[str, list[Node]]:
    """Attribute → contributing nodes, lowest priority first (§1.6): mixins left to right
    (each after its own mixins), the entry's own value last. Mixin names and job/task ids are
    separate namespaces: a job ``train`` may apply a mixin ``train``; ``mixin_name`` is set
    when ``entry`` is itself a mixin (then using itself is a cycle)."""
    layers: dict[str, list[Node]] = {}

    def apply(node: Map, stack: tuple[str, ...]) -> None:
        used = node.get("mixins")
        if isinstance(used, Seq):
            for item in used.items:
                name = to_text(item.value) if isinstance(item, Scalar) else ""
                if name not in mixins:
                    raise WorkflowError(
                        f"unknown mixin '{name}' (defined mixins: "
                        f"{', '.join(sorted(mixins)) or 'none'})", item.loc)
                if name in stack:
                    raise WorkflowError(
                        f"mixin cycle: {' -> '.join((*stack, name))}", item.loc)
                apply(mixins[name], (*stack, name))
        for k, v in node.items:
            key = str(k.value)
            if key == "mixins":
                continue
            layers.setdefault(key, []).append(v)

    apply(entry, (mixin_name,) if mixin_name else ())
    return layers


def last(layers: Mapping[str, list[Node]], key: str) -> Node | None:
    """The winning (last) layer's value of ``key``; None when no layer sets it."""
    vals = layers.get(key)
    return vals[-1] if vals else None


def merged_list(layers: Mapping[str, list[Node]], key: str, scope: Scope) -> list[Any]:
    out: list[Any] = []
    for n in layers.get(key, []):
        out.extend(to_list(n, scope, key))
    return out


def merged_map(layers: Mapping[str, list[Node]], key: str, scope: Scope) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in layers.get(key, []):
        out.update(to_map(n, scope, key))
    return out


# ---------------------------------------------------------------- params


@dataclass(frozen=True)
class ParamDef:
    name: str
    default: Node | None  # None = required
    descr: str | None
    loc: Location


def param_defs(layers: Sequence[Node | None]) -> dict[str, ParamDef]:
    """Param definitions of the given ``params`` nodes (later ones win)."""
    out: dict[str, ParamDef] = {}
    for node in layers:
        if not isinstance(node, Map):
            continue
        for k, v in node.items:
            name = str(k.value)
            if isinstance(v, Map):
                d = v.get("default")
                descr = v.get("descr")
                out[name] = ParamDef(name, d if d is not None and not (
                    isinstance(d, Scalar) and d.value is None) else None,
                    to_text(descr.value) if isinstance(descr, Scalar) else None, k.loc)
            else:
                out[name] = ParamDef(name, v if not (isinstance(v, Scalar) and v.value is None)
                                     else None, None, k.loc)
    return out


def resolve_params(defs: Mapping[str, ParamDef], given: Mapping[str, Any], scope: Scope,
                   where: str) -> dict[str, str]:
    """Given values over defaults (evaluated in ``scope``); lists every missing param."""
    unknown = [k for k in given if k not in defs]
    if unknown:
        raise UnknownParamError(unknown[0], defs, where)
    out: dict[str, str] = {}
    missing = []
    for name, d in defs.items():
        if name in given:
            out[name] = to_text(given[name])
        elif d.default is not None:
            out[name] = to_text(raw(d.default, scope))
        else:
            missing.append(name)
    if missing:
        names = ", ".join(missing)
        raise WorkflowError(
            f"Param{'s' if len(missing) > 1 else ''} {names} "
            f"{'are' if len(missing) > 1 else 'is'} not initialized and "
            f"{'have' if len(missing) > 1 else 'has'} no default value ({where})",
            defs[missing[0]].loc)
    return out


# ---------------------------------------------------------------- volumes → mounts


def volume_mounts(refs: list[Any], volumes: Mapping[str, Mapping[str, Any]], project_id: str,
                  loc: Location | None) -> tuple[VolumeMount, ...]:
    """Evaluated volume refs (strings or volume mappings) → VolumeMounts with local folders.

    A ref whose remote is a defined volume's remote uses that volume's ``local`` folder (when
    set); anything else maps to the local storage stand-in (``core.paths.storage_path``).
    """
    from ..errors import InvalidInputError

    out: list[VolumeMount] = []
    by_remote: dict[str, Mapping[str, Any]] = {}
    for v in volumes.values():
        by_remote.setdefault(str(v["remote"]).rstrip("/"), v)
        if v.get("full_local_path"):
            by_remote[str(v["remote"]).rstrip("/")] = v
    for ref in refs:
        if ref is None or ref == "" or ref == "~":
            continue
        if isinstance(ref, Mapping) and "remote" in ref:
            ref = ref["ref"]
        text = to_text(ref)
        try:
            remote, mount, ro = split_volume_ref(text)
        except ValueError as exc:
            raise WorkflowError(str(exc), loc) from None
        vol = by_remote.get(remote.rstrip("/"))
        local_path = vol.get("full_local_path") if vol else None
        if local_path:
            local = Path(str(local_path))
        else:
            if remote.startswith("secret:"):
                raise WorkflowError(f"secret volumes are not supported locally: {text}", loc)
            try:
                local = _storage_local(remote, project_id, os.environ.get(HOME_ENV, ""))
            except InvalidInputError as exc:
                raise WorkflowError(f"volume {text!r}: {exc}", loc) from None
        out.append(VolumeMount(remote=remote, mount=mount, local=local, read_only=ro,
                               volume_id=str(vol["id"]) if vol else None))
    return tuple(out)


@lru_cache(maxsize=4096)
def _storage_local(remote: str, project_id: str, home_env: str) -> Path:
    """``core.paths.storage_path``, memoized per home (it resolves paths on disk)."""
    from ..paths import storage_path

    return storage_path(remote, project_id)


def job_name(project_id: str, job_id: str, suffix: str) -> str:
    """Default live job name: ``<project_id>-<job_id>[-<suffix>]`` (≤ 40 chars)."""
    tail = "-".join(p for p in (job_id, suffix) if p)
    head = project_id
    name = f"{head}-{tail}".replace("_", "-")
    while "--" in name:
        name = name.replace("--", "-")
    if len(name) > 40:
        keep = max(0, 40 - len(tail.replace("_", "-")) - 1)
        name = (head.replace("_", "-")[:keep] + "-" + tail.replace("_", "-")).strip("-")
        while "--" in name:
            name = name.replace("--", "-")
    return name.lower()


RESTART_POLICIES = ("never", "on-failure", "always")


def exec_unit_fields(layers: Mapping[str, list[Node]], scope: Scope, d: Defaults,
                     volumes: Mapping[str, Mapping[str, Any]], project_id: str,
                     loc: Location | None) -> tuple[dict[str, Any], list[str]]:
    """Evaluate what live jobs and batch tasks share (§1.7 / §2.2), with the flow defaults.

    Returns the ``ExecUnit`` fields (all but ``title``, ``tags`` and ``name``, whose defaults
    differ between jobs and tasks) and the user tags (defaults first) to add to system tags.
    """
    from .evaluate import argv_of, to_int

    argv = argv_of(to_str(last(layers, "cmd"), scope, "cmd"),
                   to_str(last(layers, "bash"), scope, "bash"),
                   to_str(last(layers, "python"), scope, "python"), loc)
    env_vars = dict(d.env)
    if "env" in layers:
        env_vars.update({k: to_text(v) for k, v in merged_map(layers, "env", scope).items()})
    refs = [*d.volumes, *merged_list(layers, "volumes", scope)] if "volumes" in layers else list(
        d.volumes)
    mounts = volume_mounts(refs, volumes, project_id, loc_of_key(layers, "volumes", loc)
                           ) if refs else ()
    user_tags = [*d.tags, *(to_text(t) for t in merged_list(layers, "tags", scope))
                 ] if "tags" in layers else list(d.tags)
    restart = to_str(last(layers, "restart"), scope, "restart") or "never"
    if restart not in RESTART_POLICIES:
        raise WorkflowError(f"restart: expected never, on-failure or always, got {restart!r}",
                            loc_of_key(layers, "restart", loc))
    life_span = to_time(last(layers, "life_span"), scope, "life_span")
    schedule_timeout = to_time(last(layers, "schedule_timeout"), scope, "schedule_timeout")
    # in this order: the first error raises
    image = to_str(last(layers, "image"), scope, "image")
    entrypoint = to_str(last(layers, "entrypoint"), scope, "entrypoint")
    workdir = to_str(last(layers, "workdir"), scope, "workdir")
    preset = to_str(last(layers, "preset"), scope, "preset")
    http_port = to_int(last(layers, "http_port"), scope, "http_port", PORTS)
    http_auth = bool(to_bool(last(layers, "http_auth"), scope, "http_auth", True))
    pass_config = bool(to_bool(last(layers, "pass_config"), scope, "pass_config", False))
    fields = {
        "argv": argv,
        "image": image,
        "entrypoint": entrypoint,
        "workdir": workdir or d.workdir,
        "env": env_vars,
        "volumes": mounts,
        "preset": preset or d.preset,
        "life_span": life_span if life_span is not None else d.life_span,
        "schedule_timeout": schedule_timeout if schedule_timeout is not None
        else d.schedule_timeout,
        "http_port": http_port,
        "http_auth": http_auth,
        "pass_config": pass_config,
        "restart": restart,
    }
    return fields, user_tags


def loc_of_key(layers: Mapping[str, list[Node]], key: str, default: Location | None
               ) -> Location | None:
    """Where the winning value of ``key`` is written, else ``default`` (the entry)."""
    node = last(layers, key)
    return node.loc if node is not None else default
