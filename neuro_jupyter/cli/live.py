"""``neuro-jupyter ps|run|logs|status|kill``: neuro-flow's live verbs over ``core.live``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the live-job verbs to the ``neuro-jupyter`` parser."""
    ps = subparsers.add_parser("ps", help="list the project's live jobs",
                               description="Columns JOB, STATUS, RAW ID, WHEN (and URL).")
    ps.add_argument("--page", type=int, default=1, help="page number (default 1)")
    ps.add_argument("--limit", type=int, default=50, help="rows per page (default 50)")
    ps.set_defaults(func=cmd_ps)

    run = subparsers.add_parser(
        "run", help="run a live job, or attach to it if it runs already",
        description="Start the job and stream its log (Ctrl-C detaches; the job goes on), unless "
        "the job has detach: true or --detach is given. Multi jobs: SUFFIX (or -s), then ARGS "
        "(multi.args; put -- before args that start with -).",
    )
    run.add_argument("job", metavar="JOB_ID")
    run.add_argument("extra", nargs="*", metavar="SUFFIX/ARGS")
    run.add_argument("-s", "--suffix", default=None)
    run.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    run.add_argument("--detach", action="store_true", default=None, help="do not attach")
    run.set_defaults(func=cmd_run)

    logs = subparsers.add_parser("logs", help="print a job's log")
    logs.add_argument("job", metavar="JOB_ID")
    logs.add_argument("suffix", nargs="?", default="")
    logs.add_argument("-f", "--follow", action="store_true", help="stream until the job ends")
    logs.set_defaults(func=cmd_logs)

    status = subparsers.add_parser("status", help="show a job's status")
    status.add_argument("job", metavar="JOB_ID")
    status.add_argument("suffix", nargs="?", default="")
    status.set_defaults(func=cmd_status)

    kill = subparsers.add_parser("kill", help="stop a job, or ALL running jobs")
    kill.add_argument("job", metavar="JOB_ID|ALL")
    kill.add_argument("suffix", nargs="?", default="")
    kill.set_defaults(func=cmd_kill)


def _project(args: argparse.Namespace) -> Any:
    from ..core.project import open_project

    return open_project(Path(args.project) if args.project else Path.cwd())


def cmd_ps(args: argparse.Namespace) -> int:
    """Print one page of the ps table."""
    from ..core.live import ps_page, ps_text, server_url

    project = _project(args)
    limit = max(1, args.limit)
    page = ps_page(project, limit=limit, offset=(max(1, args.page) - 1) * limit)
    footer = ""
    if page.total > page.offset + len(page.rows) or page.offset:
        last = (page.total + limit - 1) // limit
        footer = f"Page {args.page} of {last} ({page.total} rows): neuro-jupyter ps --page N"
    print(ps_text(page.rows, server_url(project.root), footer=footer))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run (or find running) and attach unless detached; returns the job's exit code when it
    ended while attached, 2 when the job is pending."""
    from ..core.live import browse_url, run_job, server_url, suffix_and_args

    project = _project(args)
    suffix, extra = suffix_and_args(args.suffix, args.extra)
    result = run_job(project, args.job, suffix=suffix, params=dict(args.param), args=extra,
                     detach=args.detach)
    print(result.message)
    if result.pending:
        return 2
    url = browse_url(result.record, server_url(project.root)) if result.record.active else None
    if url:
        print(f"URL: {url}")
    if not result.attach:
        if result.record.finished:
            print(f"Status: {result.record.status} {result.record.reason}".rstrip())
        else:
            print(f"Detached. Logs: neuro-jupyter logs {result.record.label} -f")
        return 0
    return _attach(result.record)


def _attach(record: Any) -> int:
    from ..core.live import follow_log, get_job

    try:
        for chunk in follow_log(record):
            sys.stdout.write(chunk)
            sys.stdout.flush()
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
    from ..core.live import follow_log, job_status, read_log

    record = job_status(_project(args), args.job, args.suffix)
    if not args.follow:
        sys.stdout.write(read_log(record)[0])
        return 0
    try:
        for chunk in follow_log(record):
            sys.stdout.write(chunk)
            sys.stdout.flush()
    except KeyboardInterrupt:
        return 0
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the job's status."""
    from ..core.live import job_status, server_url, status_text

    project = _project(args)
    print(status_text(job_status(project, args.job, args.suffix), server_url(project.root)))
    return 0


def cmd_kill(args: argparse.Namespace) -> int:
    """Stop the job(s) and wait until they have stopped."""
    from ..core.live import kill_job

    for message in kill_job(_project(args), args.job, args.suffix):
        print(message)
    return 0
