"""REST handlers of the server extension: thin, authenticated views over ``neuro_jupyter.core``.

Every route lives under ``<base_url>neuro-jupyter/api/``; ``{pk}`` is a project's key from the
projects list, ``{bake}`` a bake id or name, ``{task}`` a dotted task id.

=======  ==========================================  ==========================================
Verb     Path                                        Answer
=======  ==========================================  ==========================================
GET      ``projects``                                ``{"projects": [project, ...]}``, with the
                                                     projects in the server's folder recorded;
                                                     ``path``: its folder under the server's
                                                     root (null outside it); ``same_id``: the
                                                     other folders with its id (copies of it)
GET      ``projects/{pk}``                           a project
GET      ``projects/{pk}/jobs``                      ``{"jobs": [job row, ...]}`` (ps rows);
                                                     when live.yml does not load, the recorded
                                                     runs and ``"warning"``: the file's error
POST     ``projects/{pk}/jobs/{job_id}/start``       201, the new run (409 with ``job`` if it
                                                     runs already); body ``{"suffix": "",
                                                     "params": {}, "args": [], "backend":
                                                     "ray", "ray_address": URL}`` (all
                                                     optional; 503 when Ray cannot be used)
POST     ``projects/{pk}/jobs/{job_id}/kill``        ``{"messages": [...]}`` once stopped; body
                                                     ``{"suffix": ""}``; ``job_id`` may be ALL
GET      ``running``                                 ``{"jobs": [run, ...]}``: pending and
                                                     running jobs of every project, each with
                                                     ``"project": {"pk", "name"}``
GET      ``jobs/{raw_id}``                           one run of a job, with its ``url``
                                                     (jobs and bakes carry ``backend_name`` and
                                                     ``backend_label`` beside ``backend``; jobs
                                                     ``environment``: null or ``{"name",
                                                     "path", "state"}``, the project image's
                                                     environment the run ran in)
GET      ``jobs/{raw_id}/log?offset=&limit=``        ``{"text", "offset", "next_offset",
                                                     "size"}``; a negative offset counts from
                                                     the end (a tail); at most 64 MiB a page
GET      ``projects/{pk}/bakes``                     ``{"bakes": [bake, ...]}``, newest first
GET      ``projects/{pk}/bakes/{bake}?attempt=``     ``{"bake", "attempt", "attempts", "tasks",
                                                     "edges"}``
GET      ``projects/{pk}/bakes/{bake}/tasks/{task}/  ``{"task", "attempt", "header", "text"}``:
         log?attempt=&raw=``                         ``show``'s header lines (for an action or
                                                     module call, the note naming its tasks)
                                                     and the log
GET      ``projects/{pk}/bakes/{bake}/tasks/{task}/  the task's executed notebook (``nbrun``) as
         notebook.html?attempt=``                    an HTML page (nbconvert), sent with a
                                                     Content-Security-Policy that runs no
                                                     script (``core.notebooks.html``); a task
                                                     object's ``notebook`` field links it
GET      ``projects/{pk}/bakes/{bake}/graph.dot``    the graph in DOT (text/vnd.graphviz)
GET      ``projects/{pk}/bakes/{bake}/graph.svg``    the graph in SVG (image/svg+xml; needs
                                                     Graphviz's ``dot``)
GET      ``projects/{pk}/bakes/{bake}/graph.json``   what the browser's graph component draws
         ``?attempt=&known=``                        (it lays the graph out itself): ``{"bake",
                                                     "attempt", "attempts", "structure":
                                                     {"key", "ids", "kinds", "titles",
                                                     "edges", "groups"}, "tasks": {"status":
                                                     [...], ...}}`` (``core.graph_data``);
                                                     ``structure`` is ``{"key"}`` alone while
                                                     its key is ``known``
POST     ``projects/{pk}/bakes/{bake}/cancel``       the bake's state; body ``{"attempt": n}``
POST     ``projects/{pk}/bakes/{bake}/restart``      201, the new attempt's state; body
                                                     ``{"attempt": n, "from_failed": true}``
=======  ==========================================  ==========================================

Numbers in paths and queries are ASCII digits within their range, bodies at most 1 MiB of
JSON. Errors are JSON ``{"message": ..., "reason": ...}``: 400 bad input, 404 unknown project, job,
bake or task, 409 a clash with the current state (a job already runs, a bake still runs), 503
a backend or tool that cannot be used (Ray missing or not answering, no Graphviz), 500 anything
else of ours. Every verb is ``@tornado.web.authenticated`` and ``@authorized`` on the
``neuro_jupyter`` resource. Paths never come from requests: projects are looked up by key in the
store and everything else by name inside them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..core.errors import (
    InvalidInputError,
    NeuroJupyterError,
    NotFoundError,
    StoreError,
    http_status,
)
from ..core.notebooks.links import API_PATH as NAMESPACE

AUTH_RESOURCE = "neuro_jupyter"
MAX_BODY = 1 << 20  # our request bodies are a few names and values
MAX_LOG_PAGE = 64 << 20  # bytes of a log one answer carries (page with offset for more)
TASK_LOG_LIMIT = 1 << 20  # characters of a task's log answered by default: its end
_DIGITS = re.compile(r"-?[0-9]+")  # ASCII digits only: not '١', not ' 1'
ATTEMPTS = (1, 2**31 - 1)
OFFSETS = (-(2**62), 2**62)

T = TypeVar("T")
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[None]])


def status_of(error: NeuroJupyterError) -> int:
    """The HTTP status for one of our errors."""
    return http_status(error)


def json_errors(method: Handler) -> Handler:
    """Answer our errors as JSON with a fitting status instead of a 500 page."""

    @functools.wraps(method)
    async def inner(self: NeuroHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except NeuroJupyterError as error:
            status = status_of(error)
            if status == 500:  # a store's fault is not a bug: its message says it all
                self.log.error("neuro-jupyter: %s", error,
                               exc_info=None if isinstance(error, StoreError) else error)
            self.set_status(status)
            self.finish(json.dumps({"message": str(error), "reason": self._reason}))

    return inner  # type: ignore[return-value]


def to_json(value: Any) -> Any:
    """Plain JSON data from records: dataclasses (fields only), mappings, sequences, paths."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


