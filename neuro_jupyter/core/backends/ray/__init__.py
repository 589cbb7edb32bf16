"""The Ray backend: jobs and bake tasks run as Ray jobs through the cluster's Jobs API.

Ray itself supervises them, so a live job or a task outlives the kernel and the bake's executor
alike; a ``detached`` start (a live job) is also recorded in the job's row, as the local
supervisor does (``records.py``). ``ray`` is imported on first use only (``client.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..base import Backend, Execution, ProcessSpec
from ..target import BackendTarget
from .client import ray_client
from .execution import RayExecution
from .jobs import log_head, stop, submit
from .mapping import to_ray_spec

if TYPE_CHECKING:
    from ...envs.jobs import JobEnvironment
    from ...project.discovery import Project
    from ...store.jobs import JobRecord
    from ...workflow.model import ExecUnit


class RayBackend(Backend):
    """Run processes as Ray jobs on the cluster whose dashboard is at ``address``."""

    name = "ray"
    restarts_attached = True  # the entrypoint loops (``entrypoint.restart_loop``)

    def __init__(self, address: str) -> None:
        self.address = address

    @property
    def ports_here(self) -> bool:
        """A job's port is reachable from here only when the cluster is on this machine."""
        return BackendTarget("ray", self.address).ports_here

    def check(self) -> None:
        """Fail now, with what to do, when Ray is missing or the cluster does not answer."""
        ray_client(self.address)

    def stop(self, raw_id: str) -> None:
        stop(self.address, raw_id)

    def process_spec(
        self, unit: ExecUnit, project: Project, log_path: Path, *,
        env_extra: Mapping[str, str] | None = None, environment: JobEnvironment | None = None,
    ) -> ProcessSpec:
        return to_ray_spec(unit, project, log_path, address=self.address, env_extra=env_extra,
                           environment=environment)

    def start(
        self, spec: ProcessSpec, *, raw_id: str, detached: bool,
        labels: Mapping[str, str] | None = None,
    ) -> Execution:
        """Submit ``spec`` as Ray job ``raw_id`` with ``labels`` as its metadata: a live job
        (``detached``; its row must exist) recorded in the store, or a bake's task (the tasks
        share one upload of the project)."""
        if detached:
            from .records import start_recorded

            return start_recorded(self.address, spec, raw_id, labels or {})
        head = log_head(spec.log_path)
        command = submit(self.address, spec, raw_id, labels or {}, reuse_upload=True)
        return RayExecution(self.address, raw_id, spec.log_path, spec.life_span, command, head)

    # a record names its own cluster: these work for the records of any address

    def refresh_record(self, record: JobRecord) -> JobRecord:
        from .records import refresh_record

        return refresh_record(record)

    def request_stop(self, record: JobRecord) -> JobRecord:
        from .records import request_stop

        return request_stop(record)

    def wait_stopped(self, records: list[JobRecord], *, grace: float) -> list[JobRecord]:
        """Ray stops the jobs itself (SIGKILL after its own grace): wait a little longer."""
        from .records import wait_stopped

        return wait_stopped([record.raw_id for record in records], wait=grace + 5)

    def sync_log(self, record: JobRecord) -> None:
        from .records import sync_log

        sync_log(record)


__all__ = ["RayBackend"]
