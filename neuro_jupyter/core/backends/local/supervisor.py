"""The supervisor of one detached local job: ``python -m ...supervisor RAW_ID``.

Started in its own session so it outlives the kernel that launched it. It reads the job's
ProcessSpec from the store, starts the job in a new process group with stdout+stderr going to the
job's log file, records start, pid, exit code or signal and finish time, enforces ``life_span``,
restarts the job as its ``restart`` policy says (``on-failure``/``always``, with a growing pause),
and on SIGTERM (``kill``) stops the job's group: SIGTERM, then SIGKILL after a grace period.

It first forks a keeper (``keeper.py``): if the supervisor dies, the keeper ends every process
the job started (also those that left its group) and records how the supervisor died. The job's
own process also gets SIGKILL then (PR_SET_PDEATHSIG). Readers notice a supervisor that died
with its keeper and mark the job failed (``supervision.py``).

What it records is kept in memory (``JobBook``) and written when the store takes it: a full
disk, or a damaged or replaced store, makes it retry with a growing pause, never lose the job's
end or die; a store replaced meanwhile gets the job's whole record again.

It waits on a pidfd and a signal wake-up socket, so it uses almost no CPU while the job runs
(it looks at the store file every ``FOLLOW_INTERVAL`` seconds, to write back a deleted one).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ...errors import StoreError
from ...fdwait import readable
from ...store.db import Store, open_store
from ...store.jobs import JobRecord, finish_job, get_job_record, put_job, update_job
from ...store.projects import ensure_project, get_project
from ...store.retry import Backoff, until_written
from ...store.space import disk_full
from ..base import ProcessSpec
from ..restart import delay, exit_status, life_span_ended, log_line, past_life_span, restarts
from . import keeper
from .limits import preexec
from .procs import signal_group, signal_name, start_ticks
from .specio import spec_from_dict

GRACE_ENV = "NEURO_JUPYTER_KILL_GRACE"
DEFAULT_GRACE = 10.0
FOLLOW_INTERVAL = 2.0  # seconds between looks at the store file (a deleted one is written back)


class _Flags:
    stop = False


def _on_stop(signum: int, frame: object) -> None:
    _Flags.stop = True


class JobBook:
    """The supervisor's record of its job: the truth in memory, written to the store when it
    takes it (``pending`` holds what is not written yet)."""

    def __init__(self, record: JobRecord, store: Store) -> None:
        self.record = record
        self.store = store
        self.pending: dict[str, Any] = {}
        self.backoff = Backoff()
        self.ended_elsewhere = False  # a reader or ``kill`` ended the job's row meanwhile
        self.project = get_project(record.project_pk, store)
        self.next_follow = time.monotonic() + FOLLOW_INTERVAL
        store.on_new_file.append(self._record_again)

    def set(self, **fields: Any) -> None:
        """Change the record and write it (now, or once the store takes it)."""
        self.record = dataclasses.replace(self.record, **fields)
        self.pending.update(fields)
        self.flush()

    def flush(self) -> None:
        """Write what is pending unless a failed write's pause is still running."""
        if not self.pending or self.backoff.wait_left():
            return
        try:
            if not update_job(self.record.raw_id, self.store, only_if_active=True, **self.pending):
                self.ended_elsewhere = True
        except StoreError as exc:
            self.backoff.failed(exc)
            return
        self.backoff.succeeded()
        self.pending.clear()

    def settle(self, wake: socket.socket) -> None:
        """Write what is pending, however long the store refuses it (signals are drained)."""
        while self.pending:
            self.flush()
            if self.pending:
                _pause(wake, self.backoff.wait_left())

    def follow(self) -> None:
        """Every FOLLOW_INTERVAL: write back a deleted store, record the job in a new one."""
        now = time.monotonic()
        if now < self.next_follow:
            return
        self.next_follow = now + FOLLOW_INTERVAL
        try:
            self.store.follow()
        except StoreError as exc:
            self.backoff.failed(exc)

    def timeout(self) -> float:
        """How long the supervisor may sleep before it has store work to do."""
        left = max(0.0, self.next_follow - time.monotonic())
        return min(left, self.backoff.wait_left()) if self.pending else left

    def _record_again(self, store: Store) -> None:
        """A new or restored store: the project's row and the job's whole row, as known here."""
        pk = ensure_project(self.project.root, self.project.project_id, self.project.name,
                            store, refresh=False)
        self.record = dataclasses.replace(self.record, project_pk=pk)
        put_job(self.record, store)
        if self.pending:
            self.pending["project_pk"] = pk


