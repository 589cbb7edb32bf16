"""The ``neuro-jupyter`` command: neuro-flow's verbs over the core API.

Each topic module (project, workflow, live, bake) adds its verbs through ``register``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ..core.errors import NeuroJupyterError

TOPICS = ("project", "workflow", "live", "bake", "server_info")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every topic's subcommands."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="neuro-jupyter",
        description="Neu.ro Flow projects on this machine: live jobs, bakes, scaffolding.",
    )
    parser.add_argument("--version", action="version", version=f"neuro-jupyter {__version__}")
    parser.add_argument(
        "--project", metavar="DIR", default=None,
        help="the project folder (default: found by walking up from the current folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for topic in TOPICS:
        try:
            module = importlib.import_module(f"{__name__}.{topic}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{topic}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # `run JOB [ARGS]...`: options unknown to us belong to a multi job (neuro-flow's form).
        if getattr(args, "command", None) != "run" or not hasattr(args, "extra"):
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.extra = [*args.extra, *unknown]
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args)
    except NeuroJupyterError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `neuro-jupyter ps | head`: the reader went away, no traceback
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        return 141
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
