"""The concrete grammar of live, batch, action and project files, built from ``spec`` types.

Sites name the contexts each attribute may use (§3.2); they differ between live flows, batch
flows, and the insides of actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .ast import Map, Node, Scalar, Seq, describe
from .spec import (
    EXPR_SCHEMA,
    ID_RE,
    PARALLEL,
    PORT_FORWARD_RE,
    PORTS,
    Bool,
    Enum,
    Errors,
    F,
    Ident,
    Int,
    ListOf,
    MapOf,
    Prim,
    Site,
    Str,
    Struct,
    Time,
    Type,
)

EXCL = ("cmd", "bash", "python")
TASK_HINTS = {k: f"{k} is for live jobs only"
              for k in ("detach", "browse", "port_forward", "multi", "params")}
FLOW_CTX = frozenset({"flow", "project"})
JOB_CTX = FLOW_CTX | {"env", "tags", "volumes", "images", "params", "git"}
TASK_CTX = FLOW_CTX | {"env", "tags", "volumes", "images", "params", "git", "matrix",
                       "strategy", "needs"}

# The contexts of each site are neuro-flow's context steps (context.py): defaults, images and
# volumes see LiveContextStep1 (project, flow, git) or BatchContextStep1 (project, flow,
# params; its git is empty when ``bake`` evaluates them, so git fails there: left out); a
# batch's params and life_span see none; task ids and needs see only the matrix
# (MatrixOnlyContext); matrices and strategies the whole BatchContext; task caches the
# BatchMatrixContext.
STEP1_CTX = FLOW_CTX | {"git"}
BATCH_CTX = STEP1_CTX | {"params", "env", "tags", "volumes", "images", "strategy"}  # + git
SITES: dict[str, dict[str, Site]] = {
    "live": {
        "defaults": Site(STEP1_CTX, name="defaults"),
        "def": Site(STEP1_CTX, name="definition"),
        "job": Site(JOB_CTX, live=True, name="job"),
        "job_multi": Site(JOB_CTX | {"multi"}, live=True, name="job"),
        "params": Site(JOB_CTX - {"params"}, live=True, name="params"),
        "none": Site(frozenset(), name="none"),
    },
    "batch": {
        "defaults": Site(FLOW_CTX | {"params"}, name="defaults"),
        "defaults2": Site(BATCH_CTX - {"strategy", "git"}, name="defaults"),
        "def": Site(FLOW_CTX | {"params"}, name="definition"),
        "task": Site(TASK_CTX, task=True, name="task"),
        "task_id": Site(frozenset({"matrix"}), name="task id"),
        "matrix": Site(BATCH_CTX, name="matrix"),
        "strategy": Site(BATCH_CTX, name="strategy"),
        "cache": Site(BATCH_CTX | {"matrix"}, name="cache"),
        "params": Site(frozenset(), name="params"),
        "none": Site(frozenset(), name="none"),
    },
}
_ACTION_TASK = frozenset({"inputs", "flow", "matrix", "strategy", "needs", "images", "git",
                          "state"})
_ACTION_STEP1 = frozenset({"inputs", "flow", "git", "strategy"})
SITES["batch_action"] = {
    "defaults": Site(_ACTION_STEP1, name="defaults"),
    "defaults2": Site(_ACTION_STEP1 | {"images"}, name="defaults"),
    "def": Site(_ACTION_STEP1, name="definition"),
    "task": Site(_ACTION_TASK, task=True, name="task"),
    "task_id": Site(frozenset({"matrix"}), name="task id"),
    "matrix": Site(_ACTION_STEP1 | {"images"}, name="matrix"),
    "strategy": Site(_ACTION_STEP1 | {"images"}, name="strategy"),
    "cache": Site(_ACTION_STEP1 | {"images", "matrix"}, name="cache"),
    "outputs": Site(_ACTION_STEP1 | {"images", "needs"}, task=True, name="outputs"),
    "params": Site(frozenset(), name="params"),
    "none": Site(frozenset(), name="none"),
}
SITES["live_action"] = {
    "job": Site(frozenset({"inputs", "flow"}), name="action job"),
    "job_multi": Site(frozenset({"inputs", "flow", "multi"}), name="action job"),
    "inputs": Site(frozenset({"flow"}), name="inputs"),
    "none": Site(frozenset(), name="none"),
}
SITES["stateful"] = {
    "main": Site(frozenset({"inputs", "flow", "git"}), name="main"),
    "post": Site(frozenset({"inputs", "flow", "git", "state"}), name="post"),
    "post_if": Site(frozenset({"inputs", "flow", "state"}), task=True, name="post_if"),
    "outputs": Site(frozenset({"inputs", "flow", "state"}), name="outputs"),
    "none": Site(frozenset(), name="none"),
}
SITES["local"] = {
    "local": Site(frozenset({"inputs"}), name="local action"),
    "outputs": Site(frozenset({"inputs"}), name="outputs"),
    "none": Site(frozenset(), name="none"),
}
SITES["live_module"] = {
    "job": Site(JOB_CTX | {"inputs"}, live=True, name="module job"),
    "job_multi": Site(JOB_CTX | {"inputs", "multi"}, live=True, name="module job"),
    "inputs": Site(FLOW_CTX, name="inputs"),
    "none": Site(frozenset(), name="none"),
}
# A batch module's own definitions see its inputs and, through ModuleContext's fallback, the
# calling task's contexts (so also the caller's matrix, needs and strategy).
SITES["batch_module"] = {
    name: Site(site.contexts | {"inputs"} | (TASK_CTX if name != "task_id" else frozenset()),
               live=site.live, task=site.task, name=site.name)
    for name, site in SITES["batch"].items()
}
SITES["batch_module"]["outputs"] = Site(TASK_CTX | {"inputs"}, task=True, name="outputs")
SITES["project"] = {
    "defaults": Site(STEP1_CTX | {"params"}, name="defaults"),
    "defaults2": Site(BATCH_CTX - {"strategy"}, name="defaults"),
    "def": Site(STEP1_CTX | {"params"}, name="definition"),
    "job": Site(TASK_CTX | {"multi"}, live=True, task=True, name="mixin"),
    "none": Site(frozenset(), name="none"),
}


# ---------------------------------------------------------------- union / special types


@dataclass(frozen=True)
class ParamValue(Type):
    """A param: short form ``name: default`` or long form ``{default, descr}``."""

    long: Struct = field(default_factory=lambda: Struct(
        name="Param", fields={"default": F(Prim()), "descr": F(Str(expr_ok=False))}))

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if isinstance(node, Map):
            self.long.validate(node, attr, site, errors)
        else:
            Prim().validate(node, attr, site, errors)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [Prim().schema(), self.long.schema()]}


@dataclass(frozen=True)
class Needs(Type):
    """``needs``: a list of task ids, or a map ``{id: running|completed}``."""

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if isinstance(node, Scalar) and node.value is None:
            return
        key = Str(pattern=None, what="a task id")
        if isinstance(node, Seq):
            for i, item in enumerate(node.items):
                key.validate(item, f"{attr}[{i}]", site, errors)
        elif isinstance(node, Map):
            for k, v in node.items:
                key.validate(k, f"{attr} key", site, errors)
                Enum(choices=("running", "completed"), expr_ok=False).validate(
                    v, f"{attr}.{k.value}", site, errors)
        else:
            errors.add(f"{attr}: expected a list of task ids or a mapping of task id to "
                       f"running|completed, found {describe(node)}", node.loc)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": {"enum": ["running", "completed"]}},
        ]}


@dataclass(frozen=True)
class Matrix(Type):
    """``strategy.matrix``: keys → lists (or expressions), plus ``include``/``exclude``."""

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if not isinstance(node, Map):
            errors.add(f"{attr}: expected a mapping, found {describe(node)}", node.loc)
            return
        keys: list[str] = []
        for k, v in node.items:
            name = str(k.value)
            if name in ("include", "exclude"):
                continue
            keys.append(name)
            if not ID_RE.match(name):
                errors.add(f"{attr}: {name} is not an identifier", k.loc)
            ListOf(item=Prim()).validate(v, f"{attr}.{name}", site, errors)
        for which in ("include", "exclude"):
            lst = node.get(which)
            if lst is None:
                continue
            if not isinstance(lst, Seq):
                errors.add(f"{attr}.{which}: expected a list of mappings, found "
                           f"{describe(lst)}", lst.loc)
                continue
            for i, entry in enumerate(lst.items):
                MapOf(value=Prim(), ids=True, expr_ok=False).validate(
                    entry, f"{attr}.{which}[{i}]", site, errors)
                if which == "include" and isinstance(entry, Map):
                    got = set(entry.keys())
                    missing = [k for k in keys if k not in got]
                    extra = sorted(got - set(keys))
                    if missing or extra:
                        parts = []
                        if missing:
                            parts.append(f"missing keys: {', '.join(missing)}")
                        if extra:
                            parts.append(f"extra keys: {', '.join(extra)}")
                        errors.add("Keys of entry in include list of matrix are not the same "
                                   f"as matrix keys: {'; '.join(parts)}", entry.loc,
                                   evaluation=True)

    def schema(self) -> dict[str, Any]:
        entry = {"type": "object", "additionalProperties": Prim().schema()}
        return {"type": "object", "properties": {
            "include": {"type": "array", "items": entry},
            "exclude": {"type": "array", "items": entry}},
            "additionalProperties": {"anyOf": [{"type": "array"}, EXPR_SCHEMA]}}


@dataclass(frozen=True)
class Choice(Type):
    """A job or task entry: a plain job/task, an action call, or a module call."""

    plain: Struct = field(default_factory=Struct)
    plain_multi: Struct | None = None
    action: Struct = field(default_factory=Struct)
    module: Struct = field(default_factory=Struct)

    def pick(self, node: Map) -> tuple[str, Struct]:
        if "module" in node:
            return "module call", self.module
        if "action" in node:
            return "action call", self.action
        return "job", self.plain

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if not isinstance(node, Map):
            errors.add(f"{attr}: expected a mapping, found {describe(node)}", node.loc)
            return
        kind, struct = self.pick(node)
        if kind != "job":
            extra = [k for k in node.keys() if k not in struct.fields]
            if extra:
                key = node.key_node(extra[0])
                errors.add(f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not "
                           f"allowed in {kind} (allowed keys: {', '.join(struct.fields)})",
                           key.loc if key else node.loc)
                node = Map(tuple((k, v) for k, v in node.items if k.value not in extra),
                           node.loc)
        elif self.plain_multi is not None and _maybe_multi(node):
            struct = self.plain_multi
        struct.validate(node, attr, site, errors)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [self.plain.schema(), self.action.schema(), self.module.schema()]}


def _maybe_multi(node: Map) -> bool:
    m = node.get("multi")
    if isinstance(m, Scalar) and (m.value is True or str(m.value).lower() == "true"):
        return True
    return "mixins" in node  # a mixin may set multi


@dataclass(frozen=True)
class PortForward(Type):
    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        ListOf(item=Str(pattern=PORT_FORWARD_RE.pattern, what="'LOCAL:REMOTE' ports")).validate(
            node, attr, site, errors)

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string", "pattern": PORT_FORWARD_RE.pattern}}


@dataclass(frozen=True)
class Outputs(Type):
    """Action ``outputs``: ``name: {descr, value}`` (``needs`` is a deprecated list)."""

    site_name: str = "outputs"

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if not isinstance(node, Map):
            errors.add(f"{attr}: expected a mapping, found {describe(node)}", node.loc)
            return
        entry = Struct(name="Output", fields={"descr": F(Str(expr_ok=False)), "value": F(Str())})
        for k, v in node.items:
            if k.value == "needs":
                ListOf(item=Str(expr_ok=False), expr_ok=False).validate(v, f"{attr}.needs",
                                                                       site, errors)
                continue
            if not isinstance(k.value, str) or not ID_RE.match(k.value):
                errors.add(f"{attr}: {k.value} is not an identifier", k.loc)
            entry.validate(v, f"{attr}.{k.value}", site, errors)

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"needs": {"type": "array",
                                                          "items": {"type": "string"}}},
                "additionalProperties": {
                    "type": "object", "properties": {"descr": {"type": "string"}, "value": {}},
                    "additionalProperties": False}}


# ---------------------------------------------------------------- structures


def _exec_unit(site: str) -> dict[str, F]:
    s = site
    return {
        "title": F(Str(), site=s, descr="Description; default <flow_id>.<job_id>"),
        "name": F(Str(), site=s), "image": F(Str(), site=s, descr="Docker image (informative "
                                                                  "when running locally)"),
        "preset": F(Str(), site=s), "schedule_timeout": F(Time(), site=s),
        "entrypoint": F(Str(), site=s),
        "cmd": F(Str(), site=s, descr="Command line, split like a shell"),
        "bash": F(Str(), site=s, descr="Script run with bash -euo pipefail -c"),
        "python": F(Str(), site=s, descr="Script run with python3 -uc"),
        "workdir": F(Str(), site=s), "env": F(MapOf(), site=s),
        "volumes": F(ListOf(), site=s), "tags": F(ListOf(), site=s),
        "life_span": F(Time(), site=s), "http_port": F(Int(bounds=PORTS), site=s),
        "http_auth": F(Bool(), site=s), "pass_config": F(Bool(), site=s),
        "restart": F(Enum(choices=("never", "on-failure", "always")), site=s),
    }


def _image(site: str) -> Struct:
    s = site
    return Struct(name="Image", fields={
        "ref": F(Str(), required=True, site=s), "context": F(Str(), site=s),
        "dockerfile": F(Str(), site=s), "build_preset": F(Str(), site=s),
        "build_args": F(ListOf(), site=s), "env": F(MapOf(), site=s),
        "volumes": F(ListOf(), site=s), "force_rebuild": F(Bool(), site=s),
        "extra_kaniko_args": F(Str(), site=s)}, sites={})


def _volume(site: str) -> Struct:
    s = site
    return Struct(name="Volume", fields={
        "remote": F(Str(), required=True, site=s), "mount": F(Str(), required=True, site=s),
        "local": F(Str(), site=s), "read_only": F(Bool(), site=s)})


def _cache() -> Struct:
    return Struct(name="Cache", fields={
        "strategy": F(Enum(choices=("none", "inherit", "default"))), "life_span": F(Time())})


def _defaults(batch: bool) -> Struct:
    s = "defaults"
    fields = {"tags": F(ListOf(), site=s), "env": F(MapOf(), site=s),
              "volumes": F(ListOf(), site=s), "workdir": F(Str(), site=s),
              "life_span": F(Time(), site=s), "preset": F(Str(), site=s),
              "schedule_timeout": F(Time(), site=s)}
    if batch:
        fields.update({"fail_fast": F(Bool(), site="defaults2"),
                       "max_parallel": F(Int(bounds=PARALLEL), site="defaults2"),
                       "cache": F(_cache(), site="defaults2")})
    return Struct(name="FlowDefaults", fields=fields)


def _live_job_fields(site: str, *, params: bool = True) -> dict[str, F]:
    fields = _exec_unit(site)
    fields.update({
        "detach": F(Bool(), site=site), "browse": F(Bool(), site=site),
        "port_forward": F(PortForward(), site=site),
        "multi": F(Bool(expr_ok=False), descr="Allow several instances (no expressions)"),
        "mixins": F(ListOf(item=Ident(), expr_ok=False)),
    })
    if params:
        fields["params"] = F(MapOf(value=ParamValue(), ids=True, expr_ok=False), site="params")
    return fields


def _strategy() -> Struct:
    return Struct(name="Strategy", fields={
        "matrix": F(Matrix(), required=True, site="matrix"), "fail_fast": F(Bool(), site="strategy"),
        "max_parallel": F(Int(bounds=PARALLEL), site="strategy")})


def _task_base() -> dict[str, F]:
    return {
        "id": F(Str(pattern=ID_RE.pattern, what="an identifier", no_upper=True), site="task_id",
                descr="Task id; may use matrix"),
        "needs": F(Needs(), site="task_id"), "strategy": F(_strategy()),
        "enable": F(Bool(), site="task"), "cache": F(_cache(), site="cache"),
    }


def _task_fields() -> dict[str, F]:
    fields = _task_base()
    fields.update(_exec_unit("task"))
    fields["mixins"] = F(ListOf(item=Ident(), expr_ok=False))
    return fields


def _call(kind: str, batch: bool, site: str) -> Struct:
    key = "action" if kind == "action" else "module"
    fields: dict[str, F] = {key: F(Str(expr_ok=False), required=True,
                                   descr="ws:PATH or gh:OWNER/REPO@TAG"),
                            "args": F(MapOf(value=Prim()), site=site)}
    if batch:
        fields.update(_task_base())
    else:
        fields["params"] = F(MapOf(value=ParamValue(), ids=True, expr_ok=False), site="params")
    return Struct(name="ActionCall" if kind == "action" else "ModuleCall", fields=fields)


INPUT_TYPES: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str}


@dataclass(frozen=True)
class InputSpec(Type):
    """An action input ``{descr, default, type}``: the default's YAML type must be the
    declared type (``str`` when none is given), as neuro-flow's parser requires."""

    struct: Struct = field(default_factory=lambda: Struct(name="Input", fields={
        "descr": F(Str(expr_ok=False)), "default": F(Prim()),
        "type": F(Enum(choices=tuple(INPUT_TYPES), expr_ok=False))}))

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        self.struct.validate(node, attr, site, errors)
        if not isinstance(node, Map):
            return
        default, typ = node.get("default"), node.get("type")
        declared = str(typ.value) if isinstance(typ, Scalar) else "str"
        if (isinstance(default, Scalar) and default.value is not None
                and declared in INPUT_TYPES
                and not isinstance(default.value, INPUT_TYPES[declared])):
            errors.add(f"{attr}.default: type of default value does not match the input type: "
                       f"input type is '{declared}', default value type is "
                       f"'{type(default.value).__name__}'"
                       + (" (quote it, or declare a type)" if typ is None else ""), default.loc)

    def schema(self) -> dict[str, Any]:
        return self.struct.schema()


