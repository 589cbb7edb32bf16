"""The options shared by the CLI (``cli/``) and the magics (``magics/``): each is declared
once here, and both front ends build their parsers with it."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence
from typing import Any

from .core.backends.target import BACKENDS


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and ``--ray-address`` (run, bake and their magics)."""
    parser.add_argument(
        "--backend", choices=BACKENDS, default=None,
        help="where to run (default: .neuro.toml's [neuro-jupyter] backend, else local)",
    )
    parser.add_argument(
        "--ray-address", metavar="URL", default=None,
        help="the Ray cluster's dashboard, e.g. http://127.0.0.1:8265 (default: .neuro.toml's "
        "ray-address, else $RAY_ADDRESS, else that URL)",
    )


def add_init_arguments(parser: argparse.ArgumentParser) -> None:
    """init's options (shared with ``%neuro_init``): the template's three prompts, or none."""
    parser.add_argument("--name", default=None, help="project name (prompt: project_name)")
    parser.add_argument("--slug", default=None,
                        help="folder name (prompt: project_slug; derived from the name)")
    parser.add_argument("--code-dir", default=None,
                        help="code package folder (prompt: code_directory; modules)")
    parser.add_argument("--template", default=None, metavar="PATH_OR_URL",
                        help="any cookiecutter template instead of the bundled one")
    parser.add_argument("--output-dir", default=".", metavar="DIR",
                        help="where the project folder is created (default: the current folder)")
    parser.add_argument("--no-input", action="store_true",
                        help="do not prompt; use the defaults for the options not given")


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


IMAGE_HELP = ("an image of the project (images: in .neuro/live.yml or project.yml) with a "
              "context, or ALL for every such image")


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """build's arguments (shared with ``%neuro_build``)."""
    parser.add_argument("image", metavar="IMAGE|ALL", help=IMAGE_HELP)
    parser.add_argument("-F", "--force-overwrite", action="store_true",
                        help="build even if the environment exists (if the build fails, the "
                        "environment stays as it was)")
    parser.add_argument("--no-kernel", dest="kernel", action="store_false",
                        help="do not register the environment as a Jupyter kernel "
                        "(\"Python (<project folder>)\")")


def add_graph_file_arguments(parser: argparse.ArgumentParser) -> None:
    """inspect's graph-file options (shared with ``%neuro_inspect``)."""
    parser.add_argument("-o", "--output-graph", metavar="FILE", default=None,
                        help="graph file name (default <bake_id>_<attempt>.gv); without "
                        "--dot/--svg/--pdf its extension (.dot, .gv, .svg, .pdf) says what to "
                        "write; with --dot and --svg/--pdf, a FILE named .svg or .pdf gets "
                        "its DOT in FILE.gv")
    parser.add_argument("--dot", action="store_true", help="write the graph as DOT")
    parser.add_argument("--pdf", action="store_true", help="render FILE.pdf (needs Graphviz)")
    parser.add_argument("--svg", action="store_true", help="render FILE.svg (needs Graphviz)")


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    """show's arguments (shared with ``%neuro_show``)."""
    add_attempt_arguments(parser)
    parser.add_argument("task", metavar="TASK_ID", help="dotted id, e.g. act.task_2")
    raw = parser.add_mutually_exclusive_group()
    raw.add_argument("-r", "--raw", dest="raw", action="store_true", default=False,
                     help="keep ::set-output and other command lines")
    raw.add_argument("-R", "--no-raw", dest="raw", action="store_false")


def add_bake_arguments(parser: argparse.ArgumentParser, *, cell: bool = False) -> None:
    """bake's arguments (shared with ``%bake``/``%%bake``, whose batch may be the cell's);
    ``bake_params`` reads the params they give."""
    if cell:
        parser.add_argument("batch", nargs="?", default=None, metavar="NAME",
                            help="the batch name (default 'cell' for a cell body)")
    else:
        parser.add_argument("batch", metavar="BATCH")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="set a param (repeatable)")
    parser.add_argument("--meta-from-file", metavar="FILE", default=None,
                        help="params from a flat YAML mapping (-p wins)")
    parser.add_argument("-n", "--name", default=None,
                        help="a name for the bake (unique in the project)")
    parser.add_argument("-t", "--tag", action="append", default=[],
                        help="tag the bake (repeatable)")
    add_backend_arguments(parser)


def bake_params(args: argparse.Namespace) -> dict[str, str]:
    """The params of ``add_bake_arguments``: ``--meta-from-file``'s, then each ``-p``."""
    from .core.bake import params_from_file

    params = params_from_file(args.meta_from_file) if args.meta_from_file else {}
    params.update(dict(args.param))
    return params


def add_bakes_arguments(parser: argparse.ArgumentParser) -> None:
    """bakes' filters and order (shared with ``%neuro_bakes``); ``bakes_filter`` reads them."""
    parser.add_argument("-t", "--tag", action="append", default=[], help="only bakes with the tag")
    parser.add_argument("--since", metavar="DATE_OR_TIMEDELTA", default=None,
                        help="created after (a date, or 1d2h3m4s ago)")
    parser.add_argument("--until", metavar="DATE_OR_TIMEDELTA", default=None,
                        help="created before (a date, or 1d2h3m4s ago)")
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--recent-first", dest="recent_first", action="store_true", default=True)
    order.add_argument("--recent-last", dest="recent_first", action="store_false")


def bakes_filter(args: argparse.Namespace) -> dict[str, Any]:
    """``core.bake.list_bakes``' keyword arguments from ``add_bakes_arguments``' options."""
    from .core.bake import parse_when

    return dict(tags=args.tag, since=parse_when(args.since) if args.since else None,
                until=parse_when(args.until) if args.until else None,
                recent_first=args.recent_first)


def add_attempt_arguments(parser: argparse.ArgumentParser) -> None:
    """``BAKE [-a N]`` of inspect, cancel and restart (shared with the magics)."""
    parser.add_argument("bake", metavar="BAKE", help="bake id or name")
    parser.add_argument("-a", "--attempt", type=int, default=None,
                        help="the attempt's number (default: the last)")


def add_restart_arguments(parser: argparse.ArgumentParser) -> None:
    """restart's arguments (shared with ``%neuro_restart``)."""
    add_attempt_arguments(parser)
    parser.add_argument("--from-failed", dest="from_failed", action="store_true", default=True,
                        help="reuse succeeded tasks (default)")
    parser.add_argument("--no-from-failed", dest="from_failed", action="store_false")
