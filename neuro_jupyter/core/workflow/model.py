"""Resolved, immutable descriptions of live jobs and batch tasks: what backends consume.

This module is the contract between the workflow language (loading, evaluation) and the
things that run work (live jobs, the bake orchestrator, backends). Everything here is plain
data: container-side paths as the workflow wrote them, plus each volume's local folder, so a
backend can map mount paths to the local machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

FullID = tuple[str, ...]
"""A task's id path from the top of the bake: ``("act", "task_2")``; dotted for display."""

NeedLevel = Literal["running", "completed"]
TaskStatus = Literal[
    "unknown", "pending", "running", "succeeded", "failed", "cancelled", "skipped", "cached"
]
FINISHED_STATUSES: frozenset[str] = frozenset(
    {"succeeded", "failed", "cancelled", "skipped", "cached"}
)


def dotted(full_id: FullID) -> str:
    """``("act", "task_2")`` → ``"act.task_2"``."""
    return ".".join(full_id)


@dataclass(frozen=True)
class VolumeMount:
    """One volume of a job or task: where it is mounted in the job and which local folder backs it.

    ``local`` is absolute: the volume's ``local`` folder (relative to the workspace) when the
    workflow sets one, else the local stand-in for its ``storage:``/``disk:`` remote
    (``core.paths.storage_path``).
    """

    remote: str
    mount: str
    local: Path
    read_only: bool = False
    volume_id: str | None = None


@dataclass(frozen=True)
class ExecUnit:
    """What every runnable thing has (§1.7 / §2.2): the evaluated exec-unit attributes."""

    title: str
    argv: tuple[str, ...] | None  # cmd / bash / python, already split; None = image default
    image: str | None = None  # not used locally; kept for display and the Ray backend
    entrypoint: str | None = None
    workdir: str | None = None  # container path, as written
    env: Mapping[str, str] = field(default_factory=dict)
    volumes: tuple[VolumeMount, ...] = ()
    tags: tuple[str, ...] = ()  # system tags + user tags, sorted
    preset: str | None = None
    life_span: float | None = None  # seconds
    schedule_timeout: float | None = None
    http_port: int | None = None
    http_auth: bool = True
    pass_config: bool = False
    restart: str = "never"
    name: str | None = None


@dataclass(frozen=True)
class JobSpec(ExecUnit):
    """A live job, fully evaluated for one run (one suffix of a multi job)."""

    job_id: str = ""
    suffix: str = ""  # '' unless multi
    multi: bool = False
    detach: bool = False
    browse: bool = False
    port_forward: tuple[tuple[int, int], ...] = ()  # (local, remote)
    project_id: str = ""
    flow_id: str = "live"


@dataclass(frozen=True)
class LiveJobInfo:
    """Static facts about a live job, known without evaluating it (for ps, panels, completion)."""

    job_id: str
    title: str
    multi: bool
    detach: bool
    browse: bool
    params: Mapping[str, str | None]  # name -> default (None = required)
    kind: Literal["job", "action", "module"] = "job"
    # what views show: the job's own title:, else the called action's name; '' for neither
    # (``title`` falls back to neuro-flow's ``<flow id>.<job id>``, which views do not show)
    display_title: str = ""


@dataclass(frozen=True)
class CachePolicy:
    """Cache policy of a task after inheritance: strategy none|default, life_span seconds."""

    strategy: Literal["none", "default"] = "default"
    life_span: float = 14 * 24 * 3600


@dataclass(frozen=True)
class TaskSpec(ExecUnit):
    """A batch task, fully evaluated once its needs have finished."""

    full_id: FullID = ()
    cache: CachePolicy = CachePolicy()
    caching_key: str = ""  # sha256 over the evaluated task and its needs' results and outputs


@dataclass(frozen=True)
class DepResult:
    """What a finished (or running) dependency exposes to ``needs``, ``success()`` etc.

    ``result`` is a TaskStatus; ``cached`` is shown to expressions as ``succeeded``.
    """

    result: str
    outputs: Mapping[str, str] = field(default_factory=dict)
    state: Mapping[str, str] = field(default_factory=dict)  # ``::save-state`` (stateful main)