def _inputs() -> MapOf:
    return MapOf(value=InputSpec(), ids=True, expr_ok=False)


def _head(kind: str) -> dict[str, F]:
    return {"kind": F(Enum(choices=(kind,), expr_ok=False), required=True),
            "id": F(Ident(no_upper=True), descr="Flow id (no expressions)"),
            "title": F(Str(expr_ok=False), descr="Flow title (no expressions)")}


@cache
def live_flow() -> Struct:
    """The grammar of ``.neuro/live.yml``."""
    sites = SITES["live"]
    job = Struct(name="Job", fields=_live_job_fields("job"), sites=sites, exclusive=EXCL)
    job_multi = Struct(name="Job", fields=_live_job_fields("job_multi"), sites=sites,
                       exclusive=EXCL)
    choice = Choice(plain=job, plain_multi=job_multi,
                    action=_with_sites(_call("action", False, "job_multi"), sites),
                    module=_with_sites(_call("module", False, "job_multi"), sites))
    mixin = Struct(name="JobMixin", fields=_live_job_fields("job_multi"), sites=sites)
    fields = _head("live")
    fields.update({
        "defaults": F(_with_sites(_defaults(False), sites)),
        "images": F(MapOf(value=_with_sites(_image("def"), sites), ids=True, expr_ok=False)),
        "volumes": F(MapOf(value=_with_sites(_volume("def"), sites), ids=True, expr_ok=False)),
        "mixins": F(MapOf(value=mixin, ids=True, expr_ok=False)),
        "jobs": F(MapOf(value=choice, ids=True, expr_ok=False), required=True),
    })
    return Struct(name="LiveFlow", fields=fields, sites=sites)


