"""Bake magics: ``%%bake`` / ``%bake``, ``%neuro_bakes``, ``%neuro_inspect``, ``%neuro_show``,
``%neuro_cancel`` and ``%neuro_restart``, on the current project (or ``--project DIR``).

Thin views over ``neuro_jupyter.core.bake``: a bake runs in its own detached executor, so the
cell returns at once with a live view (``widgets.bake_view``) that follows it.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class

from ..arguments import (
    add_attempt_arguments,
    add_bake_arguments,
    add_bakes_arguments,
    add_graph_file_arguments,
    add_restart_arguments,
    add_show_arguments,
    bake_params,
    bakes_filter,
)
from ..core.errors import InvalidInputError, WorkflowError, WorkflowErrors
from ._common import current_project, friendly_errors, magic_parser, parse_line

BAKE = magic_parser(
    "%%bake", "Bake a batch workflow: the cell body (%%bake [NAME]) or .neuro/NAME.yml (%bake NAME)."
)
add_bake_arguments(BAKE, cell=True)

BAKES = magic_parser("%neuro_bakes", "The project's bakes.")
add_bakes_arguments(BAKES)

INSPECT = magic_parser("%neuro_inspect", "A bake's live view (graph, progress, tasks, logs).")
add_attempt_arguments(INSPECT)
INSPECT.add_argument("--text", action="store_true", help="print the tasks table instead")
add_graph_file_arguments(INSPECT)

SHOW = magic_parser("%neuro_show", "A task's log.")
add_show_arguments(SHOW)

CANCEL = magic_parser("%neuro_cancel", "Cancel a bake (always() tasks still run).")
add_attempt_arguments(CANCEL)

RESTART = magic_parser("%neuro_restart", "Start a new attempt of a bake.")
add_restart_arguments(RESTART)


def _in_cell(exc: WorkflowError | WorkflowErrors, path: str) -> InvalidInputError:
    """Errors in a ``%%bake`` body located as the notebook numbers the cell's lines (the
    ``%%bake`` line is line 1), not in a ``.neuro/`` file that does not exist."""
    errors = exc.errors if isinstance(exc, WorkflowErrors) else [exc]
    lines = [
        f"cell line {e.location.line + 1}, column {e.location.column}: {e.message}"
        if e.location is not None and e.location.file == path else str(e)
        for e in errors
    ]
    return InvalidInputError("\n".join(lines))


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


@magics_class
class BakeMagics(Magics):
    """Bake magics."""

    @line_cell_magic
    @friendly_errors
    def bake(self, line: str, cell: str | None = None) -> None:
        """Start a bake and show its live view; the cell returns at once."""
        from ..core.bake import CELL_BATCH, start_bake

        args = parse_line(BAKE, line)
        if cell is None and not args.batch:
            raise UsageError("%bake NAME bakes .neuro/NAME.yml; use %%bake for a cell body")
        project = current_project(args.project)
        batch = args.batch or CELL_BATCH
        try:
            bake = start_bake(project, batch, text=cell, params=bake_params(args), tags=args.tag,
                              name=args.name, backend=args.backend,
                              ray_address=args.ray_address)
        except (WorkflowError, WorkflowErrors) as exc:
            if cell is None:
                raise
            raise _in_cell(exc, f".neuro/{batch}.yml") from None
        self._view(project, bake)

    @line_magic
    @friendly_errors
    def neuro_bakes(self, line: str) -> None:
        """Print the bakes table (ID NAME BATCH EXECUTOR STATUS WHEN)."""
        from ..core.bake import list_bakes
        from ..core.bake.render import bakes_text

        args = parse_line(BAKES, line)
        bakes = list_bakes(current_project(args.project), **bakes_filter(args))
        print(bakes_text(bakes))

    @line_magic
    @friendly_errors
    def neuro_inspect(self, line: str) -> None:
        """Show a bake's live view (it re-attaches to a running bake after a kernel restart)."""
        from ..core.bake import inspect_bake, resolve_bake
        from ..core.bake.render import inspect_text
        from ..core.graph import graph_files, graph_formats

        args = parse_line(INSPECT, line)
        project = current_project(args.project)
        bake = resolve_bake(project, args.bake)
        dot, svg, pdf = graph_formats(args.output_graph, dot=args.dot, svg=args.svg,
                                      pdf=args.pdf)
        if args.text or dot or svg or pdf:
            state = inspect_bake(project, bake, args.attempt)
        if args.text:
            print(inspect_text(state))
        if dot or svg or pdf:
            for out in graph_files(state, args.output_graph, dot=dot, svg=svg, pdf=pdf):
                print(f"Graph written to {out}")
        if not args.text:
            self._view(project, bake, args.attempt)

    @line_magic
    @friendly_errors
    def neuro_show(self, line: str) -> None:
        """Print a task's log (command lines removed unless --raw)."""
        from ..core.bake import inspect_bake
        from ..core.bake.render import show_text

        args = parse_line(SHOW, line)
        state = inspect_bake(current_project(args.project), args.bake, args.attempt)
        print(show_text(state, args.task, raw=args.raw), end="")

    @line_magic
    @friendly_errors
    def neuro_cancel(self, line: str) -> None:
        """Cancel a bake's attempt."""
        from ..core.bake import cancel_bake, resolve_bake

        args = parse_line(CANCEL, line)
        project = current_project(args.project)
        bake = resolve_bake(project, args.bake)
        cancel_bake(project, bake, args.attempt)
        print(f"Bake {bake.bake_id} is being cancelled")

    @line_magic
    @friendly_errors
    def neuro_restart(self, line: str) -> None:
        """Start the next attempt and show its live view."""
        from ..core.bake import resolve_bake, restart_bake

        args = parse_line(RESTART, line)
        project = current_project(args.project)
        bake = resolve_bake(project, args.bake)
        attempt = restart_bake(project, bake, attempt=args.attempt, from_failed=args.from_failed)
        self._view(project, bake, attempt.number)

    def _view(self, project: Any, bake: Any, attempt: int | None = None) -> None:
        from ..widgets.bake_view import BakeView

        _display(BakeView(project, bake, attempt=attempt))
