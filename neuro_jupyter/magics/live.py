"""Live-job magics: ``%neuro_run``, ``%neuro_ps``, ``%neuro_logs``, ``%neuro_status``,
``%neuro_kill`` and ``%neuro_panel``, on the current project (or ``--project DIR``).

Thin views over ``neuro_jupyter.core.live``. They never block the kernel on a job: ``run``
starts it (or finds it running) and returns; only ``%neuro_logs -f`` streams, until the job ends
or the cell is interrupted.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from ..arguments import add_job_arguments, add_ps_arguments, add_run_arguments
from ._common import current_project, friendly_errors, magic_parser, parse_line

RUN = magic_parser("%neuro_run", "Run a live job, or show it if it runs already.")
add_run_arguments(RUN)

PS = magic_parser("%neuro_ps", "The project's live jobs.")
add_ps_arguments(PS)

LOGS = magic_parser("%neuro_logs", "A job's log.")
add_job_arguments(LOGS)
LOGS.add_argument("-f", "--follow", action="store_true", help="stream until the job ends")

STATUS = magic_parser("%neuro_status", "A job's status.")
add_job_arguments(STATUS)

KILL = magic_parser("%neuro_kill", "Stop a job, or ALL running jobs of the project.")
add_job_arguments(KILL, kill=True)

PANEL = magic_parser("%neuro_panel", "A panel of the project's live jobs.")


@dataclass(frozen=True)
class LiveView:
    """Output of a live magic: HTML in notebooks, plain text elsewhere."""

    text: str
    html: str

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.html


@magics_class
class LiveMagics(Magics):
    """Run and watch the live jobs of ``.neuro/live.yml`` on this machine."""

    @line_magic
    @friendly_errors
    def neuro_run(self, line: str) -> LiveView | None:
        """``%neuro_run JOB [SUFFIX] [-s SUFFIX] [-p NAME VALUE]... [-- ARGS]``."""
        from ..core.live import run_html, run_job, run_text, server_base_url, suffix_and_args

        args = parse_line(RUN, line)
        project = current_project(args.project)
        suffix, extra = suffix_and_args(args.suffix, args.extra)
        result = run_job(project, args.job, suffix=suffix, params=dict(args.param),
                         args=extra, detach=True, backend=args.backend,
                         ray_address=args.ray_address)
        base = server_base_url(project.root)
        hints = {"logs": f"%neuro_logs {result.record.label} -f",
                 "stop": f"%neuro_kill {result.record.label}"}
        return LiveView(run_text(result, base, **hints), run_html(result, base, **hints))

    @line_magic
    @friendly_errors
    def neuro_ps(self, line: str = "") -> LiveView:
        """``%neuro_ps``: JOB, STATUS, RAW ID, WHEN (and URL) of the project's live jobs."""
        from ..core.live import ps_html, ps_page, ps_text, server_base_url

        args = parse_line(PS, line)
        project = current_project(args.project)
        page = ps_page(project, limit=args.limit, page=args.page)
        if page.warning:
            print(f"Warning: {page.warning}", file=sys.stderr)
        footer = page.footer("%neuro_ps")
        base = server_base_url(project.root)
        return LiveView(ps_text(page.rows, base, footer=footer), ps_html(page.rows, base, footer=footer))

    @line_magic
    @friendly_errors
    def neuro_logs(self, line: str) -> None:
        """``%neuro_logs JOB [SUFFIX] [-f]``: print the log; ``-f`` streams until the job ends."""
        from ..core.live import job_status, log_text, stream_log

        args = parse_line(LOGS, line)
        record = job_status(current_project(args.project), args.job, args.suffix)
        if not args.follow:
            text, note = log_text(record)
            sys.stdout.write(text)
            if note:
                print(note, file=sys.stderr)
            return
        try:
            stream_log(record, sys.stdout)
        except KeyboardInterrupt:
            print(f"\n(stopped following {record.label}; the job goes on)")

    @line_magic
    @friendly_errors
    def neuro_status(self, line: str) -> LiveView:
        """``%neuro_status JOB [SUFFIX]``."""
        from ..core.live import job_status, server_base_url, status_html, status_text

        args = parse_line(STATUS, line)
        project = current_project(args.project)
        record = job_status(project, args.job, args.suffix)
        base = server_base_url(project.root)
        return LiveView(status_text(record, base), status_html(record, base))

    @line_magic
    @friendly_errors
    def neuro_kill(self, line: str) -> None:
        """``%neuro_kill JOB [SUFFIX]`` or ``%neuro_kill ALL``."""
        from ..core.live import kill_job

        args = parse_line(KILL, line)
        for message in kill_job(current_project(args.project), args.job, args.suffix):
            print(message)

    @line_magic
    @friendly_errors
    def neuro_panel(self, line: str = "") -> Any:
        """``%neuro_panel``: the project's live jobs with Start/Stop/Open/Logs, refreshing itself."""
        from ..widgets.jobs_panel import JobsPanel

        args = parse_line(PANEL, line)
        return JobsPanel(current_project(args.project))
