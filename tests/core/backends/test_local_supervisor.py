"""Supervised detached jobs with real processes: records, life span, kill, faults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from neuro_jupyter.core.backends.base import Resources
from neuro_jupyter.core.backends.local.procs import is_alive, start_ticks
from neuro_jupyter.core.backends.local.supervision import (
    SupervisedExecution,
    check_record,
    kill_record,
)
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.store.jobs import get_job_record, update_job

StartJob = Callable[..., str]
Wait = Callable[..., None]


def finished(raw_id: str) -> bool:
    return not check_record(get_job_record(raw_id)).active


def running(raw_id: str) -> bool:
    return get_job_record(raw_id).status == "running"


def test_success_is_recorded_with_log(start_job: StartJob, wait_for: Wait) -> None:
    raw = start_job("echo out; echo err >&2; pwd")
    wait_for(lambda: finished(raw))
    rec = get_job_record(raw)
    assert rec.status == "succeeded" and rec.exit_code == 0 and rec.signal is None
    assert rec.pid and rec.supervisor_pid and rec.started_at and rec.finished_at
    assert rec.created_at <= rec.started_at <= rec.finished_at
    log = Path(rec.log_path).read_text()
    assert "out\n" in log and "err\n" in log and log.strip().endswith(str(Path(rec.spec["workdir"])))


def test_failure_exit_code(start_job: StartJob, wait_for: Wait) -> None:
    raw = start_job("exit 3")
    wait_for(lambda: finished(raw))
    rec = get_job_record(raw)
    assert (rec.status, rec.exit_code, rec.reason) == ("failed", 3, "exit code 3")
    assert SupervisedExecution(raw).poll() is not None


def test_life_span_is_enforced(start_job: StartJob, wait_for: Wait) -> None:
    raw = start_job("sleep 60", life_span=0.5)
    wait_for(lambda: finished(raw))
    rec = get_job_record(raw)
    assert rec.status == "failed" and "life span" in rec.reason and rec.signal == signal.SIGTERM


def test_kill_terminates_the_group(start_job: StartJob, wait_for: Wait) -> None:
    raw = start_job("sleep 60 & sleep 61; wait")
    wait_for(lambda: running(raw))
    rec = kill_record(get_job_record(raw), grace=5)
    assert rec.status == "cancelled"

    def group_gone() -> bool:
        out = subprocess.run(["pgrep", "-g", str(rec.pid)], capture_output=True, text=True)
        return all(start_ticks(int(pid)) is None for pid in out.stdout.split())  # zombies at most

    wait_for(group_gone, timeout=5)


def test_kill_escalates_to_sigkill(start_job: StartJob, wait_for: Wait, monkeypatch: object) -> None:
    raw = start_job("trap '' TERM; echo ready; while true; do sleep 0.1; done")
    wait_for(lambda: "ready" in Path(get_job_record(raw).log_path).read_text())
    rec = kill_record(get_job_record(raw), grace=0.5)
    assert rec.status == "cancelled" and rec.signal == signal.SIGKILL


def test_killed_from_outside_is_failed_with_its_signal(start_job: StartJob, wait_for: Wait) -> None:
    raw = start_job("sleep 60")
    wait_for(lambda: running(raw))
    os.kill(get_job_record(raw).pid or 0, signal.SIGKILL)
    wait_for(lambda: finished(raw))
    rec = get_job_record(raw)
    assert rec.status == "failed" and rec.signal == signal.SIGKILL and "SIGKILL" in rec.reason
    assert rec.exit_code == 137


def test_dead_supervisor_is_detected_and_job_stopped(start_job: StartJob, wait_for: Wait) -> None:
    raw = start_job("sleep 60")
    wait_for(lambda: running(raw))
    rec = get_job_record(raw)
    os.kill(rec.supervisor_pid or 0, signal.SIGKILL)
    wait_for(lambda: finished(raw))  # its keeper records how it died
    fresh = get_job_record(raw)
    assert fresh.status == "failed"
    assert fresh.reason.startswith(f"the supervisor (pid {rec.supervisor_pid}) was killed by "
                                   "SIGKILL; the job was stopped")  # (and how many it killed)
    assert not is_alive(rec.pid, rec.pid_start)  # ended before it was recorded


def test_reused_pid_does_not_count_as_alive(start_job: StartJob, wait_for: Wait) -> None:
    raw = start_job("sleep 60")
    wait_for(lambda: running(raw))
    rec = get_job_record(raw)
    # pretend the supervisor's pid now belongs to another process (this test process)
    update_job(raw, supervisor_pid=os.getpid(), supervisor_start=(start_ticks(os.getpid()) or 0) + 1)
    assert check_record(get_job_record(raw)).status == "failed"
    os.kill(rec.supervisor_pid or 0, signal.SIGKILL)


def test_command_not_found(start_job: StartJob, wait_for: Wait, a_project: object) -> None:
    raw = start_job("exec /no/such/binary")
    wait_for(lambda: finished(raw))
    assert get_job_record(raw).exit_code == 127


def test_memory_limit_from_preset(start_job: StartJob, wait_for: Wait) -> None:
    raw = start_job(
        f"{sys.executable} -c 'b = bytearray(400 * 1024 * 1024)'",
        resources=Resources(memory_mb=200),
    )
    wait_for(lambda: finished(raw))
    rec = get_job_record(raw)
    assert rec.status == "failed" and "MemoryError" in Path(rec.log_path).read_text()


def test_job_outlives_the_process_that_started_it(start_job: StartJob, wait_for: Wait, a_project: Project, tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import time, uuid
        from neuro_jupyter.core import paths
        from neuro_jupyter.core.backends.base import ProcessSpec
        from neuro_jupyter.core.backends.local import LocalBackend
        from neuro_jupyter.core.project import open_project
        from neuro_jupyter.core.store.jobs import JobRecord, insert_job
        from neuro_jupyter.core.store.projects import project_pk
        p = open_project({str(a_project.root)!r})
        raw = "job-" + str(uuid.uuid4())
        log = paths.logs_dir() / (raw + ".log")
        insert_job(JobRecord(raw_id=raw, project_pk=project_pk(p), job_id="t", created_at=time.time(), log_path=str(log)))
        LocalBackend().start(ProcessSpec(argv=("sleep", "60"), workdir=p.root, log_path=log), raw_id=raw, detached=True)
        print(raw)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=os.environ)
    raw = out.stdout.strip()
    wait_for(lambda: running(raw))
    time.sleep(0.2)
    assert check_record(get_job_record(raw)).status == "running"
    assert kill_record(get_job_record(raw), grace=1).status == "cancelled"


def test_restart_on_failure(start_job: StartJob, wait_for: Wait) -> None:
    # fails twice, then succeeds: restart: on-failure runs it three times
    raw = start_job('n=$(cat runs 2>/dev/null || echo 0); echo $((n+1)) > runs; echo "run $n"; [ "$n" -ge 2 ]',
                    restart="on-failure")
    wait_for(lambda: finished(raw))
    rec = get_job_record(raw)
    log = Path(rec.log_path).read_text()
    assert rec.status == "succeeded" and "run 2" in log and log.count("restart #") == 2


def test_no_restart_after_the_life_span(start_job: StartJob, wait_for: Wait) -> None:
    """A restart that would come after the life span (over all runs) is not made: the job
    failed, with its last exit code, as a bake's task does."""
    raw = start_job("echo run; sleep 0.95; exit 3", life_span=1.0, restart="on-failure")
    wait_for(lambda: finished(raw))
    rec = get_job_record(raw)
    assert rec.status == "failed" and rec.reason == "life span of 1s ended"
    assert rec.exit_code == 3
    assert Path(rec.log_path).read_text() == "run\n"  # no "restart #1" it would not make


def test_a_signal_shows_in_the_restart_line_as_the_shell_reports_it(
    start_job: StartJob, wait_for: Wait
) -> None:
    raw = start_job('[ -e seen ] && exit 0; touch seen; kill -TERM $$', restart="on-failure")
    wait_for(lambda: finished(raw))
    assert Path(get_job_record(raw).log_path).read_text() == (
        "neuro-jupyter: the job exited with code 143; restart #1 in 0.1s (restart: on-failure)\n")


def test_kill_stops_restarting(start_job: StartJob, wait_for: Wait) -> None:
    raw = start_job("echo once; exit 1", restart="always")
    wait_for(lambda: Path(get_job_record(raw).log_path).read_text().count("once") >= 2)
    assert kill_record(get_job_record(raw), grace=1).status == "cancelled"
