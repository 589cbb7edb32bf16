"""Live flows (§1): list the jobs of ``.neuro/live.yml`` and resolve one into a ``JobSpec``."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError, NeuroJupyterError, UnknownNameError, WorkflowError
from .actions import ActionFile, live_call_error, load_action
from .ast import Map, Node, Scalar, plain
from .common import (
    Defaults,
    ProjectConf,
    base_tags,
    eval_defaults,
    eval_images,
    eval_volumes,
    exec_unit_fields,
    flow_ctx,
    flow_id_title,
    git_ctx,
    job_name,
    last,
    load_project_conf,
    make_host,
    merged_list,
    mixin_layers,
    mixins_of,
    param_defs,
    resolve_params,
)
from .contexts import id2tag
from .evaluate import (
    coerce_bool,
    coerce_float,
    coerce_int,
    literal_bool,
    literal_str,
    raw,
    to_bool,
    to_str,
)
from .expr import Scope
from .grammar import live_flow
from .loader import Workspace
from .model import JobSpec, LiveJobInfo
from .spec import PORTS, out_of_range
from .template import to_text


@dataclass
class LiveFlow:
    """A loaded live flow and its static parts."""

    ws: Workspace
    conf: ProjectConf
    node: Map
    rel: str
    flow_id: str
    title: str

    @property
    def jobs(self) -> Map:
        jobs = self.node.get("jobs")
        return jobs if isinstance(jobs, Map) else Map((), self.node.loc)

    def mixins(self) -> dict[str, Map]:
        return mixins_of(self.conf.section("mixins"), self.node.get("mixins"))

    def job_ids(self) -> list[str]:
        return [str(k.value) for k, _ in self.jobs.items]


def load_live(ws: Workspace) -> LiveFlow:
    """Load and validate ``.neuro/live.yml|yaml``."""
    rel = ws.find("live")
    if rel is None:
        raise WorkflowError(f"no live flow: {ws.root}/.neuro/live.yml does not exist")
    conf = load_project_conf(ws)
    node = ws.load(rel, live_flow())
    flow_id, title = flow_id_title(ws, node, "live")
    return LiveFlow(ws, conf, node, rel, flow_id, title)


def _entry(flow: LiveFlow, job_id: str) -> Map:
    entry = flow.jobs.get(job_id)
    if not isinstance(entry, Map):
        raise UnknownNameError("job", job_id, flow.job_ids(), "live.yml")
    return entry


def live_jobs(ws: Workspace) -> list[LiveJobInfo]:
    """Static facts of every live job (no evaluation, no network)."""
    flow = load_live(ws)
    mixins = flow.mixins()
    out = []
    for key, entry in flow.jobs.items:
        job_id = str(key.value)
        assert isinstance(entry, Map)
        kind = "module" if "module" in entry else "action" if "action" in entry else "job"
        called = ""  # the name of the action or module a call runs
        if kind == "job":
            layers = mixin_layers(entry, mixins, job_id)
            body: Mapping[str, list[Node]] = layers
            params = param_defs(layers.get("params", []))
        else:
            try:
                action = _load_call(flow, entry, kind)
            except NeuroJupyterError:  # e.g. a gh: action without network: listed anyway;
                body = {}  # resolving the job reports the error
            else:
                job = action.node.get("job")
                called = literal_str(action.node.get("name")) or ""
                body = ({str(k.value): [v] for k, v in job.items} if isinstance(job, Map)
                        else {})
            params = param_defs([entry.get("params")] if entry.get("params") else [])
        own_title = literal_str(last(body, "title")) or ""
        out.append(LiveJobInfo(
            job_id=job_id, title=own_title or f"{flow.flow_id}.{job_id}",
            display_title=own_title or called,
            multi=bool(literal_bool(last(body, "multi"))),
            detach=bool(literal_bool(last(body, "detach"))),
            browse=bool(literal_bool(last(body, "browse"))),
            params={n: _default_text(d.default) for n, d in params.items()},
            kind=kind,  # type: ignore[arg-type]
        ))
    return out


def _default_text(node: Node | None) -> str | None:
    """A param's default as written (an expression stays unevaluated); None = required."""
    if node is None:
        return None
    if isinstance(node, Scalar):
        return to_text(node.value)
    return to_text(plain(node))


