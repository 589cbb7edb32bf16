"""The notebook jobs panel (``%neuro_panel``): an anywidget over the same browser code as the
sidebar's job views (``labextension/src/jobs/``, bundled into ``static/jobs_panel.js``).

Its browser side reads and acts through the server extension's REST API when the Jupyter
server has it (and the same store): the panel then outlives its kernel. Without it, the browser
asks this object over the widget's comm (``handle`` below: the same JSON as the REST API), and
says it is disconnected once the kernel has gone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..core.errors import ConflictError, NeuroJupyterError, NotFoundError, http_status
from ..core.live import get_job, kill_job, log_page, ps_page, ps_text, run_job, server_base_url
from ..core.live.jsonview import job_json, job_rows_json
from ..core.project.discovery import Project
from ..core.store.projects import project_pk

STATIC = Path(__file__).parent / "static"
REFRESH_MS = 3000

_MISSING = """export default { render({ el }) {
  el.textContent = "neuro-jupyter's notebook panel was not built (widgets/static/jobs_panel.js "
    + "is missing): reinstall the package, or run `jlpm build` in labextension/.";
} };
"""


def _asset(name: str, fallback: str) -> Path | str:
    """A bundled front-end file, or ``fallback`` text when the build did not make it."""
    path = STATIC / name
    return path if path.is_file() else fallback


class JobsPanel(anywidget.AnyWidget):
    """The live jobs of ``project`` with Start / Stop / Open / details, following the store."""

    _esm = _asset("jobs_panel.js", _MISSING)
    _css = _asset("jobs_panel.css", "")

    project_pk = traitlets.Int().tag(sync=True)
    project_name = traitlets.Unicode().tag(sync=True)
    project_root = traitlets.Unicode().tag(sync=True)
    base_url = traitlets.Unicode("").tag(sync=True)  # the server's, to reach its REST API
    snapshot = traitlets.Dict().tag(sync=True)  # the rows when shown: the first paint
    interval_ms = traitlets.Int(REFRESH_MS).tag(sync=True)

    def __init__(self, project: Project, *, interval: float = REFRESH_MS / 1000, **kwargs: Any) -> None:
        self.project = project
        self._base = server_base_url(project.root)
        super().__init__(
            project_pk=project_pk(project), project_name=project.name,
            project_root=str(project.root), base_url=self._base or "",
            snapshot=self._rows(), interval_ms=int(interval * 1000), **kwargs,
        )
        self.on_msg(self._on_msg)

    def __repr__(self) -> str:
        """The jobs as ``%neuro_ps`` prints them: what a front end without widgets shows."""
        page = ps_page(self.project)
        return f"Live jobs of {self.project.name}\n" + ps_text(page.rows, self._base)

    def _rows(self) -> dict[str, Any]:
        try:
            return job_rows_json(self.project, self._base)
        except NeuroJupyterError as exc:
            return {"jobs": [], "warning": str(exc)}

    # -- the browser's requests when the server has no REST API ------------------------------
    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request of the browser side: ``{"op": jobs|job|log|start|kill, ...}`` →
        the REST API's JSON for it, as ``{"ok": ...}`` or ``{"error", "status"[, "body"]}``."""
        try:
            return {"ok": self._answer(request)}
        except _Conflict as exc:
            return {"error": str(exc), "status": 409, "body": {"job": exc.job}}
        except NeuroJupyterError as exc:
            return {"error": str(exc), "status": http_status(exc)}

    def _answer(self, request: dict[str, Any]) -> Any:
        op = request.get("op")
        if op == "jobs":
            return job_rows_json(self.project, self._base)
        if op in ("job", "log"):
            record = get_job(str(request.get("raw_id")))
            if record.project_pk != self.project_pk:
                raise _Unknown(f"Job run {record.raw_id} is not of project {self.project.name}")
            if op == "job":
                return job_json(record, self._base)
            return dataclasses.asdict(log_page(record, int(request.get("offset") or 0),
                                               int(request.get("limit") or 0) or None))
        if op == "start":
            result = run_job(
                self.project, str(request.get("job_id")), suffix=str(request.get("suffix") or "") or None,
                params={str(k): str(v) for k, v in (request.get("params") or {}).items()},
                args=tuple(str(a) for a in request.get("args") or ()),
                detach=True, server_base=self._base,
            )
            job = job_json(result.record, self._base)
            if not result.started:
                raise _Conflict(f"Job {result.record.label} is already {result.record.status}", job)
            return job
        if op == "kill":
            # no wait: the kernel stays free; the panel follows the job until it has ended
            return {"messages": kill_job(self.project, str(request.get("job_id")),
                                         str(request.get("suffix") or ""), wait=False)}
        raise _Unknown(f"Unknown request {op!r}")

    def _on_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("id"), int):
            self.send({"id": content["id"], **self.handle(content)})


class _Unknown(NotFoundError):
    """A request about something this panel does not show."""


class _Conflict(ConflictError):
    """The job runs already (the REST API's 409), with the run it clashes with."""

    def __init__(self, message: str, job: dict[str, Any]) -> None:
        super().__init__(message)
        self.job = job
