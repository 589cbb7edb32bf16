"""``neuro-jupyter ps|run|logs|status|kill``: neuro-flow's live verbs over ``core.live``."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from typing import Any

from ._common import add_backend_arguments, project_of

JOB_HELP = "a job id of .neuro/live.yml"
SUFFIX_HELP = "a multi job's suffix (optional when exactly one instance runs)"


def add_ps_arguments(parser: argparse.ArgumentParser) -> None:
    """ps's options (shared with ``%neuro_ps``)."""
    parser.add_argument("--page", type=int, default=1, help="page number (default 1)")
    parser.add_argument("--limit", type=int, default=50, help="rows per page (default 50)")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """run's arguments (shared with ``%neuro_run``); the parser's ``read_words`` default is
    ``parse_run_words``, which both front ends parse run's words with."""
    job = parser.add_argument("job", metavar="JOB_ID", help=JOB_HELP)
    extra = parser.add_argument(
        "extra", nargs="*", default=[], metavar="SUFFIX/ARGS",
        help="a multi job's suffix (unless -s is given; a random one otherwise), then its "
        "arguments, which become ${{ multi.args }}; put -- before arguments that are options "
        "of run itself (-s, -p, --backend...)",
    )
    parser.add_argument("-s", "--suffix", default=None, help="a multi job's suffix")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="set a param of the job (repeatable)")
    add_backend_arguments(parser)
    parser.set_defaults(read_words=functools.partial(parse_run_words, positionals=(job, extra)))


def parse_run_words(
    parser: argparse.ArgumentParser, words: Sequence[str],
    namespace: argparse.Namespace | None = None, *, positionals: Sequence[argparse.Action],
) -> argparse.Namespace:
    """Parse ``run``'s words as neuro-flow does: run's options anywhere; from JOB_ID on, every
    other word (unknown options too) is the job's, in order, with a ``--`` kept for
    ``suffix_and_args`` to drop; an unknown option before JOB_ID is a usage error."""
    words = list(words)
    cut = words.index("--") if "--" in words else len(words)
    # argparse's own parse_intermixed_args trick: with the positionals off, the options are
    # parsed wherever they are and every other word comes back in its order.
    usage = parser.usage  # kept as it is with the positionals on (for -h and errors)
    parser.usage = usage or parser.format_usage().removeprefix("usage: ").rstrip().replace("%", "%%")
    saved = [(action, action.nargs, action.default) for action in positionals]
    for action in positionals:
        action.nargs = action.default = argparse.SUPPRESS
    try:
        # the base method: a front end's parser may route parse_known_args here
        args, loose = argparse.ArgumentParser.parse_known_args(parser, words[:cut], namespace)
    finally:
        parser.usage = usage
        for action, nargs, default in saved:
            action.nargs, action.default = nargs, default
    loose += words[cut:]
    if loose[:1] == ["--"]:  # `run -- JOB ...`
        del loose[0]
    if not loose:
        parser.error("the following arguments are required: JOB_ID")
    if loose[0].startswith("-"):
        parser.error(f"unrecognized arguments: {loose[0]} (a job's own options go after JOB_ID)")
    args.job, args.extra = loose[0], loose[1:]
    vars(args).pop("read_words", None)
    return args


def add_job_arguments(parser: argparse.ArgumentParser, *, kill: bool = False) -> None:
    """``JOB_ID [SUFFIX]`` of logs, status and kill (shared with the magics)."""
    parser.add_argument("job", metavar="JOB_ID|ALL" if kill else "JOB_ID",
                        help=JOB_HELP + (", or ALL for every running job" if kill else ""))
    parser.add_argument("suffix", nargs="?", default="", metavar="SUFFIX", help=SUFFIX_HELP)


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
