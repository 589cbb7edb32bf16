"""The live bake view: an anywidget over ``core.bake`` state, drawn by the same graph component
as the JupyterLab sidebar (``labextension/src/graph``, bundled into ``static/bake_view.js``).

The browser side follows the store through the server extension's REST API when the Jupyter
server has it, so the view outlives its kernel; it tells the kernel so (``remote``), and the
kernel then stops polling. Otherwise the kernel polls the store from an asyncio task on its
own event loop (no threads: with ipykernel ≥ 7, widget updates from threads get lost) until
the attempt has finished, sending the graph's structure when tasks appear and the tasks'
state on every change. Logs are asked for with custom messages.

The tasks' state goes in full (the ``state`` trait: what a view drawn later, or after a page
reload, starts from) at first, when tasks appear, when a quarter of them changed and when the
attempt ends; in between, a ``tasks`` message carries only the tasks that changed since that
full state, so that a 10,000-task bake does not send its whole state twice a second. Polling
slows down to keep the kernel mostly free when reading a large bake takes long.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..core.bake import (
    BakeRecord,
    BakeState,
    TaskRecord,
    inspect_bake,
    list_attempts,
    resolve_bake,
)
from ..core.bake.follow import AttemptFollower
from ..core.bake.render import show_task
from ..core.errors import NeuroJupyterError
from ..core.graph_data import changed_tasks, graph_data, graph_structure
from ..core.notebooks.links import notebook_json
from ..core.store.projects import project_pk
from ..core.workflow.model import FINISHED_STATUSES

if TYPE_CHECKING:
    from ..core.project.discovery import Project

LOG_LIMIT = 50_000
FULL_STATE_SHARE = 4  # the whole state is sent again once 1/4 of the tasks changed
BUSY_SHARE = 4  # the kernel waits 4 times as long as a refresh took before the next
STATIC = Path(__file__).parent / "static"
BUNDLE = STATIC / "bake_view.js"


def _bundle() -> Path:
    """The widget's ES module; a clear error when the labextension was never built."""
    if not BUNDLE.is_file():
        raise NeuroJupyterError(
            f"The bake view's script {BUNDLE} is missing: it is built with the labextension "
            "(`pip install .`, or `jlpm build` in labextension/)."
        )
    return BUNDLE