class NeuroHandler(APIHandler):
    """Base of our handlers: authorization resource, request parsing, project lookup."""

    auth_resource = AUTH_RESOURCE

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a blocking core function off the event loop."""
        return await asyncio.to_thread(func, *args, **kwargs)

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))

    def body(self) -> dict[str, Any]:
        """The request's JSON object body ({} when empty)."""
        raw = self.request.body
        if not raw or not raw.strip():
            return {}
        if len(raw) > MAX_BODY:
            raise InvalidInputError(f"The request body is larger than {MAX_BODY:,} bytes")
        try:
            data = json.loads(raw)
        except ValueError as error:
            raise InvalidInputError(f"The request body is not JSON: {error}") from error
        except RecursionError:
            raise InvalidInputError("The request body is nested too deeply") from None
        if not isinstance(data, dict):
            raise InvalidInputError("The request body must be a JSON object")
        return data

    def int_arg(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        """An optional integer query argument from ``low`` to ``high``."""
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        return parse_int(raw, f"Query argument {name!r}", low, high)

    def bool_arg(self, name: str) -> bool:
        """An optional boolean query argument (1/true/yes)."""
        raw = (self.get_query_argument(name, "") or "").lower()
        if raw in ("", "0", "false", "no"):
            return False
        if raw in ("1", "true", "yes"):
            return True
        raise InvalidInputError(f"Query argument {name!r} must be true or false, not {raw!r}")

    async def project(self, pk: str) -> tuple[Any, Any]:
        """The project record and the opened project for a key from the URL."""
        return await self.run(_open_project, pk)

    @property
    def server(self) -> Server:
        """This server's base URL and root folder (for links to files it serves)."""
        return Server(self.base_url, self.settings.get("server_root_dir"))


def parse_int(raw: str, what: str, low: int, high: int) -> int:
    """An integer written in ASCII digits, from ``low`` to ``high``; else a 400."""
    shown = repr(raw) if len(raw) <= 40 else repr(raw[:40]) + "..."
    if not _DIGITS.fullmatch(raw):
        raise InvalidInputError(f"{what} must be an integer (ASCII digits), not {shown}")
    if len(raw) > 20 or not low <= int(raw) <= high:
        raise InvalidInputError(f"{what} must be from {low} to {high}, not {shown}")
    return int(raw)


def _parse_pk(pk: str) -> int:
    return parse_int(pk, "A project key", 1, 2**63 - 1)


def _open_project(pk: str) -> tuple[Any, Any]:
    from ..core.project import open_project
    from ..core.store.projects import get_project

    record = get_project(_parse_pk(pk))
    if not (record.root / ".neuro").is_dir():
        raise NotFoundError(f"The folder of project {record.name!r} is gone: {record.root}")
    return record, open_project(record.root, record=False)


def project_json(record: Any, server_root: str | None = None,
                 same_id: list[Path] | None = None) -> dict[str, Any]:
    """A project record for the API; ``path`` is its folder relative to the server's root
    (as JupyterLab names documents), or null outside it; ``same_id``: the other folders that
    have its id (a copied project), which share its ``storage:`` volumes."""
    data: dict[str, Any] = to_json(record)
    data["exists"] = (Path(record.root) / ".neuro").is_dir()
    data["same_id"] = [str(p) for p in same_id or []]
    data["path"] = None
    if server_root:
        try:
            relative = Path(record.root).relative_to(Path(server_root).expanduser().resolve())
        except ValueError:
            pass
        else:
            data["path"] = relative.as_posix() if relative.parts else ""
    return data



# --- projects -------------------------------------------------------------------------------


def discover_projects(server_root: str | None) -> None:
    """Record projects the server serves but the store does not know yet: the project holding
    the server's root folder, and projects in its direct subfolders (a cloned project shows up
    in the sidebar before any notebook opened it). Broken ones are left for the user to open."""
    from ..core.errors import NeuroJupyterError as Error
    from ..core.project import open_project
    from ..core.project.discovery import find_root
    from ..core.store.projects import list_projects

    if not server_root:
        return
    root = Path(server_root).expanduser()
    candidates: list[Path] = []
    try:
        candidates.append(find_root(root))
    except Error:
        pass
    try:
        candidates += sorted(p for p in root.iterdir() if (p / ".neuro").is_dir())
    except OSError:
        return
    known = {str(r.root) for r in list_projects()}
    for folder in candidates:
        if str(folder.resolve()) in known:
            continue
        try:
            open_project(folder)
        except (Error, OSError):
            continue
        known.add(str(folder.resolve()))



class ProjectsHandler(NeuroHandler):
    """The recorded projects."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self) -> None:
        """Every recorded project, most recently opened first."""
        from ..core.store.projects import list_projects, shared_ids

        await self.run(discover_projects, self.settings.get("server_root_dir"))
        records = await self.run(list_projects)
        root = self.settings.get("server_root_dir")
        same = shared_ids(records)
        self.reply({"projects": [project_json(r, root, same[r.pk]) for r in records]})


class ProjectHandler(NeuroHandler):
    """One project."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, pk: str) -> None:
        """The project with key ``pk``."""
        from ..core.store.projects import get_project, list_projects, shared_ids

        record = await self.run(get_project, _parse_pk(pk))
        records = await self.run(list_projects)
        self.reply(project_json(record, self.settings.get("server_root_dir"),
                                shared_ids(records).get(record.pk)))


# --- live jobs ------------------------------------------------------------------------------


def _suffix(body: Mapping[str, Any]) -> str:
    suffix = body.get("suffix") or ""
    if not isinstance(suffix, str):
        raise InvalidInputError("'suffix' must be a string")
    return suffix


class JobsHandler(NeuroHandler):
    """A project's live jobs."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, pk: str) -> None:
        """The project's live jobs (ps rows: every live.yml job and every suffix that ran)."""
        from ..core.live.jsonview import job_rows_json

        _, project = await self.project(pk)
        self.reply(await self.run(job_rows_json, project, self.base_url))


class JobActionHandler(NeuroHandler):
    """Start or kill a live job of a project."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def post(self, pk: str, job_id: str, action: str) -> None:
        """``start``: body ``{"suffix", "params": {name: value}, "args": [...], "backend",
        "ray_address"}``; ``kill``: body ``{"suffix"}``."""
        _, project = await self.project(pk)
        body = self.body()
        suffix = _suffix(body)
        if action == "kill":
            from ..core.live import kill_job

            messages = await self.run(kill_job, project, job_id, suffix)
            self.reply({"messages": list(messages)})
            return
        params = body.get("params") or {}
        if not isinstance(params, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()
        ):
            raise InvalidInputError("'params' must map names to strings")
        args = body.get("args") or []
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise InvalidInputError("'args' must be a list of strings")
        backend, address = body.get("backend"), body.get("ray_address")
        if not isinstance(backend, (str, type(None))) or not isinstance(address, (str, type(None))):
            raise InvalidInputError("'backend' and 'ray_address' must be strings")
        from ..core.live import run_job
        from ..core.live.jsonview import job_json

        result = await self.run(
            run_job, project, job_id, suffix=suffix or None, params=params, args=tuple(args),
            detach=True, server_base=self.base_url, backend=backend or None,
            ray_address=address or None,
        )
        job = job_json(result.record, self.base_url)
        if result.started:
            self.reply(job, 201)
        else:  # it runs (or waits) already: a clash, with the run it clashes with
            message = f"Job {result.record.label} is already {result.record.status}"
            self.reply({"message": message, "reason": "Conflict", "job": job}, 409)


class JobHandler(NeuroHandler):
    """One run of a live job."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, raw_id: str) -> None:
        """The run ``raw_id`` with the link to its web UI (through the proxy) while it runs."""
        from ..core.live import get_job
        from ..core.live.jsonview import job_json

        record = await self.run(get_job, raw_id)
        self.reply(job_json(record, self.base_url))


class RunningHandler(NeuroHandler):
    """What runs now, in every project."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self) -> None:
        """The pending and running jobs of every project, each with its ``project``."""
        from ..core.live.jsonview import running_json

        self.reply(await self.run(running_json, self.base_url))


def _read_log_page(raw_id: str, offset: int, limit: int | None) -> dict[str, Any]:
    from ..core.live import get_job, log_page

    return dataclasses.asdict(log_page(get_job(raw_id), offset, limit))


class JobLogHandler(NeuroHandler):
    """A page of a job's log."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, raw_id: str) -> None:
        """``?offset=&limit=`` in bytes; a negative offset reads the last ``-offset`` bytes."""
        offset = self.int_arg("offset", *OFFSETS, default=0) or 0
        limit = self.int_arg("limit", 0, MAX_LOG_PAGE, default=MAX_LOG_PAGE)
        self.reply(await self.run(_read_log_page, raw_id, offset, limit))


# --- bakes ----------------------------------------------------------------------------------


def attempt_json(attempt: Any) -> dict[str, Any]:
    """An attempt for the API."""
    names = ("number", "result", "reason", "from_failed", "created_at", "finished_at")
    return {name: to_json(getattr(attempt, name)) for name in names}


def bake_json(bake: Any) -> dict[str, Any]:
    """A bake for the API, with the result of its last attempt as ``status``."""
    names = ("bake_id", "project_pk", "batch", "name", "tags", "params", "backend", "created_at")
    data = {name: to_json(getattr(bake, name)) for name in names}
    last = bake.last_attempt
    data["status"] = last.result if last else "pending"
    data["attempt"] = last.number if last else None
    from ..core.live.jsonview import backend_json

    data.update(backend_json(bake.backend))
    return data


@dataclasses.dataclass(frozen=True)
class Server:
    """What links need of this server: its base URL and the folder it serves."""

    base_url: str
    root_dir: str | None


def task_json(task: Any, notebook: dict[str, Any] | None = None) -> dict[str, Any]:
    """A task of an attempt for the API (no log paths or process ids), with its executed
    notebook: None, or ``{"path", "lab_url", "html_url"}``."""
    return {  # field by field, not through ``to_json``: 10,000 tasks in one answer
        "full_id": task.full_id, "status": task.status, "kind": task.kind, "title": task.title,
        "needs": dict(task.needs), "matrix_group": task.matrix_group, "raw_id": task.raw_id,
        "exit_code": task.exit_code, "reason": task.reason, "outputs": dict(task.outputs),
        "created_at": task.created_at, "started_at": task.started_at,
        "finished_at": task.finished_at, "notebook": notebook,
    }


def _notebook(state: Any, task: Any, server: Server | None) -> dict[str, Any] | None:
    from ..core.notebooks.links import notebook_json

    if not task.notebook or state.root is None or server is None:
        return None
    return notebook_json(state.root, task, pk=state.bake.project_pk, base_url=server.base_url,
                         root_dir=server.root_dir)


def state_json(state: Any, attempts: list[Any], server: Server | None = None) -> dict[str, Any]:
    """A bake's state (one attempt, its tasks and edges) for the API."""
    return {
        "bake": bake_json(state.bake),
        "attempt": attempt_json(state.attempt),
        "attempts": [attempt_json(a) for a in attempts],
        "tasks": [task_json(t, _notebook(state, t, server)) for t in state.tasks],
        "edges": [list(edge) for edge in state.edges],
    }


def _bake_state(project: Any, bake_ref: str, attempt: int | None, server: Server | None = None
                ) -> dict[str, Any]:
    from ..core.bake import inspect_bake, list_attempts, resolve_bake

    bake = resolve_bake(project, bake_ref)
    state = inspect_bake(project, bake, attempt)
    return state_json(state, list_attempts(project, bake), server)


class BakesHandler(NeuroHandler):
    """A project's bakes."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, pk: str) -> None:
        """The project's bakes, newest first."""
        from ..core.bake import list_bakes

        _, project = await self.project(pk)
        bakes = await self.run(list_bakes, project)
        self.reply({"bakes": [bake_json(b) for b in bakes]})


class BakeHandler(NeuroHandler):
    """One bake: an attempt with its tasks and graph edges."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, pk: str, bake: str) -> None:
        """``?attempt=n`` (default: the last attempt)."""
        attempt = self.int_arg("attempt", *ATTEMPTS)
        _, project = await self.project(pk)
        self.reply(await self.run(_bake_state, project, bake, attempt, self.server))


def _task_log(project: Any, bake_ref: str, task: str, attempt: int | None, raw: bool,
              limit: int) -> dict[str, Any]:
    from ..core.bake import inspect_bake, resolve_bake
    from ..core.bake.render import show_task

    state = inspect_bake(project, resolve_bake(project, bake_ref), attempt)
    shown = show_task(state, task, raw=raw, limit=limit)
    return {"task": task, "attempt": attempt, "header": shown.header, "text": shown.log}


class TaskLogHandler(NeuroHandler):
    """The log of one task of a bake."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, pk: str, bake: str, task: str) -> None:
        """``?attempt=n`` (default: the last), ``?raw=true`` keeps workflow command lines,
        ``?limit=`` characters from the log's end (at most a page; the text then starts with a
        line saying what was left out)."""
        attempt = self.int_arg("attempt", *ATTEMPTS)
        raw = self.bool_arg("raw")
        limit = self.int_arg("limit", 0, MAX_LOG_PAGE, default=TASK_LOG_LIMIT) or 0
        _, project = await self.project(pk)
        self.reply(await self.run(_task_log, project, bake, task, attempt, raw, limit))


def _notebook_html(project: Any, bake_ref: str, task_id: str, attempt: int | None) -> str:
    from ..core.bake import find_task, inspect_bake, resolve_bake
    from ..core.notebooks.html import notebook_html
    from ..core.notebooks.links import task_notebook

    state = inspect_bake(project, resolve_bake(project, bake_ref), attempt)
    task = find_task(state, task_id)
    where = f"task {task.full_id} of bake {state.bake.bake_id} (attempt #{state.attempt.number})"
    found = task_notebook(project.root, task)
    if found is None:
        raise NotFoundError(f"The {where} wrote no executed notebook in the project")
    if not found.exists:
        raise NotFoundError(f"The executed notebook of the {where}, {found.path}, is not in "
                            "the project on this machine")
    return notebook_html(found.absolute)


class TaskNotebookHandler(NeuroHandler):
    """A task's executed notebook as an HTML page in which no script runs."""

    @property
    def content_security_policy(self) -> str:
        from ..core.notebooks.html import CONTENT_SECURITY_POLICY

        return CONTENT_SECURITY_POLICY

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, pk: str, bake: str, task: str) -> None:
        """``?attempt=n`` (default: the last)."""
        attempt = self.int_arg("attempt", *ATTEMPTS)
        _, project = await self.project(pk)
        page = await self.run(_notebook_html, project, bake, task, attempt)
        self.finish(page, set_content_type="text/html; charset=utf-8")


