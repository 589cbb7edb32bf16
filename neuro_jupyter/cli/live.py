"""``neuro-jupyter ps|run|logs|status|kill``: neuro-flow's live verbs over ``core.live``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..arguments import add_job_arguments, add_ps_arguments, add_run_arguments
from ._common import project_of


def register(subparsers: Any) -> None:
    """Add the live-job verbs to the ``neuro-jupyter`` parser."""
    ps = subparsers.add_parser("ps", help="list the project's live jobs",
                               description="One row per job of .neuro/live.yml (and per "
                               "suffix of a multi job) with its latest run: JOB, STATUS, RAW ID, "
                               "WHEN, and URL for jobs that serve a web page.")
    add_ps_arguments(ps)
    ps.set_defaults(func=cmd_ps)

    run = subparsers.add_parser(
        "run", help="run a live job, or attach to it if it runs already",
        description="Start the job and stream its log (Ctrl-C detaches; the job goes on), unless "
        "the job has detach: true or --detach is given. If the job runs already, attach to it.",
    )
    add_run_arguments(run)
    run.add_argument("--detach", action="store_true", default=None,
                     help="return once the job started instead of streaming its log")
    run.set_defaults(func=cmd_run)

    logs = subparsers.add_parser("logs", help="print a job's log",
                                 description="Print the log of the job's latest run.")
    add_job_arguments(logs)
    logs.add_argument("-f", "--follow", action="store_true", help="stream until the job ends")
    logs.set_defaults(func=cmd_logs)

    status = subparsers.add_parser("status", help="show a job's status",
                                   description="Show the state of the job's latest run.")
    add_job_arguments(status)
    status.set_defaults(func=cmd_status)

    kill = subparsers.add_parser("kill", help="stop a job, or ALL running jobs",
                                 description="Stop the job (SIGTERM, then SIGKILL after 10 s) "
                                 "and wait until it has stopped.")
    add_job_arguments(kill, kill=True)
    kill.set_defaults(func=cmd_kill)


def cmd_ps(args: argparse.Namespace) -> int:
    """Print one page of the ps table."""
    from ..core.live import ps_page, ps_text, server_url

    project = project_of(args)
    page = ps_page(project, limit=args.limit, page=args.page)
    if page.warning:
        print(f"Warning: {page.warning}", file=sys.stderr)
    print(ps_text(page.rows, server_url(project.root), footer=page.footer("neuro-jupyter ps")))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run (or find running) and attach unless detached; returns the job's exit code when it
    ended while attached, 2 when the job is pending."""
    from ..core.live import live_url, run_job, run_text, server_url, suffix_and_args

    project = project_of(args)
    suffix, extra = suffix_and_args(args.suffix, args.extra)
    result = run_job(project, args.job, suffix=suffix, params=dict(args.param), args=extra,
                     detach=args.detach, backend=args.backend, ray_address=args.ray_address)
    if result.pending:
        print(result.message)
        return 2
    base = server_url(project.root)
    record = result.record
    if not result.attach:
        print(run_text(result, base, logs=f"neuro-jupyter logs {record.label} -f",
                       stop=f"neuro-jupyter kill {record.label}"))
        if record.active:
            print(f"Detached: {record.label} goes on.")
        return 0
    print(result.message)
    url = live_url(record, base)
    if url:
        print(f"URL: {url}")
    sys.stdout.write(result.recent_log)  # re-attaching: the last lines, then what comes next
    return _attach(record, result.log_offset)


def _attach(record: Any, offset: int = 0) -> int:
    from ..core.live import get_job, stream_log

    try:
        stream_log(record, sys.stdout, offset=offset)
    except KeyboardInterrupt:
        print(f"\nDetached from {record.label}; it goes on (neuro-jupyter kill {record.label}).")
        return 0
    final = get_job(record.raw_id)
    print(f"Job {final.label} {final.status}" + (f": {final.reason}" if final.reason else ""))
    if final.status == "succeeded":
        return 0
    return final.exit_code or 1


def cmd_logs(args: argparse.Namespace) -> int:
    """Print the log, or stream it with -f."""
    from ..core.live import job_status, log_text, stream_log

    record = job_status(project_of(args), args.job, args.suffix)
    if not args.follow:
        text, note = log_text(record)
        sys.stdout.write(text)
        if note:
            print(note, file=sys.stderr)
        return 0
    try:
        stream_log(record, sys.stdout)
    except KeyboardInterrupt:
        return 0
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the job's status."""
    from ..core.live import job_status, server_url, status_text

    project = project_of(args)
    print(status_text(job_status(project, args.job, args.suffix), server_url(project.root)))
    return 0


def cmd_kill(args: argparse.Namespace) -> int:
    """Stop the job(s) and wait until they have stopped."""
    from ..core.live import kill_job

    for message in kill_job(project_of(args), args.job, args.suffix):
        print(message)
    return 0