class BakeView(anywidget.AnyWidget):
    """A bake's attempt, live: task graph coloured by status, progress, table and task logs."""

    # built with the labextension; without it the class still loads and __init__ says why
    _esm = BUNDLE if BUNDLE.is_file() else ""
    _css = STATIC / "bake_view.css" if BUNDLE.is_file() else ""

    pk = traitlets.Int(0).tag(sync=True)
    bake_id = traitlets.Unicode("").tag(sync=True)
    attempt = traitlets.Int(0).tag(sync=True)  # 0: the last attempt
    structure = traitlets.Dict().tag(sync=True)
    state = traitlets.Dict().tag(sync=True)
    remote = traitlets.Bool(False).tag(sync=True)  # the browser follows through REST

    def __init__(
        self, project: Project, bake: BakeRecord | str, *, attempt: int | None = None,
        interval: float = 0.5, follow: bool = True, **kwargs: Any,
    ) -> None:
        _bundle()
        super().__init__(**kwargs)
        self._project = project
        self._bake = resolve_bake(project, bake) if isinstance(bake, str) else bake
        self._attempt = attempt
        self._interval = interval
        self._state: BakeState | None = None
        self._follower = AttemptFollower(self._bake.bake_id, attempt, project.root,
                                         watch=False)  # it polls: no pidfd held
        self._shown = -1  # tasks in the structure sent
        self._shapes: dict[str, tuple[str, str]] = {}  # kind and title of each task sent
        self._task: asyncio.Task[None] | None = None
        self._server: tuple[str, str | None] | None = None  # base URL, root folder
        self._changes: dict[str, Any] | None = None  # the last ``tasks`` message
        self._cost = 0.0  # seconds the last refresh took
        self.pk = project_pk(project)
        self.bake_id = self._bake.bake_id
        self.attempt = attempt or 0
        self.observe(self._on_remote, names="remote")
        self.on_msg(self._on_msg)
        self.refresh()
        if follow and not self.finished:
            self.follow()

    def __repr__(self) -> str:
        """One line of state (what a terminal or a text-only viewer shows), saying when it was
        true and how to see the bake again, since a saved copy of it never changes."""
        done, total = self.progress
        name = self._bake.name or self._bake.batch
        number = self._state.attempt.number if self._state else 1
        at = time.strftime("%H:%M:%S")
        return (f"BakeView({self.bake_id!r}): {name} attempt #{number} {self.result}, "
                f"{done}/{total} tasks finished at {at}; "
                f"%neuro_inspect {self._bake.name or self.bake_id} shows it again")

    @property
    def finished(self) -> bool:
        return self._state is not None and self._state.finished

    @property
    def result(self) -> str:
        """The attempt's result as last read."""
        return self._state.attempt.result if self._state else "pending"

    @property
    def progress(self) -> tuple[int, int]:
        """Finished tasks and all tasks, as last read."""
        tasks = self._state.tasks if self._state else []
        return sum(1 for t in tasks if t.status in FINISHED_STATUSES), len(tasks)

    def follow(self) -> bool:
        """Poll on the running event loop until the attempt finishes; False without a loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._task is None or self._task.done():
            self._task = loop.create_task(self.poll())
        return True

    async def poll(self) -> None:
        """Refresh every ``interval`` seconds (longer when a refresh takes long) until the
        attempt has finished, or until the browser follows the store itself (``remote``)."""
        while True:
            await asyncio.sleep(max(self._interval, BUSY_SHARE * self._cost))
            if self.comm is None or self.remote:  # closed, or followed through the server
                return
            try:
                self.refresh()
            except NeuroJupyterError as exc:  # e.g. a full disk: say so, keep watching
                self._say(f"Cannot follow the bake now: {exc}")
                continue
            if self.finished:
                return

    def refresh(self) -> None:
        """Read what changed in the attempt since the last refresh (``AttemptFollower``) and
        send it; the graph's structure is built again only when tasks were added or named."""
        started = time.monotonic()
        state = self._follower.read()
        self._state = state
        shapes = {t.full_id: (t.kind, t.title) for t in state.changed}
        if len(state.tasks) != self._shown or any(
                self._shapes.get(fid, shape) != shape for fid, shape in shapes.items()):
            structure = graph_structure(state.tasks)
            if structure.get("key") != self.structure.get("key"):
                self.structure = structure
        self._shown = len(state.tasks)
        self._shapes.update(shapes)
        data = graph_data(state, list_attempts(self._project, self._bake),
                          notebook_of=self._notebook, structure=False)
        self._send_state(data)
        self._cost = time.monotonic() - started

    def _send_state(self, data: dict[str, Any]) -> None:
        """The whole state (a new ``snapshot``), or the tasks changed since the last one."""
        base = self.state
        changed = None if self.finished or not base else changed_tasks(base["tasks"], data["tasks"])
        many = FULL_STATE_SHARE * len(changed or ()) >= len(data["tasks"]["status"])
        if changed is None or (changed and many):
            self._changes = None
            self.state = {**data, "snapshot": int(base.get("snapshot", 0)) + 1}
            return
        if not changed and self._changes is None:
            return  # nothing changed since the whole state
        tasks = data["tasks"]
        message = {
            "type": "tasks", "snapshot": base["snapshot"], "index": changed,
            "tasks": {name: [column[i] for i in changed] for name, column in tasks.items()},
            **{key: data[key] for key in ("bake", "attempt", "attempts")},
        }
        if message != self._changes:
            self._changes = message
            self.send(message)

    def _notebook(self, task: TaskRecord) -> dict[str, Any] | None:
        """The task's executed notebook, linked through the Jupyter server that runs this
        kernel when one is found (as for live jobs' links), else by path alone."""
        if not task.notebook or self._state is None:
            return None
        if self._server is None:
            from ..core.live.urls import jupyter_server

            info = jupyter_server(self._project.root) or {}
            root = info.get("root_dir") or info.get("notebook_dir")
            self._server = (str(info.get("base_url") or ""), str(root) if root else None)
        base_url, root_dir = self._server
        found = notebook_json(self._project.root, task, pk=self._state.bake.project_pk,
                              base_url=base_url or "/", root_dir=root_dir)
        if found is not None and not base_url:
            found["lab_url"] = found["html_url"] = None  # no Jupyter server to serve them
        return found

    def _say(self, message: str) -> None:
        """Show ``message`` where the view shows the attempt's reason (the state is kept)."""
        state = dict(self.state)
        state["attempt"] = {**state.get("attempt", {}), "reason": message}
        self.state = state

    def _on_remote(self, change: dict[str, Any]) -> None:
        if not change["new"] and not self.finished:
            self.follow()  # the browser lost the server: the kernel follows again

    def _on_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        """Answer ``{"type": "log", "id", "task", "attempt"}`` with the task's header and log,
        and ``{"type": "tasks"}`` (a view drawn since) with the tasks changed since the last
        whole state."""
        if not isinstance(content, dict):
            return
        if content.get("type") == "tasks":
            if self._changes is not None:
                self.send(self._changes)
            return
        if content.get("type") != "log":
            return
        reply: dict[str, Any] = {"type": "log", "id": content.get("id")}
        try:
            attempt = content.get("attempt") or self._attempt
            state = inspect_bake(self._project, self._bake, attempt)
            shown = show_task(state, str(content.get("task")), limit=LOG_LIMIT)
            reply.update(header=shown.header, text=shown.log)
        except NeuroJupyterError as error:
            reply["error"] = str(error)
        self.send(reply)
