"""A Ray job seen as an Execution: polled through the Jobs API, its log copied locally."""

from __future__ import annotations

import time
from pathlib import Path

from ...errors import BackendError
from ..base import Execution, ExitInfo
from .client import RayJobNotFoundError
from .entrypoint import TIMED_OUT
from .jobs import save_log, state, stop

POLL_EVERY = 0.25  # seconds between status reads while the job is young, then growing
POLL_MOST = 1.0  # ... to this for jobs that have run for a while (age / 20)
LOG_EVERY = 1.0  # seconds between copies of a running job's log
GIVE_UP_AFTER = 300.0  # seconds without an answer from the cluster before the task is failed
GIVE_UP_STOPPING = 30.0  # the same, once the task is being stopped


class RayExecution(Execution):
    """A submitted Ray job. ``poll`` is cheap to call often: it asks Ray at most every
    ``POLL_EVERY`` seconds (``POLL_MOST`` for long jobs), so a bake's loop can poll every
    running task without flooding the dashboard."""

    def __init__(
        self, address: str, raw_id: str, log_path: Path, life_span: float | None, command: str,
        head: int = 0,
    ) -> None:
        self.address = address
        self.head = head  # bytes of the log written before the job was submitted, kept
        self.command = command
        self.raw_id = raw_id
        self.log_path = log_path
        self.started_at = time.time()
        self.life_span = life_span
        # set once Ray runs the command: setting up the runtime env and waiting for resources
        # do not count (as locally, where the life span starts with the process)
        self.deadline: float | None = None
        self._exit: ExitInfo | None = None
        self._next_poll = time.monotonic() + POLL_EVERY
        self._next_log = time.monotonic() + LOG_EVERY
        self._reason = ""
        self._stopping = False
        self._silent_since: float | None = None  # when the cluster stopped answering
        self.status = "pending"

    def poll(self) -> ExitInfo | None:
        if self._exit is not None:
            return self._exit
        now = time.monotonic()
        if now < self._next_poll and not self._past_deadline():
            return None
        age = time.time() - self.started_at
        self._next_poll = now + min(POLL_MOST, max(POLL_EVERY, age / 20))
        if self._past_deadline() and not self._reason:
            self._reason = "life span ended"
            self._request_stop()
        try:
            current = state(self.address, self.raw_id)
        except RayJobNotFoundError as exc:
            return self._end(ExitInfo(exit_code=None, reason=str(exc)))
        except BackendError as exc:  # no answer this time: ask again, up to a limit
            self._silent_since = self._silent_since or now
            limit = GIVE_UP_STOPPING if self._stopping else GIVE_UP_AFTER
            if now - self._silent_since >= limit:
                return self._end(ExitInfo(exit_code=None, reason=str(exc)))
            return None
        self._silent_since = None
        self.status = current.status
        if self.life_span and self.deadline is None and current.status == "running":
            self.deadline = time.time() + self.life_span
        if current.exit is None:
            if now >= self._next_log:
                self._next_log = now + LOG_EVERY
                self._save_log()
            return None
        self._save_log()
        info = current.exit
        if self.life_span and info.exit_code == TIMED_OUT:  # the node's own timeout ended it
            self._reason = self._reason or "life span ended"
        if self._reason and not info.ok:
            info = ExitInfo(exit_code=info.exit_code, signal=info.signal, reason=self._reason)
        return self._end(info)

    def _end(self, info: ExitInfo) -> ExitInfo:
        self._exit = info
        return info

    def _past_deadline(self) -> bool:
        return self.deadline is not None and time.time() >= self.deadline

    def _save_log(self) -> None:
        try:
            save_log(self.address, self.raw_id, self.log_path, self.command, self.head)
        except BackendError:
            pass  # the next poll copies it

    def _request_stop(self) -> None:
        self._stopping = True
        try:
            stop(self.address, self.raw_id)
        except BackendError:
            pass  # polls notice the end, or give up after GIVE_UP_STOPPING

    def kill(self, grace: float = 10.0) -> None:
        """Ask Ray to stop the job and return: Ray sends SIGTERM, then SIGKILL after its own
        grace period; ``poll`` reports the end (so cancelling many tasks takes one wait)."""
        if self._exit is not None or self._stopping:
            return
        if not self._reason:
            self._reason = "cancelled"
        self._request_stop()
        self._next_poll = 0.0
