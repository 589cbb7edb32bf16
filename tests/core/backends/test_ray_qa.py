"""Ray backend edge cases found by hand: a dashboard that never answers, a cluster that went
away under a live job, a task's life span and its set-up time, misspelt settings."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuro_jupyter.core import paths
from neuro_jupyter.core.backends.base import ProcessSpec
from neuro_jupyter.core.backends.ray import RayBackend
from neuro_jupyter.core.backends.ray import client as ray_client_module
from neuro_jupyter.core.backends.ray import records as ray_records
from neuro_jupyter.core.backends.ray.client import (
    RayJobNotFoundError,
    RayUnreachableError,
    call,
    ray_client,
)
from neuro_jupyter.core.backends.records import refresh_record
from neuro_jupyter.core.backends.target import normalize_address, resolve_target
from neuro_jupyter.core.errors import InvalidInputError
from neuro_jupyter.core.live import follow_log, get_job
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.store.jobs import JobRecord, get_job_record, insert_job
from neuro_jupyter.core.store.projects import project_pk


@pytest.fixture
def silent_dashboard() -> Iterator[str]:
    """A server on 127.0.0.1 that accepts connections and never answers (a hung dashboard)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in accepted:
        conn.close()


def test_a_dashboard_that_never_answers_is_an_error_not_a_hang(
    silent_dashboard: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ray_client_module, "READ_TIMEOUT", 0.5)
    with pytest.raises(RayUnreachableError, match="timed out"):
        ray_client(silent_dashboard)


def test_a_silent_dashboard_is_waited_for_once_not_once_per_job(
    silent_dashboard: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers refresh every job of a cluster in turn: after one timeout the next ones fail at
    once for a while, instead of each waiting the whole timeout again."""
    monkeypatch.setattr(ray_client_module, "READ_TIMEOUT", 1.0)
    monkeypatch.setattr(ray_client_module, "_SILENT", {})
    started = time.monotonic()
    with pytest.raises(RayUnreachableError, match="timed out"):
        ray_client(silent_dashboard)
    assert time.monotonic() - started >= 1.0
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(RayUnreachableError, match="not asked again for 15 s after a timeout"):
            call(silent_dashboard, "read the status of job-x", "get_job_status", "job-x")
    assert time.monotonic() - started < 0.5
    silence = ray_client_module._SILENT[silent_dashboard]
    ray_client_module._SILENT[silent_dashboard] = (time.monotonic(), silence[1])  # it is over
    with pytest.raises(RayUnreachableError) as raised:  # asked again afterwards
        ray_client(silent_dashboard)
    assert "timed out" in str(raised.value) and "not asked again" not in str(raised.value)


def test_a_live_job_of_a_silent_cluster_is_lost_after_a_while(
    a_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ray_head import free_port

    address = f"http://127.0.0.1:{free_port()}"  # nobody listens: the cluster went away
    raw_id = f"job-{uuid.uuid4()}"
    log = paths.logs_dir() / f"{raw_id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("before\n")
    insert_job(JobRecord(raw_id=raw_id, project_pk=project_pk(a_project), job_id="train",
                         backend=f"ray@{address}", status="running", created_at=time.time(),
                         started_at=time.time(), log_path=str(log)))
    monkeypatch.setattr(ray_records, "LOST_AFTER", 1.0)
    record = get_job(raw_id)
    assert record.status == "running"  # not known yet: the stored state, and why
    assert record.reason == f"state unknown: the Ray cluster at {address} does not answer"
    assert "".join(follow_log(record, poll=0.2)) == "before\n"  # ends once the job is lost
    record = get_job(raw_id)
    assert record.status == "failed" and record.reason.startswith(
        f"lost: the Ray cluster at {address} has not answered for"), record.reason


def test_a_tasks_life_span_starts_when_ray_runs_it(a_project: Project, ray_cluster: str) -> None:
    """Setting up the job's runtime env (seconds here) is not taken from its life span."""
    log = paths.logs_dir() / "life.log"
    spec = ProcessSpec(argv=("bash", "-c", "echo started; sleep 120"), workdir=a_project.root,
                       log_path=log, life_span=1.0, name="life", project_root=a_project.root)
    execution = RayBackend(ray_cluster).start(spec, raw_id=f"job-{uuid.uuid4()}", detached=False)
    deadline = time.monotonic() + 90
    while (info := execution.poll()) is None:
        assert time.monotonic() < deadline, "the task did not end"
        time.sleep(0.1)
    assert info.reason == "life span ended"
    assert Path(log).read_text() == "started\n"


@pytest.mark.parametrize("address", [
    "garbage addr", "http://h:abc", "http://h:0", "http://h:99999", "http://ho st:1",
])
def test_bad_ray_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidInputError, match="Invalid Ray address"):
        normalize_address(address)


def test_the_scheme_is_lowercased() -> None:
    assert normalize_address("HTTP://127.0.0.1:8265/") == "http://127.0.0.1:8265"