def _pause(wake: socket.socket, seconds: float) -> None:
    """Sleep up to ``seconds``, waking for signals (whose bytes are drained)."""
    if readable([wake], seconds):
        try:
            wake.recv(4096)
        except BlockingIOError:  # pragma: no cover
            pass


def supervise(raw_id: str) -> int:
    """Run job ``raw_id`` to its end and record everything; returns the supervisor exit code."""
    store = open_store(repair=False)
    record = get_job_record(raw_id, store)
    if not record.active:  # killed (or failed) before its supervisor got going
        return 0
    spec = spec_from_dict(record.spec)
    grace = float(os.environ.get(GRACE_ENV) or DEFAULT_GRACE)
    wake_r, wake_w = socket.socketpair()
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_stop)
    book = JobBook(record, store)
    book.set(supervisor_pid=os.getpid(), supervisor_start=start_ticks(os.getpid()))
    if book.ended_elsewhere:  # killed before it started: nothing to run or record
        return 0
    if _Flags.stop:
        book.set(status="cancelled", reason="killed before it started", finished_at=time.time())
        book.settle(wake_r)
        return 0
    try:
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # the start says why the log cannot be written
    if (record.meta.get("environment") or {}).get("build_id"):  # its environment is building
        from ...envs.jobs import wait_for_environment

        why = wait_for_environment(record.meta["environment"], spec.log_path, lambda: _Flags.stop)
        if why:
            cancelled = why == "cancelled"
            book.set(status="cancelled" if cancelled else "failed",
                     reason="killed before it started" if cancelled else why,
                     finished_at=time.time())
            book.settle(wake_r)
            return 0
    policy = spec.restart
    started = time.time()
    count = 0  # restarts so far
    while True:
        proc = _start(book, spec)
        if proc is None:
            book.settle(wake_r)
            return 0
        fields: dict[str, Any] = {"pid": proc.pid, "pid_start": start_ticks(proc.pid)}
        if not count:
            fields.update(status="running", started_at=started)
        book.set(**fields)
        if book.ended_elsewhere:
            # the job was ended meanwhile (killed before it started): do not let it run
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            return 0
        why = _wait(proc, spec.life_span, started, grace, wake_r, book)
        code = proc.returncode
        signal_group(proc.pid, signal.SIGKILL)  # like a container: leftovers die with the job
        if why == "ended":
            return 0
        if why != "exited" or not restarts(policy, code):
            break
        pause = delay(count + 1)
        if past_life_span(started, spec.life_span, time.time() + pause):
            why = "life_span"
            break
        count += 1
        _log(spec.log_path, log_line(exit_status(code), count, pause, policy) + "\n")
        _pause(wake_r, pause)
        if _Flags.stop:
            why = "cancelled"
            break
    end: dict[str, Any] = {"exit_code": exit_status(code), "signal": -code if code < 0 else None}
    if why == "cancelled":
        end.update(status="cancelled", reason="killed")
    elif why == "life_span":
        end.update(status="failed", reason=life_span_ended(spec.life_span))
    elif code == 0:
        end.update(status="succeeded", reason="")
    elif code < 0:
        end.update(status="failed", reason=f"killed by {signal_name(-code)}")
    else:
        end.update(status="failed", reason=f"exit code {code}")
    if end["status"] == "failed" and disk_full(spec.log_path.parent):
        end["reason"] += ("; the disk holding its log was full when it ended (its output may "
                          "be cut, and a write it made may be what failed)")
    book.set(finished_at=time.time(), **end)
    book.settle(wake_r)
    return 0


