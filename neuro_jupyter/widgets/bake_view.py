"""The live bake view: an anywidget over ``core.bake`` state (graph, progress, tasks, logs).

It polls the store from an asyncio task on the kernel's own event loop (no threads: with
ipykernel ≥ 7, widget updates from threads get lost) and stops once the attempt has finished.
Only small, changed traits are sent: the layout once, then a list of statuses per poll.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..core.bake import BakeRecord, BakeState, inspect_bake, resolve_bake
from ..core.bake.render import show_task
from ..core.errors import NeuroJupyterError
from ..core.graph import STATUS_COLORS
from ..core.graph_layout import Layout, layout, task_nodes
from ..core.workflow.model import FINISHED_STATUSES

if TYPE_CHECKING:
    from ..core.project.discovery import Project

LOG_LIMIT = 50_000
_HERE = Path(__file__).parent


class BakeView(anywidget.AnyWidget):
    """A bake's attempt, live: task graph coloured by status, progress, table and task logs."""

    _esm = _HERE / "bake_view.js"
    _css = _HERE / "bake_view.css"

    bake_id = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    result = traitlets.Unicode("").tag(sync=True)
    reason = traitlets.Unicode("").tag(sync=True)
    graph = traitlets.Dict().tag(sync=True)
    statuses: traitlets.List[str] = traitlets.List().tag(sync=True)
    tasks: traitlets.List[list[Any]] = traitlets.List().tag(sync=True)
    progress = traitlets.List([0, 0]).tag(sync=True)
    collapsed = traitlets.Bool(False).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    log = traitlets.Unicode("").tag(sync=True)
    colors = traitlets.Dict(dict(STATUS_COLORS)).tag(sync=True)

    def __init__(
        self, project: Project, bake: BakeRecord | str, *, attempt: int | None = None,
        interval: float = 0.5, follow: bool = True, **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._project = project
        self._bake = resolve_bake(project, bake) if isinstance(bake, str) else bake
        self._attempt = attempt
        self._interval = interval
        self._layout: Layout | None = None
        self._shape: tuple[tuple[str, ...], bool] | None = None
        self._state: BakeState | None = None
        self._task: asyncio.Task[None] | None = None
        self.bake_id = self._bake.bake_id
        self.observe(self._on_collapsed, names="collapsed")
        self.observe(self._on_selected, names="selected")
        self.refresh()
        if follow and not self.finished:
            self.follow()

    def __repr__(self) -> str:
        """One line of state: what a terminal or a text-only notebook viewer shows."""
        done, total = self.progress
        name = self._bake.name or self._bake.batch
        number = self._state.attempt.number if self._state else 1
        return (f"BakeView({self.bake_id!r}): {name} attempt #{number} {self.result}, "
                f"{done}/{total} tasks finished")

    @property
    def finished(self) -> bool:
        return self._state is not None and self._state.finished

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
        """Refresh every ``interval`` seconds until the attempt has finished."""
        while True:
            await asyncio.sleep(self._interval)
            if self.comm is None:  # the view was closed
                return
            try:
                self.refresh()
            except NeuroJupyterError as exc:  # e.g. a full disk: say so, keep watching
                self.reason = str(exc)
                continue
            if self.finished:
                return

    def refresh(self) -> None:
        """Read the attempt's state from the store and update the traits that changed."""
        state = inspect_bake(self._project, self._bake, self._attempt)
        self._state = state
        att = state.attempt
        name = f" {state.bake.name}" if state.bake.name else ""
        self.title = f"Bake{name} {state.bake.bake_id} ({state.bake.batch}), attempt #{att.number}"
        self.result = att.result
        self.reason = att.reason
        status_of = {task.full_id: task.status for task in state.tasks}
        shape = (tuple(status_of), self.collapsed)
        if shape != self._shape or self._layout is None:
            self._layout = layout(task_nodes(state.tasks), collapse=self.collapsed)
            self._shape = shape
            self.graph = self._layout.to_json()
        self.statuses = self._layout.statuses(status_of)
        self.tasks = [
            [task.full_id, task.status, task.raw_id, task.started_at, task.finished_at]
            for task in state.tasks
        ]
        finished = sum(1 for task in state.tasks if task.status in FINISHED_STATUSES)
        self.progress = [finished, len(state.tasks)]
        if self.selected:
            self._load_log()

    def _on_collapsed(self, change: dict[str, Any]) -> None:
        self._shape = None
        self.refresh()

    def _on_selected(self, change: dict[str, Any]) -> None:
        self._load_log()

    def _load_log(self) -> None:
        if self._state is None or not self.selected:
            self.log = ""
            return
        if any(task.full_id == self.selected for task in self._state.tasks):
            self.log = show_task(self._state, self.selected, limit=LOG_LIMIT).text
            return
        group = [t for t in self._state.tasks if t.matrix_group == self.selected]
        self.log = "\n".join(f"{t.full_id}: {t.status}" for t in group)