def _graph(project: Any, bake_ref: str, attempt: int | None, fmt: str, server: Server,
           known: str = "") -> bytes:
    from ..core.bake import inspect_bake, list_attempts, resolve_bake
    from ..core.graph import render, to_dot

    bake = resolve_bake(project, bake_ref)
    state = inspect_bake(project, bake, attempt)
    if fmt == "json":
        from ..core.graph_data import graph_data

        data = graph_data(state, list_attempts(project, bake),
                          notebook_of=lambda task: _notebook(state, task, server),
                          known_key=known)
        return json.dumps(data, separators=(",", ":")).encode("utf-8")
    dot = to_dot(state)
    return dot.encode("utf-8") if fmt == "dot" else render(dot, "svg")


class GraphHandler(NeuroHandler):
    """A bake attempt's graph as DOT or SVG coloured by task state, or as data (JSON)."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, pk: str, bake: str, fmt: str) -> None:
        """``?attempt=n`` (default: the last attempt); graph.json's ``?known=KEY``: the
        browser has the structure of that key (then only ``{"key"}`` is sent while it holds)."""
        attempt = self.int_arg("attempt", *ATTEMPTS)
        known = self.get_argument("known", "")[:200]
        _, project = await self.project(pk)
        data = await self.run(_graph, project, bake, attempt, fmt, self.server, known)
        kind = {
            "svg": "image/svg+xml",
            "dot": "text/vnd.graphviz; charset=utf-8",
            "json": "application/json",
        }[fmt]
        self.finish(data, set_content_type=kind)


def _bake_action(project: Any, bake_ref: str, action: str, body: Mapping[str, Any],
                 server: Server) -> dict[str, Any]:
    from ..core.bake import cancel_bake, resolve_bake, restart_bake

    attempt = body.get("attempt")
    if attempt is not None and (not isinstance(attempt, int) or isinstance(attempt, bool)
                                or not ATTEMPTS[0] <= attempt <= ATTEMPTS[1]):
        raise InvalidInputError(f"'attempt' must be an integer from {ATTEMPTS[0]} to "
                                f"{ATTEMPTS[1]}")
    bake = resolve_bake(project, bake_ref)
    if action == "cancel":
        cancel_bake(project, bake, attempt)
        return _bake_state(project, bake.bake_id, attempt, server)
    from_failed = body.get("from_failed", True)
    if not isinstance(from_failed, bool):
        raise InvalidInputError("'from_failed' must be true or false")
    new = restart_bake(project, bake, attempt=attempt, from_failed=from_failed)
    return _bake_state(project, bake.bake_id, new.number, server)


class BakeActionHandler(NeuroHandler):
    """Cancel or restart a bake."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def post(self, pk: str, bake: str, action: str) -> None:
        """``cancel``: body ``{"attempt"}``; ``restart``: ``{"attempt", "from_failed"}``."""
        _, project = await self.project(pk)
        body = self.body()
        state = await self.run(_bake_action, project, bake, action, body, self.server)
        self.reply(state, 201 if action == "restart" else 200)


