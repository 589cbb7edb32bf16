"""Bakes: the orchestrator (one detached executor per attempt) and the API front ends use."""

from __future__ import annotations

from ..store.bakes import AttemptRecord, BakeRecord, TaskRecord
from .api import (
    CELL_BATCH,
    BakeState,
    cancel_bake,
    clear_cache,
    find_task,
    inspect_bake,
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