def _start(book: JobBook, spec: ProcessSpec) -> subprocess.Popen[bytes] | None:
    """Start the job's process in its own group, output to the log; None (and the job recorded
    failed) when it cannot start."""
    try:
        log = open(spec.log_path, "ab", buffering=0)
    except OSError as exc:
        book.set(status="failed", reason=f"cannot write its log {spec.log_path}: {exc.strerror}",
                 exit_code=127, finished_at=time.time())
        return None
    with log:
        try:
            return subprocess.Popen(
                list(spec.argv), cwd=str(spec.workdir), env={**os.environ, **spec.env},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=preexec(spec.resources, die_with_parent=True),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            _write(log, f"neuro-jupyter: cannot start {spec.argv[0]!r}: {exc}\n")
            book.set(status="failed", reason=f"cannot start {spec.argv[0]!r}: {exc}",
                     exit_code=127, finished_at=time.time())
            return None


def _write(log: Any, text: str) -> None:
    """Add our own line to a job's log; a full disk loses the line, not the bookkeeping."""
    try:
        log.write(text.encode())
    except OSError:
        pass


def _log(path: Path, text: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(text)
    except OSError:  # e.g. a full disk: the restart goes on, only the log line is lost
        pass


def _wait(
    proc: subprocess.Popen[bytes], life_span: float | None, started: float, grace: float,
    wake: socket.socket, book: JobBook,
) -> str:
    """Wait for the job to end, handling kill requests, the life span and the store; returns
    why it ended: ``exited``, ``cancelled``, ``life_span``, or ``ended`` (its row was ended by
    someone else: it was killed and nothing more is recorded)."""
    try:
        pidfd: int | None = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # pragma: no cover - old kernels
        pidfd = None
    why = "exited"
    life_deadline = started + life_span if life_span else None
    kill_deadline: float | None = None
    try:
        while proc.poll() is None:
            book.flush()
            book.follow()
            if book.ended_elsewhere:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
                return "ended"
            now = time.time()
            if _Flags.stop and why == "exited":
                why = "cancelled"
            if life_deadline is not None and now >= life_deadline and why == "exited":
                why = "life_span"
            if why != "exited" and kill_deadline is None:
                signal_group(proc.pid, signal.SIGTERM)
                kill_deadline = now + grace
            if kill_deadline is not None and now >= kill_deadline:
                signal_group(proc.pid, signal.SIGKILL)
                kill_deadline = now + 3600
            deadlines = [d for d in (life_deadline if why == "exited" else None, kill_deadline) if d]
            timeout = book.timeout()
            if deadlines:
                timeout = min(timeout, max(0.0, min(deadlines) - now))
            if pidfd is None:
                timeout = min(timeout, 0.2)
            watched = [wake] + ([pidfd] if pidfd is not None else [])
            if wake.fileno() in readable(watched, timeout):
                try:
                    wake.recv(4096)
                except BlockingIOError:  # pragma: no cover
                    pass
    finally:
        if pidfd is not None:
            os.close(pidfd)
    return why


def _died(raw_id: str, pid: int, signum: int, stopped: int) -> None:
    """The keeper's record of a supervisor that was killed (its job's tree has ended)."""
    reason = f"the supervisor (pid {pid}) was killed by {signal_name(signum)}; the job was stopped"
    if stopped:
        reason += f" (its {stopped} remaining process{'es' if stopped > 1 else ''} killed)"
    store = open_store(repair=False)
    until_written(lambda: finish_job(raw_id, "failed", reason=reason, signal=signal.SIGKILL,
                                     store=store))


def main(argv: list[str] | None = None) -> int:
    """Entry point; errors end up in the job's log and record, never silently."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m neuro_jupyter.core.backends.local.supervisor RAW_ID", file=sys.stderr)
        return 2
    raw_id = args[0]
    keeper.keep(lambda pid, signum, stopped: _died(raw_id, pid, signum, stopped))
    try:
        return supervise(raw_id)
    except BaseException as exc:  # record the crash instead of leaving the job "running"
        text = traceback.format_exc()
        reason = f"supervisor error: {exc!r}"
        try:
            record = get_job_record(raw_id)
            if record.log_path:
                _log(Path(record.log_path), f"neuro-jupyter supervisor error:\n{text}")
            if record.pid:
                signal_group(record.pid, signal.SIGKILL)
            until_written(lambda: finish_job(raw_id, "failed", reason=reason), tries=10)
        except Exception:  # pragma: no cover - the store itself is broken
            sys.stderr.write(text)
        return 1


if __name__ == "__main__":
    sys.exit(main())
