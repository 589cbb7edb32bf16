"""The backend interface: start a process from a ProcessSpec, watch it, stop it.

Live jobs start ``detached``: the backend supervises them on its own (locally, a small
supervisor process per job that records everything in the store) so they outlive the kernel.
Bake tasks start attached: the bake orchestrator is itself the long-lived supervisor, so the
local backend starts them as plain child processes (never a new Python interpreter per task).
The Ray backend submits both as Ray jobs: the cluster supervises them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UnknownNameError
from .target import BACKENDS, DEFAULT_RAY_ADDRESS, BackendTarget

if TYPE_CHECKING:
    from ..envs.jobs import JobEnvironment
    from ..project.discovery import Project
    from ..store.jobs import JobRecord
    from ..workflow.model import ExecUnit


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
    project_root: Path | None = None  # set for backends that ship the project (Ray)
    restart: str = "never"  # Neu.ro's policy: never | on-failure | always (``restart.py``)
    # requirement lines a backend that installs them itself gets (Ray's runtime_env, with
    # ``pip`` or ``uv``); locally the job's environment is on PATH instead (``core.envs``)
    requirements: tuple[str, ...] = ()
    requirements_installer: str = "pip"


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
    # whether an attached start (a bake's task) applies ``ProcessSpec.restart`` itself; if
    # not, the caller starts the process again (a detached start always applies it)
    restarts_attached: bool = False

    @property
    def ports_here(self) -> bool:
        """Whether a job's HTTP port can be reached from this machine (to wait for it, and to
        link to it through Jupyter's proxy)."""
        return True

    @abstractmethod
    def process_spec(
        self, unit: ExecUnit, project: Project, log_path: Path, *,
        env_extra: Mapping[str, str] | None = None, environment: JobEnvironment | None = None,
    ) -> ProcessSpec:
        """What runs an evaluated job or task here: its command, env and folder mapped to
        this backend, in its image's ``environment`` when it has one (``core.envs``)."""

    @abstractmethod
    def start(
        self, spec: ProcessSpec, *, raw_id: str, detached: bool,
        labels: Mapping[str, str] | None = None,
    ) -> Execution:
        """Start ``spec``; ``detached`` processes outlive the caller (see module docstring).
        ``labels`` (project, job, bake, task ids) go with it where the backend keeps them."""

    def start_after(
        self, spec: ProcessSpec, *, raw_id: str, after: Execution,
        labels: Mapping[str, str] | None = None,
    ) -> Execution | None:
        """``spec``, attached, started by the backend itself as soon as ``after`` (attached,
        started by this backend) has succeeded, so that the slot ``after`` frees is refilled
        at once; None where the backend cannot (then the caller starts it when ``after`` has
        ended). Whether it started is known when ``after`` has ended: its
        ``successor_taken``; before that, ``after.withdraw()`` takes it back."""
        return None

    def check(self) -> None:
        """Raise ``BackendError`` now when the backend cannot run anything (not installed,
        not reachable), so nothing is recorded for a start that cannot happen. The local
        backend can always run."""
        return None

    def stop(self, raw_id: str) -> None:
        """Ask the backend to stop a process it runs, by raw id, without waiting; for
        backends that supervise their processes themselves (Ray: the tasks of a bake whose
        executor died). Live jobs stop through their records (``request_stop``)."""
        from ..errors import BackendError

        raise BackendError(f"The {self.name} backend stops processes through their records")

    # A live job's record through the backend that runs it (see ``records.py``)

    @abstractmethod
    def refresh_record(self, record: JobRecord) -> JobRecord:
        """The active job's record with its current state (recorded in the store)."""

    @abstractmethod
    def request_stop(self, record: JobRecord) -> JobRecord:
        """Ask the job to stop (SIGTERM, SIGKILL after a grace period); returns at once."""

    @abstractmethod
    def wait_stopped(self, records: list[JobRecord], *, grace: float) -> list[JobRecord]:
        """Wait until the ends of these jobs (all of this kind of backend, at any address)
        are recorded; a job still running after ``grace`` seconds is killed."""

    def sync_log(self, record: JobRecord) -> None:
        """Bring the local copy of the active job's log up to date (local logs are the
        files the jobs write)."""
        return None


def get_backend(target: str | BackendTarget = "local") -> Backend:
    """The backend a target names (``local``, ``ray@URL``), imported only when asked for."""
    chosen = target if isinstance(target, BackendTarget) else BackendTarget.parse(target)
    if chosen.name == "local":
        from .local import LocalBackend

        return LocalBackend()
    if chosen.name == "ray":
        from .ray import RayBackend

        return RayBackend(chosen.address or DEFAULT_RAY_ADDRESS)
    raise UnknownNameError("backend", chosen.name, BACKENDS)
