"""The supervisor of one detached local job: ``python -m ...supervisor RAW_ID``.

Started in its own session so it outlives the kernel that launched it. It reads the job's
ProcessSpec from the store, starts the job in a new process group with stdout+stderr going to the
job's log file, records start, pid, exit code or signal and finish time, enforces ``life_span``,
restarts the job as its ``restart`` policy says (``on-failure``/``always``, with a growing pause),
and on SIGTERM (``kill``) stops the job's group: SIGTERM, then SIGKILL after a grace period.
The job gets SIGKILL if the supervisor itself dies (PR_SET_PDEATHSIG), so a job never runs
unrecorded; readers notice a dead supervisor and mark the job failed (``supervision.py``).

It waits on a pidfd and a signal wake-up socket, so it uses no CPU while the job runs.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ...store.db import open_store
from ...store.jobs import finish_job, get_job_record, update_job
from ..base import ProcessSpec
from ..restart import delay, exit_status, life_span_ended, log_line, past_life_span, restarts
from .limits import preexec
from .procs import signal_group, signal_name, start_ticks
from .specio import spec_from_dict

GRACE_ENV = "NEURO_JUPYTER_KILL_GRACE"
DEFAULT_GRACE = 10.0


class _Flags:
    stop = False


def _on_stop(signum: int, frame: object) -> None:
    _Flags.stop = True


def supervise(raw_id: str) -> int:
    """Run job ``raw_id`` to its end and record everything; returns the supervisor exit code."""
    open_store()
    record = get_job_record(raw_id)
    if not record.active:  # killed (or failed) before its supervisor got going
        return 0
    spec = spec_from_dict(record.spec)
    grace = float(os.environ.get(GRACE_ENV) or DEFAULT_GRACE)
    wake_r, wake_w = socket.socketpair()
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_stop)
    update_job(raw_id, supervisor_pid=os.getpid(), supervisor_start=start_ticks(os.getpid()))
    if _Flags.stop:
        finish_job(raw_id, "cancelled", reason="killed before it started")
        return 0
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    if (record.meta.get("environment") or {}).get("build_id"):  # its environment is building
        from ...envs.jobs import wait_for_environment

        why = wait_for_environment(record.meta["environment"], spec.log_path, lambda: _Flags.stop)
        if why:
            finish_job(raw_id, "cancelled" if why == "cancelled" else "failed",
                       reason="killed before it started" if why == "cancelled" else why)
            return 0
    policy = spec.restart
    started = time.time()
    count = 0  # restarts so far
    while True:
        proc = _start(raw_id, spec)
        if proc is None:
            return 0
        fields: dict[str, Any] = {"pid": proc.pid, "pid_start": start_ticks(proc.pid)}
        if not count:
            fields.update(status="running", started_at=started)
        if not update_job(raw_id, only_if_active=True, **fields):
            # the job was ended meanwhile (killed before it started): do not let it run
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            return 0
        why = _wait(proc, spec.life_span, started, grace, wake_r)
        code = proc.returncode
        signal_group(proc.pid, signal.SIGKILL)  # like a container: leftovers die with the job
        if why != "exited" or not restarts(policy, code):
            break
        pause = delay(count + 1)
        if past_life_span(started, spec.life_span, time.time() + pause):
            why = "life_span"
            break
        count += 1
        _log(spec.log_path, log_line(exit_status(code), count, pause, policy) + "\n")
        select.select([wake_r], [], [], pause)
        if _Flags.stop:
            why = "cancelled"
            break
    if why == "cancelled":
        finish_job(raw_id, "cancelled", reason="killed", exit_code=exit_status(code),
                   signal=-code if code < 0 else None)
    elif why == "life_span":
        finish_job(raw_id, "failed", reason=life_span_ended(spec.life_span),
                   exit_code=exit_status(code), signal=-code if code < 0 else None)
    elif code == 0:
        finish_job(raw_id, "succeeded", exit_code=0)
    elif code < 0:
        finish_job(raw_id, "failed", reason=f"killed by {signal_name(-code)}",
                   exit_code=exit_status(code), signal=-code)
    else:
        finish_job(raw_id, "failed", reason=f"exit code {code}", exit_code=code)
    return 0


def _start(raw_id: str, spec: ProcessSpec) -> subprocess.Popen[bytes] | None:
    """Start the job's process in its own group, output to the log; None (and the job recorded
    failed) when it cannot start."""
    with open(spec.log_path, "ab", buffering=0) as log:
        try:
            return subprocess.Popen(
                list(spec.argv), cwd=str(spec.workdir), env={**os.environ, **spec.env},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=preexec(spec.resources, die_with_parent=True),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.write(f"neuro-jupyter: cannot start {spec.argv[0]!r}: {exc}\n".encode())
            finish_job(raw_id, "failed", reason=f"cannot start {spec.argv[0]!r}: {exc}", exit_code=127)
            return None


def _log(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as log:
        log.write(text)


def _wait(
    proc: subprocess.Popen[bytes], life_span: float | None, started: float, grace: float,
    wake: socket.socket,
) -> str:
    """Wait for the job to end, handling kill requests and the life span; returns why it ended:
    ``exited``, ``cancelled`` or ``life_span``."""
    try:
        pidfd: int | None = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # pragma: no cover - old kernels
        pidfd = None
    why = "exited"
    life_deadline = started + life_span if life_span else None
    kill_deadline: float | None = None
    try:
        while proc.poll() is None:
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
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            if pidfd is None:
                timeout = 0.2 if timeout is None else min(timeout, 0.2)
            watched = [wake] + ([pidfd] if pidfd is not None else [])
            ready, _, _ = select.select(watched, [], [], timeout)
            if wake in ready:
                try:
                    wake.recv(4096)
                except BlockingIOError:  # pragma: no cover
                    pass
    finally:
        if pidfd is not None:
            os.close(pidfd)
    return why


def main(argv: list[str] | None = None) -> int:
    """Entry point; errors end up in the job's log and record, never silently."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m neuro_jupyter.core.backends.local.supervisor RAW_ID", file=sys.stderr)
        return 2
    raw_id = args[0]
    try:
        return supervise(raw_id)
    except BaseException as exc:  # record the crash instead of leaving the job "running"
        text = traceback.format_exc()
        try:
            record = get_job_record(raw_id)
            if record.log_path:
                with open(Path(record.log_path), "a", encoding="utf-8") as log:
                    log.write(f"neuro-jupyter supervisor error:\n{text}")
            if record.pid:
                signal_group(record.pid, signal.SIGKILL)
            finish_job(raw_id, "failed", reason=f"supervisor error: {exc!r}")
        except BaseException:  # pragma: no cover - the store itself is broken
            sys.stderr.write(text)
        return 1


if __name__ == "__main__":
    sys.exit(main())
