"""Live jobs on this machine: run, ps, logs, status, kill (neuro-flow's live mode, §1.8).

Every front end (magics, CLI, panel widget, REST) calls these functions; a job is a supervised
detached process recorded in the store, so it outlives the kernel that started it.
"""

from __future__ import annotations

from .control import kill_job
from .logs import (
    LogPage,
    follow_log,
    log_page,
    log_text,
    missing_log_note,
    read_log,
    stream_log,
    tail_log,
)
from .query import JobRow, PsPage, get_job, job_status, list_jobs, ps_page
from .render import STATUS_COLOURS, ps_html, ps_text, run_html, run_text, status_html, status_text
from .runner import RunResult, run_job, suffix_and_args
from .urls import browse_url, live_url, server_base_url, server_url

__all__ = [
    "STATUS_COLOURS", "JobRow", "LogPage", "PsPage", "RunResult", "browse_url", "follow_log",
    "get_job", "job_status", "kill_job", "list_jobs", "live_url", "log_page", "log_text", "ps_html", "ps_page", "ps_text",
    "missing_log_note", "read_log", "run_html", "run_job", "run_text", "server_base_url", "server_url",
    "status_html", "status_text", "stream_log", "suffix_and_args", "tail_log",
]
