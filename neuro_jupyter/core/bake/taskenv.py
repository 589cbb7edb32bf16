"""What a bake task knows of itself: env vars the orchestrator gives every task process.

``NEURO_JUPYTER_BAKE``, ``NEURO_JUPYTER_BAKE_ATTEMPT`` and ``NEURO_JUPYTER_TASK`` (the dotted
id) say that a process is a bake task, and which; ``NEURO_JUPYTER_PROJECT_ROOT`` is the project
folder where the task runs (on a Ray node, the Ray job's entrypoint sets it to the node's copy).
``nbrun`` reads them to place an executed notebook; any task may.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BAKE_ENV = "NEURO_JUPYTER_BAKE"
ATTEMPT_ENV = "NEURO_JUPYTER_BAKE_ATTEMPT"
TASK_ENV = "NEURO_JUPYTER_TASK"
PROJECT_ROOT_ENV = "NEURO_JUPYTER_PROJECT_ROOT"
PER_TASK = (ATTEMPT_ENV, TASK_ENV)  # the ones that differ between the tasks of one bake run


def task_env(bake_id: str, attempt: int, task_id: str, project_root: Path) -> dict[str, str]:
    """The env vars of one task of a bake."""
    return {BAKE_ENV: bake_id, ATTEMPT_ENV: str(attempt), TASK_ENV: task_id,
            PROJECT_ROOT_ENV: str(project_root)}


@dataclass(frozen=True)
class BakeTask:
    """The bake task this process is, from its env."""

    bake_id: str
    attempt: int
    task_id: str
    project_root: Path


def current_task(environ: Mapping[str, str] | None = None) -> BakeTask | None:
    """The bake task of this process, or None outside a bake task."""
    env = os.environ if environ is None else environ
    bake, attempt, task = env.get(BAKE_ENV), env.get(ATTEMPT_ENV, ""), env.get(TASK_ENV)
    root = env.get(PROJECT_ROOT_ENV)
    if not (bake and task and root and attempt.isdigit()):
        return None
    return BakeTask(bake, int(attempt), task, Path(root))
