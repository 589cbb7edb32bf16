"""``neuro-jupyter store``: where the state store is and what it holds; ``--new`` starts a new
one (after a deleted, emptied or damaged store, as their messages say)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "store", help="the state store: where it is, what it holds; --new starts a new one",
        description="Show the state store (jobs, bakes, projects) and the stores set aside "
                    "beside it. With --new: move the current store aside and start a new, "
                    "empty one (running jobs and bakes record themselves in it).",
    )
    parser.add_argument("--new", action="store_true",
                        help="move the current store aside and start a new, empty one")
    parser.set_defaults(func=_store)


def _store(args: argparse.Namespace) -> int:
    from ..core.store.maintenance import new_store, store_summary

    if args.new:
        moved = new_store()
        print("Started a new, empty state store" + (f"; the old one is {moved}" if moved else ""))
    summary = store_summary()
    print(f"State store: {summary.path} ({summary.size // 1024} KiB)")
    print(f"Projects: {summary.projects}   Jobs: {summary.jobs} ({summary.active_jobs} active)"
          f"   Bakes: {summary.bakes} ({summary.unfinished_attempts} running)")
    for path in summary.set_aside:
        print(f"Set aside: {path}")
    return 0
