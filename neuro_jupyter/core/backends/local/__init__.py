"""The local backend: jobs run on this machine.

Detached starts (live jobs) get a supervisor process each (``supervisor.py``) that outlives the
kernel and records the job in the store; attached starts (bake tasks) are plain child processes
of the caller (``child.py``). ``mapping.py`` gives an evaluated job its local meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..base import Backend, Execution, ProcessSpec

if TYPE_CHECKING:
    from ...envs.jobs import JobEnvironment
    from ...project.discovery import Project
    from ...store.jobs import JobRecord
    from ...workflow.model import ExecUnit


class LocalBackend(Backend):
    """Run processes on this machine."""

    name = "local"

    def process_spec(
        self, unit: ExecUnit, project: Project, log_path: Path, *,
        env_extra: Mapping[str, str] | None = None, environment: JobEnvironment | None = None,
    ) -> ProcessSpec:
        from .mapping import to_process_spec

        return to_process_spec(unit, project, log_path, env_extra=env_extra,
                               environment=environment)

    def start(
        self, spec: ProcessSpec, *, raw_id: str, detached: bool,
        labels: Mapping[str, str] | None = None,
    ) -> Execution:
        """Start ``spec``: supervised and detached (its jobs row must exist), or as a child."""
        if detached:
            from .supervision import start_supervised

            return start_supervised(spec, raw_id)
        from .child import start_child

        return start_child(spec, raw_id=raw_id)  # type: ignore[no-any-return,unused-ignore]

    def start_after(
        self, spec: ProcessSpec, *, raw_id: str, after: Execution,
        labels: Mapping[str, str] | None = None,
    ) -> Execution | None:
        """Started by the launcher thread of ``after`` when it succeeds (``child.start_after``)."""
        from .child import start_after

        return start_after(spec, raw_id, after)

    def attach(self, raw_id: str) -> Execution:
        """The Execution of a detached job started earlier (by any process)."""
        from .supervision import SupervisedExecution

        return SupervisedExecution(raw_id)

    def refresh_record(self, record: JobRecord) -> JobRecord:
        """The record, failed with a reason if its supervisor died (or never started)."""
        from .supervision import check_record

        return check_record(record)

    def request_stop(self, record: JobRecord) -> JobRecord:
        from .supervision import request_stop

        return request_stop(record)

    def wait_stopped(self, records: list[JobRecord], *, grace: float) -> list[JobRecord]:
        from .supervision import wait_stopped

        return wait_stopped([record.raw_id for record in records], grace=grace)


__all__ = ["LocalBackend"]
