"""The bake API every front end uses: start, list, inspect, show, cancel, restart, clear-cache."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..backends.base import get_backend
from ..backends.target import resolve_target
from ..errors import ConflictError, InvalidInputError, NotFoundError, UnknownNameError
from ..logfiles import read_from, read_tail
from ..store import bakes as rows
from ..store.db import Store, open_store
from ..store.projects import project_pk
from .commands import process_output
from .follow import AttemptFollower
from .liveness import executor_alive, reconcile

if TYPE_CHECKING:
    from ..project.discovery import Project
    from ..workflow.batch_api import BatchPlan
    from .executor import LaunchedExecutor

MAX_ATTEMPTS = 99
CELL_BATCH = "cell"


@dataclass(frozen=True)
class BakeState:
    """A bake's attempt as front ends show it: the attempt, its tasks and the graph's edges."""

    bake: rows.BakeRecord
    attempt: rows.AttemptRecord
    tasks: list[rows.TaskRecord]
    edges: list[tuple[str, str, str]]  # (need, task, level) as dotted ids
    root: Path | None = None  # the project's folder (where tasks' notebooks are)
    changed: Sequence[rows.TaskRecord] = ()  # the rows read since the follower's last read

    @property
    def finished(self) -> bool:
        return self.attempt.finished

    @property
    def executor_status(self) -> str:
        if self.attempt.finished:
            return "finished"
        return "running" if executor_alive(self.attempt) else "pending"


def _store() -> Store:
    return open_store()


def start_bake(
    project: Project, batch: str, *, text: str | None = None, params: Mapping[str, str] | None = None,
    tags: Sequence[str] = (), name: str | None = None, backend: str | None = None,
    ray_address: str | None = None, fork_caller: bool = False,
) -> rows.BakeRecord:
    """Check the batch workflow (``text`` replaces ``.neuro/<batch>.yml``), record the bake and
    start its executor. Workflow errors, and a backend that cannot run (Ray missing or not
    answering), are raised before anything is recorded or started. ``backend`` and
    ``ray_address`` override the project's settings (``core.backends.target``).

    The executor process is started first, so that its start-up and its own plan overlap this
    one; it waits for the bake's record and is stopped (leaving nothing) on an error. With
    ``fork_caller`` (the CLI: a process that owns all its state), this process forks itself
    into the executor once it has planned, when it safely can (``callerfork``)."""
    from ..errors import WorkflowErrors
    from ..workflow import batch_ref_errors, plan_batch

    if name is not None:
        _check_name(name)
    target = resolve_target(project, backend, ray_address)
    get_backend(target).check()
    overlay = {f".neuro/{batch}.yml": text} if text is not None else None
    bake_id = rows.new_bake_id()
    params = dict(params or {})
    launcher = _Launcher(project, bake_id, 1, batch=batch, params=params, overlay=overlay,
                         backend=str(target), fork_caller=fork_caller)
    try:
        plan = plan_batch(project, batch, params=params, overlay=overlay)
        errors = batch_ref_errors(plan)  # what `check` reports, e.g. an unknown matrix key
        if errors:
            raise errors[0] if len(errors) == 1 else WorkflowErrors(errors)
        config = {**plan.config_files, **(overlay or {})}
        executor = launcher.planned(plan, config)
        store = _store()
        rows.create_bake(
            store, project_pk=project_pk(project, store), batch=plan.batch, name=name,
            tags=tuple(tags), params=dict(plan.params), config_files=config, backend=str(target),
            bake_id=bake_id,
        )
        executor.go(store)
    finally:
        launcher.abort()  # a no-op once it has gone
    return rows.get_bake(store, bake_id)


class _Launcher:
    """How an attempt's executor starts: before the caller plans (``spawn_executor``: its
    start-up and own plan overlap the caller's), or forked from the caller once it has planned
    (``callerfork``, when asked for and safe)."""

    def __init__(self, project: Project, bake_id: str, number: int, *, batch: str,
                 params: Mapping[str, str], overlay: Mapping[str, str] | None, backend: str,
                 fork_caller: bool) -> None:
        from . import callerfork
        from .executor import spawn_executor

        self.project, self.bake_id, self.number = project, bake_id, number
        self.backend = backend
        self.executor: LaunchedExecutor | None = None
        if fork_caller and callerfork.usable():
            return
        self.executor = spawn_executor(
            bake_id, number, project.root, batch=batch, params=dict(params), overlay=overlay,
            backend=backend,
        )

    def planned(self, plan: BatchPlan, config: Mapping[str, str]) -> LaunchedExecutor:
        """The executor, forked now (with ``plan``) unless it was started already."""
        if self.executor is None:
            from . import callerfork
            from .executor import Prepared

            self.executor = callerfork.fork_executor(
                self.bake_id, self.number, self.project.root,
                Prepared(Path(self.project.root), plan, dict(config)), self.backend,
            )
        return self.executor

    def abort(self) -> None:
        if self.executor is not None:
            self.executor.abort()


_BAKE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def _check_name(name: str) -> None:
    if not _BAKE_NAME.match(name) or name.startswith("bake-"):
        raise InvalidInputError(
            f"Invalid bake name {name!r}: use letters, digits, '_', '-' and '.', starting with a "
            "letter (and not 'bake-', which is how bake ids start)"
        )


def _fresh(store: Store, bake: rows.BakeRecord) -> rows.BakeRecord:
    if bake.last_attempt is None or bake.last_attempt.finished:
        return bake
    attempt = reconcile(store, bake.last_attempt)
    if attempt is bake.last_attempt:
        return bake
    return rows.get_bake(store, bake.bake_id)


def list_bakes(
    project: Project, *, tags: Iterable[str] = (), since: float | None = None,
    until: float | None = None, recent_first: bool = True,
) -> list[rows.BakeRecord]:
    """The project's bakes (newest first by default); ``tags`` must all be present."""
    store = _store()
    wanted = set(tags)
    result = []
    for bake in rows.list_bakes(
        store, project_pk(project, store), since=since, until=until, recent_first=recent_first
    ):
        if wanted and not wanted.issubset(bake.tags):
            continue
        result.append(_fresh(store, bake))
    return result


