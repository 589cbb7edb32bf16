"""A panel of a project's live jobs: status in Neu.ro's colours, Start / Stop / Open / Logs.

It refreshes itself every few seconds while it has a view, through the kernel's asyncio event
loop (display updates from other threads get lost with ipykernel 7).
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

import ipywidgets as widgets

from ..core.errors import NeuroJupyterError
from ..core.live import kill_job, live_url, ps_page, run_job, server_base_url, tail_log
from ..core.live.query import JobRow
from ..core.live.render import humanize, status_badge
from ..core.project.discovery import Project
from ..core.store.jobs import job_label

REFRESH_SECONDS = 3.0
ROWS = 50
LOG_LINES = 40


class JobsPanel(widgets.VBox):
    """The live jobs of ``project`` with buttons; ``refresh()`` re-reads the store."""

    def __init__(self, project: Project, *, interval: float = REFRESH_SECONDS, **kwargs: Any) -> None:
        self.project = project
        self.interval = interval
        self._title = widgets.HTML(f"<b>Live jobs of {html.escape(project.name)}</b>")
        refresh = widgets.Button(description="Refresh", icon="refresh",
                                 layout=widgets.Layout(width="auto"))
        refresh.on_click(lambda _: self.refresh())
        self.message = widgets.HTML("")
        self.table = widgets.VBox([])
        self.log_title = widgets.HTML("")
        self.log_view = widgets.HTML("")
        super().__init__(
            [widgets.HBox([self._title, refresh]), self.message, self.table, self.log_title, self.log_view],
            **kwargs,
        )
        self._view_count = 0  # let ipywidgets count the views, to refresh only while shown
        self._handle: asyncio.TimerHandle | None = None
        self._closed = False
        self._warned = False  # the message shows that live.yml does not load
        self.rows: list[JobRow] = []
        self._log_row: JobRow | None = None  # the row whose log shows
        self._row_views: dict[tuple[str, str], _RowView] = {}
        self.refresh()
        self._schedule()

    # -- state ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the jobs from the store and rebuild the rows."""
        try:
            page = ps_page(self.project, limit=ROWS)
        except NeuroJupyterError as exc:
            self._error(exc)
            return
        self.rows = page.rows
        if page.warning:
            self.message.value = (
                f"<pre style='color:orangered'>{html.escape(page.warning)}</pre>"
            )
        elif self._warned:
            self.message.value = ""
        self._warned = bool(page.warning)
        base = server_base_url(self.project.root)
        keys = [(row.job_id, row.suffix) for row in page.rows]
        for key in set(self._row_views) - set(keys):  # rows gone from this page
            self._row_views.pop(key).close()
        for row in page.rows:
            key = (row.job_id, row.suffix)
            if key not in self._row_views:
                self._row_views[key] = _RowView(self, key)
            self._row_views[key].update(row, base)
        self.table.children = [self._row_views[key].box for key in keys]
        more = page.total - len(page.rows)
        self._title.value = f"<b>Live jobs of {html.escape(self.project.name)}</b>" + (
            f" <small>({more} more: %neuro_ps --page 2)</small>" if more > 0 else ""
        )

    def row(self, key: tuple[str, str]) -> JobRow:
        """The current ps row of (job id, suffix)."""
        return next(r for r in self.rows if (r.job_id, r.suffix) == key)

    def _error(self, exc: NeuroJupyterError) -> None:
        self.message.value = f"<span style='color:orangered'>{html.escape(str(exc))}</span>"

    # -- actions -------------------------------------------------------------------------
    def _act(self, action: Any) -> None:
        try:
            text = action()
        except NeuroJupyterError as exc:
            self._error(exc)
        else:
            self.message.value = html.escape(text)
        self.refresh()

    def start(self, row: JobRow) -> None:
        """Start the row's job (a new suffix for a multi job; its suffix if it has one)."""
        self._act(lambda: run_job(self.project, row.job_id, suffix=row.suffix or None,
                                  detach=True).message)

    def stop(self, row: JobRow) -> None:
        """Ask the row's job to stop; the refresh shows when it has."""
        self._act(lambda: "; ".join(kill_job(self.project, row.job_id, row.suffix, wait=False)))

    def show_logs(self, row: JobRow) -> None:
        """Show the last lines of the row's log."""
        if row.record is None:
            return
        self.log_title.value = f"<b>Log of {html.escape(row.label)}</b> (last lines)"
        self._log_row = row
        self._show_log()

    def _show_log(self) -> None:
        """Show the last lines of the chosen row's log (re-read on every refresh)."""
        row = self._log_row
        if row is not None and row.record is not None:
            self.log_view.value = f"<pre>{html.escape(tail_log(row.record, LOG_LINES))}</pre>"

    # -- self refresh ----------------------------------------------------------------------
    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            try:
                loop = asyncio.get_event_loop_policy().get_event_loop()
            except RuntimeError:  # pragma: no cover - no loop in this thread
                return
        if loop.is_closed():  # e.g. a script whose asyncio.run() ended: no auto-refresh
            return
        self._handle = loop.call_later(self.interval, self._tick)

    def _tick(self) -> None:
        if self._closed:
            return
        if self._view_count is None or self._view_count > 0:
            self.refresh()
            self._show_log()
        self._schedule()

    def close(self) -> None:
        """Stop refreshing and close the widget."""
        self._closed = True
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.cancel()
        for view in getattr(self, "_row_views", {}).values():
            view.close()
        super().close()


class _RowView:
    """The widgets of one ps row, updated in place on refresh (no new widgets every tick)."""

    def __init__(self, panel: JobsPanel, key: tuple[str, str]) -> None:
        self.key = key
        label = job_label(*key)
        self.label = widgets.HTML(f"<code>{html.escape(label)}</code>",
                                  layout=widgets.Layout(width="14em"))
        self.status = widgets.HTML(layout=widgets.Layout(width="7em"))
        self.when = widgets.HTML(layout=widgets.Layout(width="9em"))
        self.start = widgets.Button(description="Start", icon="play", tooltip=f"run {label}",
                                    layout=widgets.Layout(width="auto"))
        self.stop = widgets.Button(description="Stop", icon="stop",
                                   layout=widgets.Layout(width="auto"))
        self.logs = widgets.Button(description="Logs", icon="file-text",
                                   layout=widgets.Layout(width="auto"))
        self.opener = widgets.HTML()
        self.start.on_click(lambda _: panel.start(panel.row(key)))
        self.stop.on_click(lambda _: panel.stop(panel.row(key)))
        self.logs.on_click(lambda _: panel.show_logs(panel.row(key)))
        self.box = widgets.HBox([self.label, self.status, self.when, self.start, self.stop,
                                 self.logs, self.opener])

    def update(self, row: JobRow, base: str | None) -> None:
        record = row.record
        active = bool(record and record.active)
        url = live_url(record, base)
        self.status.value = status_badge(row.status)
        self.when.value = html.escape(humanize(row.when))
        self.start.disabled = active
        self.stop.disabled = not active
        self.logs.disabled = record is None
        self.opener.value = (
            f'<a href="{html.escape(url)}" target="_blank" rel="noopener" '
            f'class="jupyter-button mod-info" style="padding:0 1em;text-decoration:none">Open</a>'
            if url else ""
        )

    def close(self) -> None:
        for child in self.box.children:
            child.close()
        self.box.close()