def _with_sites(struct: Struct, sites: dict[str, Site]) -> Struct:
    fields = {}
    for name, f in struct.fields.items():
        t = f.type
        if isinstance(t, Struct):
            t = _with_sites(t, sites)
        fields[name] = F(t, f.required, f.site, f.descr)
    return Struct(name=struct.name, fields=fields, sites=sites, exclusive=struct.exclusive,
                  hints=struct.hints)


def _tasks(sites: dict[str, Site]) -> ListOf:
    task = _with_sites(Struct(name="Task", fields=_task_fields(), exclusive=EXCL,
                              hints=TASK_HINTS), sites)
    choice = Choice(plain=task, action=_with_sites(_call("action", True, "task"), sites),
                    module=_with_sites(_call("module", True, "task"), sites))
    return ListOf(item=choice, expr_ok=False)


@cache
def batch_flow() -> Struct:
    """The grammar of ``.neuro/<batch>.yml``."""
    sites = SITES["batch"]
    mixin = _with_sites(Struct(name="TaskMixin", fields=_task_fields()), sites)
    fields = _head("batch")
    fields.update({
        "life_span": F(Time(), site="none"),
        "params": F(MapOf(value=ParamValue(), ids=True, expr_ok=False), site="params"),
        "defaults": F(_with_sites(_defaults(True), sites)),
        "images": F(MapOf(value=_with_sites(_image("def"), sites), ids=True, expr_ok=False)),
        "volumes": F(MapOf(value=_with_sites(_volume("def"), sites), ids=True, expr_ok=False)),
        "mixins": F(MapOf(value=mixin, ids=True, expr_ok=False)),
        "tasks": F(_tasks(sites), required=True),
    })
    return Struct(name="BatchFlow", fields=fields, sites=sites)


