"""Bakes: the orchestrator (one detached executor per attempt) and the API front ends use.

The API loads on first use: the executor (``python -m neuro_jupyter.core.bake.executor``)
imports this package first and needs none of it, and its start-up delays every bake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store.bakes import AttemptRecord, BakeRecord, TaskRecord
    from .api import (
        CELL_BATCH,
        BakeState,
        cancel_bake,
        clear_cache,
        find_task,
        inspect_bake,
        list_attempts,
        list_bakes,
        params_from_file,
        parse_when,
        read_task_log,
        resolve_bake,
        restart_bake,
        start_bake,
        task_log,
        watch_bake,
    )

_RECORDS = frozenset({"AttemptRecord", "BakeRecord", "TaskRecord"})


def __getattr__(name: str) -> Any:
    """Load the API (or a record class) when one of its names is first used."""
    import importlib

    if name in _RECORDS:
        module = importlib.import_module("..store.bakes", __name__)
    elif name in __all__:
        module = importlib.import_module(".api", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "CELL_BATCH",
    "AttemptRecord",
    "BakeRecord",
    "BakeState",
    "TaskRecord",
    "cancel_bake",
    "clear_cache",
    "find_task",
    "inspect_bake",
    "list_attempts",
    "list_bakes",
    "params_from_file",
    "parse_when",
    "read_task_log",
    "resolve_bake",
    "restart_bake",
    "start_bake",
    "task_log",
    "watch_bake",
]