def _load_call(flow: LiveFlow, entry: Map, kind: str) -> ActionFile:
    key = "module" if kind == "module" else "action"
    ref_node = entry.get(key)
    ref = to_text(ref_node.value) if isinstance(ref_node, Scalar) else ""
    action = load_action(flow.ws, ref, entry.loc_of(key), module=kind == "module")
    error = live_call_error(action, entry, key)
    if error is not None:
        raise error
    return action


@dataclass
class _Env:
    """Contexts shared by every job of one live flow evaluation."""

    flow: LiveFlow
    names: dict[str, Any]
    defaults: Defaults


def _flow_env(flow: LiveFlow) -> _Env:
    ws, conf = flow.ws, flow.conf
    fctx = flow_ctx(ws, flow.flow_id, flow.title, conf.id)
    host = make_host(ws, conf.id, live=True)
    git = git_ctx(ws)
    base = Scope({"flow": fctx, "project": conf.ctx(), "git": git}, host)
    volumes = eval_volumes(ws, conf, flow.node, base)
    images = eval_images(ws, conf, flow.node, base)
    defaults = eval_defaults(conf, flow.node, base)
    names = {"flow": fctx, "project": conf.ctx(), "env": dict(defaults.env),
             "tags": base_tags(conf.id, flow.flow_id, defaults), "volumes": volumes,
             "images": images, "git": git}
    return _Env(flow, names, defaults)


def live_images(ws: Workspace) -> dict[str, dict[str, Any]]:
    """The ``images.<id>`` contexts of the live flow (project.yml's, then live.yml's)."""
    images: dict[str, dict[str, Any]] = _flow_env(load_live(ws)).names["images"]
    return images


def resolve_live_job(ws: Workspace, job_id: str, *, suffix: str = "",
                     params: Mapping[str, Any] | None = None,
                     multi_args: Sequence[str] = ()) -> JobSpec:
    """Evaluate one live job for one run."""
    flow = load_live(ws)
    entry = _entry(flow, job_id)
    env = _flow_env(flow)
    host = make_host(ws, flow.conf.id, live=True)
    if "action" in entry or "module" in entry:
        return _resolve_call(env, job_id, entry, suffix, params or {}, multi_args, host)
    layers = mixin_layers(entry, flow.mixins(), job_id)
    multi = bool(literal_bool(last(layers, "multi")))
    _check_suffix(job_id, multi, suffix)
    pscope = Scope({k: v for k, v in env.names.items()}, host)
    pvals = resolve_params(param_defs(layers.get("params", [])), params or {}, pscope,
                           f"job {job_id}")
    names = dict(env.names, params=pvals)
    if multi:
        names["multi"] = {"args": shlex.join(multi_args), "suffix": suffix}
    scope = Scope(names, host)
    return _build(env, job_id, entry, layers, scope, multi=multi, suffix=suffix,
                  multi_args=multi_args, apply_defaults=True)


def _check_suffix(job_id: str, multi: bool, suffix: str) -> None:
    if suffix and not multi:
        raise InvalidInputError(f"Job {job_id} is not multi: it takes no suffix")


def _resolve_call(env: _Env, job_id: str, entry: Map, suffix: str, params: Mapping[str, Any],
                  multi_args: Sequence[str], host: Any) -> JobSpec:
    kind = "module" if "module" in entry else "action"
    action = _load_call(env.flow, entry, kind)
    job = action.node.get("job")
    assert isinstance(job, Map)
    multi = bool(literal_bool(job.get("multi")))
    _check_suffix(job_id, multi, suffix)
    pscope = Scope(dict(env.names), host)
    pvals = resolve_params(param_defs([entry.get("params")] if entry.get("params") else []),
                           params, pscope, f"job {job_id}")
    caller = dict(env.names, params=pvals)
    multi_ctx = {"args": shlex.join(multi_args), "suffix": suffix}
    if multi:
        caller["multi"] = multi_ctx
    inputs = eval_inputs(action, entry.get("args"), Scope(caller, host), entry)
    fctx = dict(env.names["flow"], action_path=str(action.path))
    if kind == "module":  # modules read the flow's contexts and inherit defaults
        names = dict(caller, inputs=inputs, flow=fctx)
    else:
        names = {"inputs": inputs, "flow": fctx}
        if multi:
            names["multi"] = multi_ctx
    layers = {str(k.value): [v] for k, v in job.items}
    return _build(env, job_id, job, layers, Scope(names, host), multi=multi, suffix=suffix,
                  multi_args=multi_args, apply_defaults=kind == "module")