def resolve_bake(project: Project, bake_id_or_name: str) -> rows.BakeRecord:
    """A bake of the project by id or name."""
    store = _store()
    pk = project_pk(project, store)
    bake = rows.find_bake(store, pk, bake_id_or_name)
    if bake is None:
        last = rows.last_bake_of_batch(store, pk, bake_id_or_name)
        hint = f"; {bake_id_or_name!r} is a batch, its last bake is {last}" if last else ""
        raise NotFoundError(
            f"No bake with id or name {bake_id_or_name!r} in project {project.id}{hint}; "
            "list them with `neuro-jupyter bakes` or %neuro_bakes"
        )
    return _fresh(store, bake)


def _bake(project: Project, bake: rows.BakeRecord | str) -> rows.BakeRecord:
    return resolve_bake(project, bake) if isinstance(bake, str) else bake


def list_attempts(project: Project, bake: rows.BakeRecord | str) -> list[rows.AttemptRecord]:
    """Every attempt of a bake, first to last (what a front end offers to switch between)."""
    record = _bake(project, bake)
    return rows.list_attempts(_store(), record.bake_id)


def _attempt(store: Store, bake: rows.BakeRecord, number: int | None) -> rows.AttemptRecord:
    attempt = rows.get_attempt(store, bake.bake_id, number)
    return reconcile(store, attempt)


def inspect_bake(
    project: Project, bake: rows.BakeRecord | str, attempt: int | None = None
) -> BakeState:
    """The state of an attempt (default: the last) with its tasks and edges."""
    record = _bake(project, bake)
    return AttemptFollower(record.bake_id, attempt, project.root, watch=False).read()


def watch_bake(
    project: Project, bake: rows.BakeRecord | str, attempt: int | None = None, *,
    interval: float = 0.2,
) -> Iterator[BakeState]:
    """Yield the attempt's state every ``interval`` seconds until it has finished, reading only
    what changed each time; the end is yielded as soon as the executor exits."""
    record = _bake(project, bake)
    follower = AttemptFollower(record.bake_id, attempt, project.root)
    try:
        while True:
            state = follower.read()
            yield state
            if state.finished:
                return
            follower.wait(interval)
    finally:
        follower.close()


def find_task(state: BakeState, task_id: str) -> rows.TaskRecord:
    """A task of the attempt by dotted id; the error lists the valid ids."""
    for task in state.tasks:
        if task.full_id == task_id:
            return task
    raise UnknownNameError(
        "task", task_id, [t.full_id for t in state.tasks],
        where=f"bake {state.bake.bake_id} attempt #{state.attempt.number}",
    )


def task_log(
    project: Project, bake: rows.BakeRecord | str, task_id: str, *, attempt: int | None = None,
    raw: bool = False,
) -> str:
    """A task's output; command lines (``::set-output`` …) are removed unless ``raw``."""
    state = inspect_bake(project, bake, attempt)
    task = find_task(state, task_id)
    return read_task_log(task, raw=raw)


