"""The backend interface: start a process from a ProcessSpec, watch it, stop it.

Live jobs start ``detached``: the backend supervises them on its own (locally, a small
supervisor process per job that records everything in the store) so they outlive the kernel.
Bake tasks start attached: the bake orchestrator is itself the long-lived supervisor, so the
local backend starts them as plain child processes (never a new Python interpreter per task).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UnknownNameError


@dataclass(frozen=True)
class Resources:
    """Local resource limits a preset maps to; None means no limit."""

    cpu: float | None = None
    memory_mb: int | None = None
    gpu: int = 0
    cuda_visible_devices: str | None = None


@dataclass(frozen=True)
class ProcessSpec:
    """A process to run, already mapped to the local machine (paths, ports, resources)."""

    argv: tuple[str, ...]
    workdir: Path
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)  # added on top of os.environ
    resources: Resources = Resources()
    life_span: float | None = None  # seconds; the backend kills the process after it
    name: str = ""


@dataclass(frozen=True)
class ExitInfo:
    """How a process ended: an exit code, or the signal that killed it, and a reason."""

    exit_code: int | None
    signal: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Execution(ABC):
    """A started process."""

    raw_id: str

    @abstractmethod
    def poll(self) -> ExitInfo | None:
        """Return how it ended, or None while it runs. Never blocks."""

    @abstractmethod
    def kill(self, grace: float = 10.0) -> None:
        """SIGTERM (or the backend's equivalent), then a hard kill after ``grace`` seconds."""


class Backend(ABC):
    """Where processes run."""

    name: str

    @abstractmethod
    def start(self, spec: ProcessSpec, *, raw_id: str, detached: bool) -> Execution:
        """Start ``spec``; ``detached`` processes outlive the caller (see module docstring)."""


_BACKENDS = ("local",)  # a Ray backend implements the same interface later


def get_backend(name: str = "local", **options: object) -> Backend:
    """The backend called ``name``, imported only when asked for."""
    if name == "local":
        from .local import LocalBackend

        return LocalBackend(**options)
    raise UnknownNameError("backend", name, _BACKENDS)
