"""``neuro-jupyter bake|bakes|inspect|show|cancel|restart|clear-cache``: neuro-flow's batch verbs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

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
from ._common import project_of


def register(subparsers: Any) -> None:
    """Add the bake verbs to the ``neuro-jupyter`` parser."""
    bake = subparsers.add_parser(
        "bake", help="start a bake of a batch workflow and follow it",
        description="Start .neuro/BATCH.yml and show its progress until it ends (the bake goes on "
        "if you press Ctrl-C); exits non-zero when the bake does not succeed.",
    )
    add_bake_arguments(bake)
    bake.add_argument("--local-executor", action="store_true",
                      help="accepted for neuro-flow compatibility: executors are always local")
    bake.add_argument("--detach", action="store_true", help="return at once")
    bake.set_defaults(func=cmd_bake)

    bakes = subparsers.add_parser("bakes", help="list bakes",
                                  description="Columns ID NAME BATCH EXECUTOR STATUS WHEN.")
    add_bakes_arguments(bakes)
    bakes.set_defaults(func=cmd_bakes)

    inspect = subparsers.add_parser("inspect", help="show a bake's tasks and graph")
    add_attempt_arguments(inspect)
    add_graph_file_arguments(inspect)
    inspect.add_argument("--view", action="store_true", help="open the rendered PDF")
    inspect.set_defaults(func=cmd_inspect)

    show = subparsers.add_parser("show", help="print a task's log")
    add_show_arguments(show)
    show.set_defaults(func=cmd_show)

    cancel = subparsers.add_parser("cancel", help="cancel a bake (always() tasks still run)")
    add_attempt_arguments(cancel)
    cancel.set_defaults(func=cmd_cancel)

    restart = subparsers.add_parser("restart", help="start a new attempt of a bake")
    add_restart_arguments(restart)
    restart.add_argument("--local-executor", action="store_true",
                         help="accepted for neuro-flow compatibility")
    restart.add_argument("--detach", action="store_true", help="return at once")
    restart.set_defaults(func=cmd_restart)

    clear = subparsers.add_parser("clear-cache", help="delete cached task results")
    clear.add_argument("batch", metavar="BATCH|ALL")
    clear.add_argument("task", metavar="TASK_ID", nargs="?", default=None)
    clear.set_defaults(func=cmd_clear_cache)


def follow(project: Any, bake: Any, attempt: int | None = None) -> int:
    """Print task status changes until the attempt ends; 0 when it succeeded."""
    from ..core.bake import watch_bake
    from ..core.bake.render import progress_lines
    from ..core.store.space import SpaceWatch

    seen: dict[str, str] = {}
    state = None
    space = SpaceWatch()
    try:
        for state in watch_bake(project, bake, attempt):
            for line in progress_lines(state.changed, seen):
                print(line, flush=True)
            if note := space.check():
                print(note, file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print(f"\nThe bake goes on: see it with `neuro-jupyter inspect {bake.bake_id}`, "
              f"stop it with `neuro-jupyter cancel {bake.bake_id}`")
        return 130
    assert state is not None
    done = sum(1 for t in state.tasks if t.finished_at is not None)
    att = state.attempt
    print(f"Attempt #{att.number} {att.result} ({done}/{len(state.tasks)} tasks finished)"
          + (f": {att.reason}" if att.reason else ""))
    if att.result != "succeeded":
        print(f"Hint: restart from the failed tasks with: neuro-jupyter restart {bake.bake_id}")
    return 0 if att.result == "succeeded" else 1


def cmd_bake(args: argparse.Namespace) -> int:
    """Start a bake; follow it unless --detach."""
    from ..core.bake import start_bake

    project = project_of(args)
    bake = start_bake(project, args.batch, params=bake_params(args), tags=args.tag, name=args.name,
                      backend=args.backend, ray_address=args.ray_address, fork_caller=True)
    print(f"Bake {bake.bake_id} of {bake.batch} started" + (f" as {bake.name}" if bake.name else ""),
          flush=True)
    if args.detach:
        return 0
    return follow(project, bake)


def cmd_bakes(args: argparse.Namespace) -> int:
    """Print the bakes table."""
    from ..core.bake import list_bakes
    from ..core.bake.render import bakes_text

    bakes = list_bakes(project_of(args), **bakes_filter(args))
    print(bakes_text(bakes))
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    """Print the attempt and its tasks; write/render the graph when asked."""
    from ..core.bake import inspect_bake
    from ..core.bake.render import inspect_text
    from ..core.graph import graph_files, graph_formats

    project = project_of(args)
    dot, svg, pdf = graph_formats(args.output_graph, dot=args.dot, svg=args.svg,
                                  pdf=args.pdf or args.view)
    state = inspect_bake(project, args.bake, args.attempt)
    print(inspect_text(state))
    if not (dot or svg or pdf):
        return 0
    files = graph_files(state, args.output_graph, dot=dot, svg=svg, pdf=pdf)
    for out in files:
        print(f"Graph written to {out}")
        if out.suffix == ".pdf" and args.view:
            import webbrowser

            webbrowser.open(out.resolve().as_uri())
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print the attempt, the task and its log."""
    from ..core.bake import inspect_bake
    from ..core.bake.render import show_text

    state = inspect_bake(project_of(args), args.bake, args.attempt)
    sys.stdout.write(show_text(state, args.task, raw=args.raw))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel an attempt."""
    from ..core.bake import cancel_bake, resolve_bake

    project = project_of(args)
    bake = resolve_bake(project, args.bake)
    cancel_bake(project, bake, args.attempt)
    print(f"Bake {bake.bake_id} is being cancelled")
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    """Start the next attempt; follow it unless --detach."""
    from ..core.bake import resolve_bake, restart_bake

    project = project_of(args)
    bake = resolve_bake(project, args.bake)
    attempt = restart_bake(project, bake, attempt=args.attempt, from_failed=args.from_failed,
                           fork_caller=True)
    print(f"Bake {bake.bake_id}: attempt #{attempt.number} started", flush=True)
    if args.detach:
        return 0
    return follow(project, bake, attempt.number)


def cmd_clear_cache(args: argparse.Namespace) -> int:
    """Delete cache entries."""
    from ..core.bake import clear_cache

    project = project_of(args)
    count = clear_cache(project, args.batch, args.task)
    print(f"Deleted {count} cache entr{'y' if count == 1 else 'ies'}")
    return 0
