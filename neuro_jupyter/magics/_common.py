"""Shared bits of the magics: friendly errors and finding the current project."""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from ..core.errors import NeuroJupyterError
from ..core.store.space import full_disk_note

if TYPE_CHECKING:
    from ..core.project import Project

F = TypeVar("F", bound=Callable[..., Any])


class HelpShown(Exception):
    """A magic's ``--help`` was printed: the magic stops there, with nothing more to show."""


def friendly_errors(func: F) -> F:
    """Turn our own errors into a one-paragraph message on stderr instead of a traceback; say
    when the state folder's disk is full (as the CLI does)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        note = full_disk_note()  # what the magic shows may then be behind: said after it
        try:
            result = func(*args, **kwargs)
        except NeuroJupyterError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return None
        except HelpShown:
            return None
        if note:
            print(f"Warning: {note}", file=sys.stderr)
        return result

    return wrapper  # type: ignore[return-value]


def current_project(project_dir: str | None) -> Project:
    """The project of ``--project DIR``, else of the kernel's working folder; a warning on
    stderr when other folders have its id (a copied project)."""
    from ..core.project import find_project
    from ..core.store.projects import same_id_roots, shared_id_note

    project = find_project(project_dir or None)
    others = same_id_roots(project)
    if others:
        print(f"Warning: {shared_id_note(project.id, others)}", file=sys.stderr)
    return project


class MagicParser(argparse.ArgumentParser):
    """argparse that reports errors as IPython UsageErrors instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        from IPython.core.error import UsageError

        raise UsageError(f"{self.prog}: {message}\n{self.format_usage()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        from IPython.core.error import UsageError

        if status == 0 and message is None:  # after --help, which argparse has printed
            raise HelpShown
        raise UsageError(message or self.format_help())


def magic_parser(prog: str, description: str) -> MagicParser:
    """A parser for one magic, with the common ``--project DIR`` option."""
    parser = MagicParser(prog=prog, description=description)
    parser.add_argument("--project", metavar="DIR", default=None,
                        help="the project folder (default: found from the working folder)")
    return parser


def parse_line(parser: MagicParser, line: str) -> argparse.Namespace:
    """Split a magic's line like a shell and parse it; a parser with a ``read_words`` default
    (``%neuro_run``: ``arguments.parse_run_words``) reads the words itself."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        parser.error(str(exc))
    read_words = parser.get_default("read_words")
    if read_words is not None:
        return read_words(parser, words)
    if "--" in words:
        cut = words.index("--")
        words, rest = words[:cut], words[cut + 1 :]
        if rest:
            parser.error(f"unexpected arguments after --: {' '.join(rest)}")
    return parser.parse_args(words)