def read_task_log(task: rows.TaskRecord, *, raw: bool = False, limit: int | None = None) -> str:
    """The log text of a task record; with ``limit``, its last ``limit`` characters at most,
    read from the file's end (a log of gigabytes costs a view no more than its tail), from a
    whole line on, after a line that says the beginning is left out and where the log is."""
    if not task.log_path:
        return ""
    if limit is None:
        text, start, size = read_from(task.log_path)[0], 0, 0
    else:  # UTF-8: at most 4 bytes a character
        text, start, size = read_tail(task.log_path, 4 * limit)
    if not raw:
        text = process_output(text).text
    cut = limit is not None and len(text) > limit
    if limit is not None and cut:
        tail = text[-limit:] if limit else ""
        line = tail.find("\n")
        text = tail[line + 1:] if 0 <= line < len(tail) - 1 else tail
    if start or cut:
        text = (f"[the beginning of this {size:,}-byte log is not shown; the whole log: "
                f"{task.log_path}]\n{text}")
    return text


def cancel_bake(project: Project, bake: rows.BakeRecord | str, attempt: int | None = None) -> None:
    """Cancel an unfinished attempt: its executor kills the tasks (``always()`` ones still run)."""
    store = _store()
    record = _bake(project, bake)
    with store.tx():
        att = _attempt(store, record, attempt)
        if att.finished:
            raise ConflictError(
                f"Attempt #{att.number} of bake {record.bake_id} has already finished ({att.result})"
            )
        if att.result != "cancelled":
            rows.update_attempt(store, record.bake_id, att.number, result="cancelled")


def restart_bake(
    project: Project, bake: rows.BakeRecord | str, *, attempt: int | None = None,
    from_failed: bool = True, fork_caller: bool = False,
) -> rows.AttemptRecord:
    """Start a new attempt with the bake's config snapshot (§2.6, with neuro-flow's refusals);
    ``fork_caller`` as for ``start_bake``."""
    from ..workflow import plan_batch

    store = _store()
    record = _bake(project, bake)
    last = _attempt(store, record, None)
    if not last.finished:
        raise ConflictError(
            f"Bake {record.bake_id} is still running (attempt #{last.number}); "
            "wait for it or cancel it first"
        )
    source = last if attempt is None else _attempt(store, record, attempt)
    if from_failed and source.result == "succeeded":
        raise ConflictError(
            f"Attempt #{source.number} of bake {record.bake_id} succeeded: there is nothing to "
            "restart from failed tasks; use --no-from-failed to run it all again"
        )
    if rows.count_attempts(store, record.bake_id) >= MAX_ATTEMPTS:
        raise ConflictError(f"Bake {record.bake_id} already has {MAX_ATTEMPTS} attempts")
    number = last.number + 1
    get_backend(record.backend).check()
    config = dict(record.config_files)
    launcher = _Launcher(project, record.bake_id, number, batch=record.batch,
                         params=record.params, overlay=config, backend=record.backend,
                         fork_caller=fork_caller)
    try:
        plan = plan_batch(project, record.batch, params=dict(record.params), overlay=config)
        executor = launcher.planned(plan, {**plan.config_files, **config})
        store = _store()  # a fork closed this process's connections
        rows.create_attempt(
            store, record.bake_id, number, from_failed=from_failed, source=source.number
        )
        return executor.go(store)
    finally:
        launcher.abort()  # a no-op once it has gone


def clear_cache(project: Project, batch: str, task: str | None = None) -> int:
    """Delete cache entries: of every batch (``ALL``), of a batch, or of one task; the count."""
    store = _store()
    pk = project_pk(project, store)
    if batch == "ALL":
        if task is not None:
            raise InvalidInputError("clear-cache ALL takes no task id")
        return rows.delete_cache(store, pk)
    deleted = rows.delete_cache(store, pk, batch, task)
    if not deleted:
        from ..workflow import list_batches

        known = list_batches(project)
        if batch not in known:  # a typo would otherwise delete nothing, silently
            raise UnknownNameError("batch", batch, [*known, "ALL"])
    return deleted


_DELTA = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_when(text: str, now: float | None = None) -> float:
    """``1d2h3m4s`` (that long ago) or an ISO date/time → a timestamp (``--since/--until``)."""
    now = time.time() if now is None else now
    match = _DELTA.match(text.strip())
    if match and any(match.groups()):
        d, h, m, s = (int(g or 0) for g in match.groups())
        return now - (((d * 24 + h) * 60 + m) * 60 + s)
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise InvalidInputError(
            f"Invalid date or time delta {text!r}: use e.g. 2024-01-31, 2024-01-31T12:00 or 1d2h3m4s"
        ) from None


def params_from_file(path: Path | str) -> dict[str, str]:
    """Params from ``--meta-from-file``: a flat YAML mapping of names to scalars."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"Cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInputError(f"{where}: invalid YAML: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path}: expected a mapping node")
    result: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            raise InvalidInputError(f"{path}: {key}: expected a scalar node")
        result[str(key)] = "" if value is None else str(value)
    return result