def _action_head(kind: str) -> dict[str, F]:
    return {"kind": F(Enum(choices=(kind,), expr_ok=False), required=True),
            "name": F(Str(expr_ok=False)), "author": F(Str(expr_ok=False)),
            "descr": F(Str(expr_ok=False)), "inputs": F(_inputs())}


@cache
def action_file(kind: str, module: bool = False) -> Struct:
    """The grammar of an action file of ``kind`` live|batch|stateful|local; a ``module``
    (live or batch) reads the calling flow's contexts too."""
    if kind == "live":
        sites = SITES["live_module" if module else "live_action"]
        fields = _action_head("live")
        job_fields = _live_job_fields("job_multi", params=False)
        hints = {"params": "job.params is not supported inside live action, use inputs instead"}
        fields["job"] = F(Struct(name="ActionJob", fields=job_fields, sites=sites,
                                 exclusive=EXCL, hints=hints), required=True)
        return Struct(name="LiveAction", fields=fields, sites=sites)
    if kind == "batch":
        sites = SITES["batch_module" if module else "batch_action"]
        fields = _action_head("batch")
        fields.update({
            "outputs": F(Outputs(), site="outputs"),
            "cache": F(_with_sites(_cache(), sites), site="defaults2"),
            "images": F(MapOf(value=_with_sites(_image("def"), sites), ids=True,
                              expr_ok=False)),
            "tasks": F(_tasks(sites), required=True),
        })
        return Struct(name="BatchAction", fields=fields, sites=sites)
    if kind == "stateful":
        sites = SITES["stateful"]
        fields = _action_head("stateful")
        main = Struct(name="ExecUnit", fields=_exec_unit("main"), sites=sites, exclusive=EXCL)
        post = Struct(name="ExecUnit", fields=_exec_unit("post"), sites=sites, exclusive=EXCL)
        fields.update({"outputs": F(Outputs(), site="outputs"), "cache": F(_cache()),
                       "main": F(main, required=True), "post": F(post),
                       "post_if": F(Bool(), site="post_if")})
        return Struct(name="StatefulAction", fields=fields, sites=sites)
    sites = SITES["local"]
    fields = _action_head("local")
    fields.update({"outputs": F(Outputs(), site="outputs"), "cmd": F(Str(), site="local"),
                   "bash": F(Str(), site="local"), "python": F(Str(), site="local")})
    return Struct(name="LocalAction", fields=fields, sites=sites, exclusive=EXCL)


@cache
def project_file() -> Struct:
    """The grammar of ``.neuro/project.yml``."""
    sites = SITES["project"]
    mixin_fields = {**_task_fields(), **_live_job_fields("job")}
    mixin = Struct(name="Mixin", fields={k: F(f.type, False, "job" if f.site else None,
                                              f.descr) for k, f in mixin_fields.items()},
                   sites=sites)
    return Struct(name="Project", fields={
        "id": F(Ident()), "owner": F(Str(expr_ok=False)), "project_name": F(Str(expr_ok=False)),
        "role": F(Str(expr_ok=False)),
        "images": F(MapOf(value=_with_sites(_image("def"), sites), ids=True, expr_ok=False)),
        "volumes": F(MapOf(value=_with_sites(_volume("def"), sites), ids=True, expr_ok=False)),
        "defaults": F(_with_sites(_defaults(True), sites)),
        "mixins": F(MapOf(value=mixin, ids=True, expr_ok=False)),
    }, sites=sites)