def eval_inputs(action: ActionFile, args_node: Node | None, scope: Scope, call: Map
                ) -> dict[str, Any]:
    """Match call ``args`` against the action's ``inputs``; typed values, defaults filled."""
    inputs = action.node.get("inputs")
    decl: dict[str, Map | None] = {}
    if isinstance(inputs, Map):
        for k, v in inputs.items:
            decl[str(k.value)] = v if isinstance(v, Map) else None
    given: dict[str, tuple[Any, Any]] = {}
    if isinstance(args_node, Map):
        for k, v in args_node.items:
            name = str(k.value)
            if name not in decl:
                raise WorkflowError(
                    f"unknown arg '{name}' for {action.ref} (inputs: "
                    f"{', '.join(decl) or 'none'})", k.loc)
            given[name] = (raw(v, scope), v.loc)
    out: dict[str, Any] = {}
    missing = []
    for name, spec in decl.items():
        typ = "str"
        default: Any = None
        has_default = False
        if spec is not None:
            t = spec.get("type")
            typ = to_text(t.value) if isinstance(t, Scalar) else "str"
            d = spec.get("default")
            if d is not None:
                has_default = True
                default = d.value if isinstance(d, Scalar) else raw(d, Scope({}))
        if name in given:
            value, loc = given[name]
        elif has_default:
            value, loc = default, spec.loc if spec is not None else None
        else:
            missing.append(name)
            continue
        attr = f"args.{name}"
        if value is None:
            out[name] = None
        elif typ == "int":
            out[name] = coerce_int(value, attr, loc)
        elif typ == "float":
            out[name] = coerce_float(value, attr, loc)
        elif typ == "bool":
            out[name] = coerce_bool(value, attr, loc)
        else:
            out[name] = to_text(value)
    if missing:
        raise WorkflowError(f"missing args for {action.ref}: {', '.join(missing)} (these "
                            "inputs have no default)", call.loc)
    return out


def _build(env: _Env, job_id: str, entry: Map, layers: Mapping[str, list[Node]], scope: Scope,
           *, multi: bool, suffix: str, multi_args: Sequence[str], apply_defaults: bool
           ) -> JobSpec:
    """Evaluate the exec-unit attributes of a job (with mixin layers) into a JobSpec."""
    flow, d = env.flow, env.defaults if apply_defaults else Defaults()

    def one(key: str) -> Node | None:
        return last(layers, key)

    fields, user_tags = exec_unit_fields(layers, scope, d, env.names["volumes"], flow.conf.id,
                                         entry.loc)
    if multi and multi_args and fields["argv"] is not None:
        fields["argv"] = (*fields["argv"], *multi_args)  # Neu.ro appends them too (§1.8)
    sys_tags = [f"project:{id2tag(flow.conf.id)}", f"flow:{id2tag(flow.flow_id)}",
                f"job:{id2tag(job_id)}"]
    if multi and suffix:
        sys_tags.append(f"multi:{suffix}")
    pf = []
    for item in merged_list(layers, "port_forward", scope):
        text = to_text(item)
        lp, _, rp = text.partition(":")
        where = (one("port_forward") or entry).loc
        if not all(p.isascii() and p.isdigit() and len(p) < 6 for p in (lp, rp)):
            raise WorkflowError(f"port_forward: {text[:60]!r} is not LOCAL:REMOTE", where)
        message = out_of_range(int(lp), PORTS, "port_forward") or out_of_range(
            int(rp), PORTS, "port_forward")
        if message:
            raise WorkflowError(message, where)
        pf.append((int(lp), int(rp)))
    return JobSpec(
        **fields,
        title=to_str(one("title"), scope, "title") or f"{flow.flow_id}.{job_id}",
        tags=tuple(sorted(set(sys_tags) | set(user_tags))),
        name=to_str(one("name"), scope, "name") or job_name(flow.conf.id, job_id, suffix),
        job_id=job_id,
        suffix=suffix if multi else "",
        multi=multi,
        detach=bool(to_bool(one("detach"), scope, "detach", False)),
        browse=bool(to_bool(one("browse"), scope, "browse", False)),
        port_forward=tuple(pf),
        project_id=flow.conf.id,
        flow_id=flow.flow_id,
    )