@pytest.mark.parametrize(("text", "message"), [
    ('[neuro_jupyter]\nbackend = "ray"\n', "[neuro_jupyter] is not a section of neuro-jupyter; "
                                           "did you mean [neuro-jupyter]?"),
    ('[NeuroJupyter]\nbackend = "ray"\n', "did you mean [neuro-jupyter]?"),
    ('backend = "ray"\n', "backend belongs in the [neuro-jupyter] section"),
    ('[neuro-jupyter]\nbackend = "ray"\nray-address = "a b"\n',
     "[neuro-jupyter] ray-address: Invalid Ray address 'a b'"),
])
def test_misplaced_settings_are_errors(a_project: Project, text: str, message: str) -> None:
    path = a_project.root / ".neuro.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInputError) as info:
        resolve_target(a_project)
    assert str(path) in str(info.value) and message in str(info.value)


def test_a_job_the_cluster_does_not_know_is_not_found(ray_cluster: str) -> None:
    for method in ("get_job_status", "get_job_info", "get_job_logs", "stop_job"):
        with pytest.raises(RayJobNotFoundError, match="does not know the job"):
            call(ray_cluster, "read job-nope", method, "job-nope")


def test_a_live_jobs_life_span_stops_it_once(
    a_project: Project, ray_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers that refresh a job past its life span ask Ray to stop it once, not on every
    refresh while Ray stops it (the job ignores SIGTERM: Ray kills it after its grace)."""
    sent: list[str] = []

    def counted_stop(address: str, raw_id: str) -> None:
        sent.append(raw_id)
        real_stop(address, raw_id)

    real_stop = ray_records.stop
    monkeypatch.setattr(ray_records, "stop", counted_stop)
    raw_id = f"job-{uuid.uuid4()}"
    log = paths.logs_dir() / f"{raw_id}.log"
    insert_job(JobRecord(raw_id=raw_id, project_pk=project_pk(a_project), job_id="stubborn",
                         backend=f"ray@{ray_cluster}", created_at=time.time(), log_path=str(log),
                         life_span=1.0))
    script = "trap '' TERM; echo started; while :; do sleep 0.1; done"
    spec = ProcessSpec(argv=("bash", "-c", script), workdir=a_project.root, log_path=log,
                       name="stubborn", project_root=a_project.root)  # no timeout on the node
    RayBackend(ray_cluster).start(spec, raw_id=raw_id, detached=True)
    deadline = time.monotonic() + 90
    while (record := refresh_record(get_job_record(raw_id))).active:
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.05)
    assert record.status == "failed" and record.reason == "life span of 1s ended", record.reason
    assert sent == [raw_id]


def test_a_bake_upload_the_cluster_deleted_is_sent_again_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray deletes an upload when the job that used it ends after the upload's first 10 minutes
    (15 s here: the first task outlasts them), and a node without its own copy (no local
    cache here) cannot set up the next job. A bake's next task sends the kept package again: the code the bake started
    with, not the folder as it is now."""
    from ray_head import start_head

    from neuro_jupyter.core.backends.ray import jobs as ray_jobs

    monkeypatch.setenv("RAY_RUNTIME_ENV_TEMPORARY_REFERENCE_EXPIRATION_S", "15")
    monkeypatch.setenv("RAY_RUNTIME_ENV_WORKING_DIR_CACHE_SIZE_GB", "0")
    monkeypatch.setattr(ray_jobs, "RECHECK_UPLOAD", 0.0)
    head = start_head(num_cpus=2)
    try:
        backend = RayBackend(head.address)
        root = tmp_path / "proj"
        root.mkdir()
        (root / "marker.txt").write_text("as the bake started\n")

        def run(number: int, wait: float = 0) -> tuple[object, str]:
            log = tmp_path / f"task{number}.log"
            spec = ProcessSpec(argv=("sh", "-c", f"sleep {wait}; cat marker.txt"),
                               workdir=root, log_path=log,
                               project_root=root, name=f"t{number}")
            execution = backend.start(spec, raw_id=f"job-{uuid.uuid4()}", detached=False)
            while (info := execution.poll()) is None:
                time.sleep(0.2)
            return info, log.read_text()

        info, text = run(1, wait=17)
        assert info.ok and text == "as the bake started\n"  # type: ignore[attr-defined]
        # the project is no longer at its path on "the node": the job uses Ray's copy
        (root / "marker.txt").write_text("changed since\n")
        root.rename(tmp_path / "moved")
        (uri,) = [u for (address, _, _), u in ray_jobs._UPLOADED.items() if address == head.address]
        deadline = time.monotonic() + 90
        while ray_client(head.address)._package_exists(uri):  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "Ray kept the upload"
            time.sleep(0.5)
        info, text = run(2)
        assert info.ok and text == "as the bake started\n", (info, text)  # type: ignore[attr-defined]
    finally:
        head.stop()
