"""Static validation (``neuro-jupyter check``): every error of every file, FILE:LINE:COL.

Structure, keys, types, ids and expression syntax and contexts come from the grammar; then
per-file semantic checks: mixins, cmd/bash/python exclusivity, action args against inputs,
and for batch flows a planning pass (every unknown need and every cycle, duplicate ids,
matrix include keys, local-action ordering, image refs defined twice). Missing required params are not
errors here: they fail at run time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import (
    ExpressionError,
    Location,
    NeuroJupyterError,
    WorkflowError,
    WorkflowErrors,
)
from .actions import (
    BUNDLED_DIR,
    ActionFile,
    ActionNotFetched,
    batch_call_errors,
    live_call_error,
    load_action,
)
from .ast import Map, Node, Scalar, Seq
from .common import mixin_layers, mixins_of
from .constants import constant_errors
from .evaluate import literal_str
from .grammar import INPUT_TYPES, action_file, batch_flow, live_flow, project_file
from .loader import CONFIG_DIR, Workspace, escaping_link, file_role, validate
from .refs import matrix_keys, ref_errors, section_ids
from .spec import Struct
from .template import has_expr
from .yaml_loader import load_yaml

if TYPE_CHECKING:
    from .batch_api import BatchPlan


class CheckWarning(WorkflowError):
    """Something ``check`` reports without failing (exit 0): a preset presets.yml does not
    define, a ``gh:`` action that is not fetched."""


@dataclass
class CheckReport:
    """What ``check`` found: errors, warnings, and files of a folder that are not workflow
    files (path, reason)."""

    errors: list[WorkflowError] = field(default_factory=list)
    warnings: list[WorkflowError] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _collect(errors: list[WorkflowError], exc: BaseException) -> None:
    if isinstance(exc, WorkflowErrors):
        errors.extend(e if isinstance(e, WorkflowError) else WorkflowError(str(e))
                      for e in exc.errors)
    elif isinstance(exc, WorkflowError):
        errors.append(exc)
    else:
        errors.append(WorkflowError(str(exc)))


def workspace_of(path: Path) -> Path:
    """A file inside ``.neuro/`` belongs to that folder's parent; any other to its folder
    (the file itself may be a symlink: where it is, not where it leads, decides)."""
    path = path.absolute().parent.resolve() / path.name
    if path.parent.name == CONFIG_DIR:
        return path.parent.parent
    return path.parent


def _role(path: Path, node: Map) -> str:
    return file_role(path.stem, path.parent.name == CONFIG_DIR, node)


def check_paths(paths: Iterable[Path]) -> list[WorkflowError]:
    """Check each file (its workspace is derived from where it lives): the errors."""
    return check_report(paths).errors


def check_report(paths: Iterable[Path], *, folder: bool = False) -> CheckReport:
    """Check each file; with ``folder`` (every file of a .neuro folder), a YAML file with no
    ``kind`` (a params file a job reads, say) is skipped with the reason, not an error."""
    report = CheckReport()
    found: list[WorkflowError] = []
    for path in paths:
        path = Path(path)
        reason = _not_workflow(path) if folder else None
        if reason is not None:
            report.skipped.append((path, reason))
            continue
        found.extend(sorted(check_file(path), key=_position))
    for item in _unique(found):
        (report.warnings if isinstance(item, CheckWarning) else report.errors).append(item)
    return report


def _not_workflow(path: Path) -> str | None:
    """Why a .neuro file is not a workflow file (None when it is one, or may be one)."""
    if path.stem == "project":
        return None
    try:
        node = load_yaml(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError, NeuroJupyterError):
        return None  # reported as an error when checked
    if not isinstance(node, Map):
        return "not a workflow file (its top level is not a mapping)"
    if "kind" not in node:
        return "not a workflow file (no 'kind' key; read by jobs, not by neuro-flow)"
    return None


def _position(err: WorkflowError) -> tuple[str, int, int]:
    loc = err.location
    return (loc.file, loc.line, loc.column) if loc else ("", 0, 0)


def workflow_files(root: Path) -> list[Path]:
    """The workflow files of the project at ``root``: ``.neuro/*.yml`` and ``*.yaml``."""
    cfg = root / CONFIG_DIR
    return sorted(p for p in cfg.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


def check_project(root: Path) -> list[WorkflowError]:
    """Check every workflow file of the project at ``root``."""
    if not (root / CONFIG_DIR).is_dir():
        return [WorkflowError(f".neuro folder was not found in {root}")]
    return check_report(workflow_files(root), folder=True).errors


def _display(path: Path, ws_root: Path) -> str:
    try:
        return path.resolve().relative_to(ws_root.resolve()).as_posix()
    except ValueError:
        return str(path)


def check_file(path: Path) -> list[WorkflowError]:
    """Every error of one file."""
    errors: list[WorkflowError] = []
    root = workspace_of(path)
    ws = Workspace(root=root)
    refused = escaping_link(root, (path.absolute().parent.resolve() / path.name).relative_to(
        root).as_posix())
    if refused:
        return [WorkflowError(refused)]
    rel = _display(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [WorkflowError(f"cannot read {path}: {exc}", Location(str(path), 1, 1))]
    try:
        node = load_yaml(text, rel)
        if not isinstance(node, Map):
            return [WorkflowError("expected a mapping at the top of the file",
                                  Location(rel, 1, 1))]
        role = _role(path, node)
    except NeuroJupyterError as exc:
        _collect(errors, exc)
        return errors
    grammar: Struct
    if role == "project":
        grammar = project_file()
    elif role == "live":
        grammar = live_flow()
    elif role == "batch":
        grammar = batch_flow()
    else:
        grammar = action_file(str(getattr(node.get("kind"), "value", "")))
    structural = list(validate(node, grammar))
    if structural and role == "action":  # a module file may read the flow's contexts
        kind = str(getattr(node.get("kind"), "value", ""))
        if kind in ("live", "batch") and not validate(node, action_file(kind, True)):
            structural = []
    if role == "action":  # what neuro-flow finds only when it evaluates a call
        errors.extend(_at_call([e for e in structural if e.evaluation]))
        structural = [e for e in structural if not e.evaluation]
    errors.extend(structural)
    errors.extend(constant_errors(node))
    ws.files[rel] = text
    ws._cache[rel] = node
    errors.extend(_preset_warnings(node))
    errors.extend(_partial_images(node))
    try:
        if role == "live":
            errors.extend(_check_live(ws, node))
        elif role == "batch":
            errors.extend(_check_batch(ws, node, path, planned=not structural))
        elif role == "project":
            errors.extend(_check_mixins(node, node.get("mixins")))
        else:
            errors.extend(_action_outputs(node))
            errors.extend(_at_call(_check_action(ws, node, parsed=False)))
    except NeuroJupyterError as exc:
        _collect(errors, exc)
    return errors


def _at_call(errors: list[WorkflowError]) -> list[WorkflowError]:
    """An action file checked on its own: neuro-flow parses it alone and refuses each flow that
    calls it, so what the call's evaluation would refuse is a warning here (and an error in
    every flow that calls the action)."""
    return [e if isinstance(e, CheckWarning) else CheckWarning(
        f"{e.message} (every flow that calls this action fails with it)", e.location)
        for e in errors]


def _exclusive(layers: dict[str, list[Node]], loc: Location) -> list[WorkflowError]:
    """cmd/bash/python exclusivity across mixins (the grammar checks a single mapping)."""
    given = [k for k in ("cmd", "bash", "python") if layers.get(k)]
    if len(given) > 1:
        return [WorkflowError(f"{', '.join(given)} are mutually exclusive (with mixins)", loc)]
    return []


def _check_mixins(node: Map, owner: Node | None, inherited: dict[str, Map] | None = None
                  ) -> list[WorkflowError]:
    errors: list[WorkflowError] = []
    own = mixins_of(owner)
    mixins = {**(inherited or {}), **own}
    cycles: set[frozenset[str]] = set()
    for name, m in own.items():
        try:
            mixin_layers(m, mixins, name, mixin_name=name)
        except WorkflowError as exc:
            if exc.message.startswith("mixin cycle: "):
                members = frozenset(exc.message.split(": ", 1)[1].split(" -> "))
                if members in cycles:
                    continue
                cycles.add(members)
            errors.append(exc)
    return errors


def _project_mixins(ws: Workspace) -> dict[str, Map]:
    node = _project_node(ws)  # a broken project.yml is reported when it is checked itself
    return mixins_of(node.get("mixins")) if node is not None else {}


def _flow_mixins(ws: Workspace, node: Map) -> tuple[list[WorkflowError], dict[str, Map]]:
    """The errors of a flow's ``mixins`` section, and the mixins its entries may use."""
    project = _project_mixins(ws)
    return (_check_mixins(node, node.get("mixins"), project),
            {**project, **mixins_of(node.get("mixins"))})


def _call_kw(entry: Map) -> str | None:
    """``module`` or ``action`` when the entry calls one, else None."""
    return "module" if "module" in entry else "action" if "action" in entry else None


def _check_own(entry: Map, mixins: dict[str, Map], name: str, *, task: bool = False
               ) -> list[WorkflowError]:
    """An entry that runs a command itself: its mixins exist and, merged, keep exactly one
    of cmd/bash/python; a task must get an image (neuro-flow refuses a bake with a task
    without one; a live job's image is only informative here)."""
    try:
        layers = mixin_layers(entry, mixins, name)
    except WorkflowError as exc:
        return [exc]
    errors: list[WorkflowError] = []
    if task and not layers.get("image"):
        errors.append(WorkflowError(f"Image for {name} is not specified"
                                    + (" (nor by its mixins)" if "mixins" in entry else ""),
                                    entry.loc))
    if "mixins" in entry and sum(k in entry for k in ("cmd", "bash", "python")) < 2:
        errors.extend(_exclusive(layers, entry.loc_of("mixins")))
    return errors


def _call_args(ws: Workspace, entry: Map, key: str, mixins: dict[str, Map] | None = None
               ) -> tuple[ActionFile | None, list[WorkflowError]]:
    """Load the called action and compare the call's args with its inputs (a batch module's
    tasks may use ``mixins``, the caller's)."""
    ref_node = entry.get(key)
    ref = str(getattr(ref_node, "value", ""))
    loc = ref_node.loc if ref_node is not None else entry.loc
    if has_expr(ref):
        return None, []  # reported by the grammar: no expressions here
    try:
        action = load_action(ws, ref, loc, module=key == "module")
    except ActionNotFetched as exc:
        return None, [CheckWarning(f"{exc.message}; its calls are not validated",
                                   exc.location)]
    except NeuroJupyterError as exc:
        errs: list[WorkflowError] = []
        _collect(errs, exc)
        return None, errs
    errors: list[WorkflowError] = []
    if action.key not in ws.checked and not action.key.startswith("gh:"):
        ws.checked.add(action.key)  # the action file's own checks, once
        errors.extend(_check_action(ws, action.node, mixins))
    inputs = action.node.get("inputs")
    declared: dict[str, Node] = {str(k.value): v for k, v in inputs.items} if isinstance(
        inputs, Map) else {}
    args = entry.get("args")
    given = {str(k.value): k for k, _ in args.items} if isinstance(args, Map) else {}
    for name, knode in given.items():
        if name not in declared:
            errors.append(WorkflowError(
                f"unknown arg '{name}' for {ref} (inputs: {', '.join(declared) or 'none'})",
                knode.loc))
    # neuro-flow reads literal args as strings: a typed input needs an expression; not for the
    # bundled neuro-actions, which type inputs the real ones leave as strings
    # (the template's documented ``http_auth: "False"``): those are converted
    args_map = args if isinstance(args, Map) and action.path.parent != BUNDLED_DIR else None
    for name in given if args_map is not None else ():
        spec = declared.get(name)
        value = args_map.get(name) if args_map is not None else None
        typ = spec.get("type") if isinstance(spec, Map) else None
        declared_type = str(typ.value) if isinstance(typ, Scalar) else "str"
        if (declared_type != "str" and declared_type in INPUT_TYPES
                and isinstance(value, Scalar) and value.value is not None
                and not (isinstance(value.value, str) and has_expr(value.value))):
            errors.append(WorkflowError(  # neuro-flow reads a literal arg as a string
                f"Type of argument '{name}' does not match the input's declared type: a "
                f"literal argument is a str, the input is '{declared_type}' (write "
                f"${{{{ {value.value} }}}} to pass a {declared_type})", value.loc))
    for name, spec in declared.items():
        has_default = isinstance(spec, Map) and spec.get("default") is not None
        if name not in given and not has_default:
            errors.append(WorkflowError(
                f"missing arg '{name}' for {ref}: the input has no default", entry.loc))
    return action, errors


def _check_live(ws: Workspace, node: Map) -> list[WorkflowError]:
    errors, mixins = _flow_mixins(ws, node)
    jobs = node.get("jobs")
    for key, entry in (jobs.items if isinstance(jobs, Map) else ()):
        if not isinstance(entry, Map):
            continue
        kw = _call_kw(entry)
        if kw is not None:
            action, errs = _call_args(ws, entry, kw)
            errors.extend(errs)
            error = live_call_error(action, entry, kw) if action is not None else None
            if error is not None:
                errors.append(error)
            continue
        errors.extend(_check_own(entry, mixins, f"job {key.value}"))
    errors.extend(_live_refs(ws, node, mixins))
    return errors


def _live_refs(ws: Workspace, node: Map, mixins: dict[str, Map]) -> list[WorkflowError]:
    """``volumes.<id>``, ``images.<id>`` and ``params.<name>`` used in a live flow exist."""
    project = _project_node(ws)
    known: dict[str, set[str]] = {
        "volumes": section_ids(node.get("volumes"), project.get("volumes") if project else None),
        "images": section_ids(node.get("images"), project.get("images") if project else None)}
    jobs = node.get("jobs")
    errors = ref_errors(node, known, skip=[jobs] if jobs is not None else [])
    for key, entry in (jobs.items if isinstance(jobs, Map) else ()):
        if not isinstance(entry, Map):
            continue
        try:
            layers = mixin_layers(entry, mixins, str(key.value))
        except WorkflowError:
            continue  # reported above
        params = section_ids(*layers.get("params", []))
        errors.extend(ref_errors(entry, {**known, "params": params}))
    return errors


def _project_node(ws: Workspace) -> Map | None:
    rel = ws.project_file()
    if rel is None:
        return None
    try:
        return ws.load(rel, project_file())
    except NeuroJupyterError:
        return None


def _action_outputs(node: Map) -> list[WorkflowError]:
    """``outputs.*.value`` in a live, stateful or local action, which neuro-flow's parser
    refuses."""
    kind = str(getattr(node.get("kind"), "value", ""))
    outputs = node.get("outputs")
    return [WorkflowError(f"outputs.{key.value}.value is not supported for {kind} action kind "
                          "(its outputs come from ::set-output lines)", out.loc_of("value"))
            for key, out in (outputs.items if isinstance(outputs, Map) and kind != "batch"
                             else ())
            if isinstance(out, Map) and out.get("value") is not None]


def _check_action(ws: Workspace, node: Map, mixins: dict[str, Map] | None = None, *,
                  parsed: bool = True) -> list[WorkflowError]:
    """An action or module file's own checks (``parsed``: with its parser's check of
    ``outputs``); a batch module's tasks may apply the calling flow's mixins (neuro-flow gives
    modules the flow's and the project's mixins)."""
    kind = str(getattr(node.get("kind"), "value", ""))
    errors: list[WorkflowError] = _action_outputs(node) if parsed else []
    known: dict[str, set[str]] = {"inputs": section_ids(node.get("inputs"))}
    if kind == "batch":
        errors.extend(_check_tasks(ws, node.get("tasks"),
                                   _project_mixins(ws) if mixins is None else mixins))
        known["images"] = section_ids(node.get("images"))
        tasks = node.get("tasks")
        ids: set[str] = set()
        dynamic = False  # an id that is an expression: the task ids are not known statically
        for num, entry in enumerate(tasks.items if isinstance(tasks, Seq) else (), 1):
            if isinstance(entry, Map):
                errors.extend(ref_errors(entry, {**known, "matrix": _keys_or_any(entry)}))
                id_node = entry.get("id")
                dynamic = dynamic or (id_node is not None and literal_str(id_node) is None)
                ids.add(literal_str(id_node) or f"task-{num}")
        outputs = node.get("outputs")
        if not dynamic:
            errors.extend(ref_errors(outputs, {**known, "needs": ids}, outputs=True))
        errors.extend(ref_errors(node, known, skip=[n for n in (tasks, outputs) if n]))
    else:
        errors.extend(ref_errors(node, known))
    return errors


def _keys_or_any(entry: Map) -> Any:
    keys = matrix_keys(entry.get("strategy"))
    return keys if keys is not None else _ANY


class _AnyKeys(frozenset[str]):
    """Matches every key (matrix keys that only evaluation knows)."""

    def __contains__(self, key: object) -> bool:
        return True


_ANY = _AnyKeys()


def _check_tasks(ws: Workspace, tasks: Node | None, mixins: dict[str, Map]
                 ) -> list[WorkflowError]:
    errors: list[WorkflowError] = []
    for num, entry in enumerate(tasks.items if isinstance(tasks, Seq) else (), 1):
        if not isinstance(entry, Map):
            continue
        kw = _call_kw(entry)
        if kw is not None:
            action, errs = _call_args(ws, entry, kw, mixins if kw == "module" else {})
            errors.extend(errs)
            if action is not None:
                errors.extend(batch_call_errors(action, entry, kw))
            continue
        tid = literal_str(entry.get("id")) if "id" in entry else None
        errors.extend(_check_own(entry, mixins, f"task {tid or f'task-{num}'}", task=True))
    return errors


def _check_batch(ws: Workspace, node: Map, path: Path, *, planned: bool
                 ) -> list[WorkflowError]:
    errors, mixins = _flow_mixins(ws, node)
    project = _project_node(ws)
    for owner in (project.get("volumes") if project else None, node.get("volumes")):
        for key, volume in (owner.items if isinstance(owner, Map) else ()):
            if isinstance(volume, Map) and volume.get("local") is not None:
                errors.append(CheckWarning(
                    f"volumes.{key.value}.local: neuro-flow's bake refuses a batch whose "
                    "volumes have a local folder ('Volumes sync is not supported'); here the "
                    "local folder is ignored", volume.loc_of("local")))
    errors.extend(_check_tasks(ws, node.get("tasks"), mixins))
    if any(not isinstance(e, CheckWarning) for e in errors) or not planned:
        return errors
    errors.extend(_plan_check(ws, node, path))
    return errors


def _plan_check(ws: Workspace, node: Map, path: Path) -> list[WorkflowError]:
    """Build the batch graph (ids, needs, cycles, matrix, local order, image refs); every
    unknown need and every cycle is reported, not just the first."""
    from .batch import plan_batch
    from .common import param_defs

    params_node = node.get("params")
    defs = param_defs([params_node] if params_node is not None else [])
    placeholders: dict[str, Any] = {n: "0" for n, d in defs.items() if d.default is None}
    errors: list[WorkflowError] = []
    stem = path.stem
    rel = _display(path, ws.root)
    if rel != f"{CONFIG_DIR}/{path.name}":  # a batch file outside .neuro: plan it in place
        ws.overlay = {f"{CONFIG_DIR}/{stem}.yml": ws.files[rel]}
        ws._cache[f"{CONFIG_DIR}/{stem}.yml"] = node
    graph: list[WorkflowError] = []
    try:
        plan = plan_batch(ws, stem, params=placeholders, collect=graph)
    except ExpressionError as exc:
        if not placeholders:
            errors.append(exc)
        return graph + errors
    except NeuroJupyterError as exc:
        _collect(errors, exc)
        return graph + errors
    errors.extend(graph)
    errors.extend(_batch_refs(ws, node, plan.root, set(defs)))
    errors.extend(_action_image_refs(ws, node, plan.root))
    return errors


def _early_image(ws: Workspace, iid: str, image: Map, scope: Any) -> dict[str, Any] | None:
    """An image as neuro-flow's early evaluation sees it: ref, and the full context and
    dockerfile paths (None when they need contexts known only later, like inputs)."""
    from .evaluate import to_str

    try:
        ref = to_str(image.get("ref"), scope, f"images.{iid}.ref")
    except NeuroJupyterError:
        return None
    fields: dict[str, Any] = {"ref": ref}
    for key in ("context", "dockerfile"):
        try:
            fields[key] = to_str(image.get(key), scope, f"images.{iid}.{key}")
        except NeuroJupyterError:
            fields = {"ref": ref}
            break
    def full(value: Any) -> str | None:  # both relative to the workspace, as neuro-flow does
        if value is None or str(value).startswith("storage:"):
            return None if value is None else str(value)
        path = Path(str(value))
        return str(path if path.is_absolute() else (ws.root / path).resolve())

    raw = {k: str(getattr(image.get(k), "value", "")) for k in ("context", "dockerfile")}
    return {"ref": ref, "rendered": (full(fields.get("context")), full(fields.get("dockerfile"))),
            "raw": (raw["context"], raw["dockerfile"]), "loc": image.loc}


def _action_image_refs(ws: Workspace, node: Map, root: Any) -> list[WorkflowError]:
    """A platform image ref (``image:…``) of the flow and of the batch actions it calls must
    agree on context and dockerfile (rendered, or else as written), as neuro-flow's
    ``check_image_refs_unique`` requires across a bake."""
    from .expr import Scope

    seen: dict[str, list[dict[str, Any]]] = {}
    base_flow = dict(root.env.names.get("flow", {}))
    project = _project_node(ws)
    for owner in (project.get("images") if project else None, node.get("images")):
        for key, image in (owner.items if isinstance(owner, Map) else ()):
            if isinstance(image, Map):
                early = _early_image(ws, str(key.value), image,
                                     Scope({k: v for k, v in root.env.names.items()}))
                if early and str(early["ref"] or "").startswith("image:"):
                    seen.setdefault(str(early["ref"]), []).append(early)
    stack, visited = [node.get("tasks")], set()
    while stack:
        tasks = stack.pop()
        for entry in (tasks.items if isinstance(tasks, Seq) else ()):
            ref = entry.get("action") if isinstance(entry, Map) else None
            if not isinstance(ref, Scalar) or not isinstance(ref.value, str):
                continue
            try:
                action = load_action(ws, ref.value, ref.loc)
            except NeuroJupyterError:
                continue  # reported by the call's own checks
            if action.kind != "batch" or action.key in visited:
                continue
            visited.add(action.key)
            stack.append(action.node.get("tasks"))
            scope = Scope({"flow": {**base_flow, "action_path": str(action.path)}})
            images = action.node.get("images")
            for key, image in (images.items if isinstance(images, Map) else ()):
                if isinstance(image, Map):
                    early = _early_image(ws, str(key.value), image, scope)
                    if early and str(early["ref"] or "").startswith("image:"):
                        seen.setdefault(str(early["ref"]), []).append(early)
    errors: list[WorkflowError] = []
    for image_ref, defs in seen.items():
        if len({d["rendered"] for d in defs}) > 1 and len({d["raw"] for d in defs}) > 1:
            errors.append(WorkflowError(
                f"Image with ref '{image_ref}' defined multiple times with different attributes "
                f"(context and dockerfile differ: {len(defs)} definitions)", defs[-1]["loc"]))
    return errors


def batch_ref_errors(plan: BatchPlan) -> list[WorkflowError]:
    """The reference errors ``check`` reports for a batch flow (unknown volume, image, param,
    matrix key or need), found on an already-built plan: nothing is planned again."""
    from .batch import Level

    root = plan.root
    if not isinstance(root, Level):
        return []
    ws = root.env.ws
    rel = ws.find(plan.batch)
    if rel is None:
        return []
    node = ws.load(rel, batch_flow())  # the plan's own parse (cached by the workspace)
    errors = _batch_refs(ws, node, root, section_ids(node.get("params")))
    return sorted(_unique(errors), key=_position)


def _batch_refs(ws: Workspace, node: Map, root: Any, params: set[str]) -> list[WorkflowError]:
    """Ids used in a batch flow's expressions exist: volumes, images, params, matrix keys
    and, per task, the tasks it needs (as planned: defaults and matrix instances included)."""
    project = _project_node(ws)
    known: dict[str, Any] = {
        "volumes": section_ids(node.get("volumes"), project.get("volumes") if project else None),
        "images": section_ids(node.get("images"), project.get("images") if project else None),
        "params": params}
    tasks = node.get("tasks")
    errors = ref_errors(node, known, skip=[tasks] if tasks is not None else [])
    needs_of: dict[int, set[str]] = {}
    for inst in root._insts.values():
        if inst.role != "post":
            done = {k for k, level in inst.needs.items() if level == "completed"}
            needs_of.setdefault(id(inst.entry), set()).update(done)
    for entry in (tasks.items if isinstance(tasks, Seq) else ()):
        if isinstance(entry, Map):
            errors.extend(ref_errors(entry, {**known, "matrix": _keys_or_any(entry),
                                             "needs": needs_of.get(id(entry), set())}))
    return errors


def _unique(errors: list[WorkflowError]) -> list[WorkflowError]:
    seen: set[str] = set()
    out = []
    for e in errors:
        if str(e) not in seen:
            seen.add(str(e))
            out.append(e)
    return out


def _preset_warnings(node: Node) -> list[WorkflowError]:
    """A warning for each literal ``preset`` that presets.yml does not define (it runs with
    the documented mapping for cluster presets)."""
    from ..presets import undefined_preset_note

    out: list[WorkflowError] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Map):
            for k, v in n.items:
                if (k.value == "preset" and isinstance(v, Scalar)
                        and isinstance(v.value, str) and not has_expr(v.value)):
                    note = undefined_preset_note(v.value)
                    if note:
                        out.append(CheckWarning(note, v.loc))
                else:
                    stack.append(v)
        elif isinstance(n, Seq):
            stack.extend(n.items)
    return out


def _partial_images(node: Map) -> list[WorkflowError]:
    """An image with a ``context`` but no ``dockerfile``, or the reverse: neuro-flow refuses
    it (it builds from both or from neither)."""
    images = node.get("images")
    out: list[WorkflowError] = []
    for key, image in (images.items if isinstance(images, Map) else ()):
        if isinstance(image, Map) and ("context" in image) != ("dockerfile" in image):
            given = "context" if "context" in image else "dockerfile"
            other = "dockerfile" if given == "context" else "context"
            out.append(WorkflowError(
                f"images.{key.value}: partially defined image: {given} is set but {other} is "
                "not (set both, or neither)", image.loc))
    return out
