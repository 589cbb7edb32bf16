"""The ``neuro-jupyter`` command: neuro-flow's verbs over the core API.

Each topic module (project, workflow, live, envs, bake) adds its verbs through ``register``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from .._version import __version__
from ..core.errors import NeuroJupyterError
from ..core.gcpause import plans_kept
from ..core.store.space import full_disk_note

TOPICS = ("project", "workflow", "live", "envs", "bake", "notebooks", "server_info",
          "elsewhere", "store")


class _Parser(argparse.ArgumentParser):
    """argparse whose verbs may read their own words: a ``read_words`` default (``run``'s
    ``arguments.parse_run_words``) parses them instead."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        read_words = self.get_default("read_words")
        if read_words is None:
            return super().parse_known_args(args, namespace)
        return read_words(self, sys.argv[1:] if args is None else args, namespace), []


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every topic's subcommands."""
    import importlib

    parser = _Parser(
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
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    note = full_disk_note()  # what a command shows may then be behind: said after it
    try:
        with plans_kept():  # this process ends with its command
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
    if note and not code:  # a failed command has said what went wrong
        print(f"Warning: {note}", file=sys.stderr)
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
