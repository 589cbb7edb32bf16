"""The local backend: jobs run on this machine.

Detached starts (live jobs) get a supervisor process each (``supervisor.py``) that outlives the
kernel and records the job in the store; attached starts (bake tasks) are plain child processes
of the caller (``child.py``). ``mapping.py`` gives an evaluated job its local meaning.
"""

from __future__ import annotations

from ..base import Backend, Execution, ProcessSpec


class LocalBackend(Backend):
    """Run processes on this machine."""

    name = "local"

    def start(self, spec: ProcessSpec, *, raw_id: str, detached: bool) -> Execution:
        """Start ``spec``: supervised and detached (its jobs row must exist), or as a child."""
        if detached:
            from .supervision import start_supervised

            return start_supervised(spec, raw_id)
        from .child import start_child

        return start_child(spec, raw_id=raw_id)  # type: ignore[no-any-return,unused-ignore]

    def attach(self, raw_id: str) -> Execution:
        """The Execution of a detached job started earlier (by any process)."""
        from .supervision import SupervisedExecution

        return SupervisedExecution(raw_id)


__all__ = ["LocalBackend"]