class UnknownRouteHandler(NeuroHandler):
    """Any other path under the API: a JSON 404 instead of Jupyter's HTML page."""

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, path: str) -> None:
        raise NotFoundError(f"No API route {self.request.path!r}; see neuro_jupyter.server.handlers")

    post = get


# --- routes ---------------------------------------------------------------------------------

_PK = r"(?P<pk>[^/]+)"
_BAKE = _PK + r"/bakes/(?P<bake>[^/]+)"

ROUTES: list[tuple[str, type[NeuroHandler]]] = [
    (r"projects", ProjectsHandler),
    (rf"projects/{_PK}", ProjectHandler),
    (rf"projects/{_PK}/jobs", JobsHandler),
    (rf"projects/{_PK}/jobs/(?P<job_id>[^/]+)/(?P<action>start|kill)", JobActionHandler),
    (r"running", RunningHandler),
    (r"jobs/(?P<raw_id>[^/]+)", JobHandler),
    (r"jobs/(?P<raw_id>[^/]+)/log", JobLogHandler),
    (rf"projects/{_PK}/bakes", BakesHandler),
    (rf"projects/{_BAKE}", BakeHandler),
    (rf"projects/{_BAKE}/tasks/(?P<task>[^/]+)/log", TaskLogHandler),
    (rf"projects/{_BAKE}/tasks/(?P<task>[^/]+)/notebook\.html", TaskNotebookHandler),
    (rf"projects/{_BAKE}/graph\.(?P<fmt>dot|svg|json)", GraphHandler),
    (rf"projects/{_BAKE}/(?P<action>cancel|restart)", BakeActionHandler),
]


def setup_handlers(web_app: Any) -> None:
    """Add the routes under ``<base_url>neuro-jupyter/api/``."""
    base_url = web_app.settings.get("base_url", "/")
    handlers: list[tuple[str, type[NeuroHandler]]] = [
        (url_path_join(base_url, NAMESPACE, path) + "/?$", cls) for path, cls in ROUTES
    ]
    handlers.append((url_path_join(base_url, NAMESPACE, "(?P<path>.*)"), UnknownRouteHandler))
    web_app.add_handlers(".*$", handlers)
