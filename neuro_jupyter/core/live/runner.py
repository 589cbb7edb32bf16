"""``run``: start a live job (locally or on Ray), or re-attach to its running instance (§1.8)."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import paths
from ..backends.base import Backend, get_backend
from ..backends.records import refresh_record
from ..backends.target import BackendTarget, resolve_target
from ..errors import InvalidInputError, UnknownNameError
from ..presets import choose_preset
from ..store.jobs import (
    JobRecord,
    active_jobs,
    get_job_record,
    insert_job_unless_active,
    job_label,
)
from ..store.projects import project_pk
from .logs import log_tail
from .ports import choose_port, is_listening, rewrite_port
from .query import active_runs, job_infos
from .urls import (
    AUTH_ENV,
    BASE_URL_ENV,
    PORT_ENV,
    PROXY_ENV,
    TOKEN_ENV,
    absolute_base_path,
    server_base_url,
)

if TYPE_CHECKING:
    from ..envs.jobs import JobEnvironment
    from ..project.discovery import Project
    from ..workflow.model import JobSpec

_SUFFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")
STARTED_WAIT = 5.0  # seconds run waits for the supervisor to record the job as running
READY_WAIT = 15.0  # seconds run waits for a new job's HTTP port to answer, so its link works


@dataclass(frozen=True)
class RunResult:
    """What ``run`` did: started a new job, or found one running (``started`` False)."""

    record: JobRecord
    started: bool
    message: str
    attach: bool  # a terminal front end should stream the log (not detached)
    recent_log: str = ""  # the last lines, when re-attaching
    log_offset: int = 0  # where recent_log ends in the log: follow from there
    notes: tuple[str, ...] = ()  # what to know before it runs (its environment's build, apt.txt)

    @property
    def pending(self) -> bool:
        return not self.started and self.record.status == "pending"


def suffix_and_args(
    suffix: str | None, positional: Sequence[str]
) -> tuple[str | None, tuple[str, ...]]:
    """``run JOB [SUFFIX] [ARGS]...``: without ``-s``, the first positional is the suffix when
    it comes before any ``--`` and is a valid suffix (so ``run JOB --lr 1`` has none). The first
    ``--`` only separates run's words from the job's arguments and is dropped here, the one
    place that does (``run JOB SFX -- x -- y`` gives the job ``x -- y``)."""
    words = list(positional)
    cut = words.index("--") if "--" in words else len(words)
    before, after = words[:cut], words[cut + 1 :]
    if suffix is None and before and _SUFFIX.match(before[0]):
        return before[0], (*before[1:], *after)
    return suffix, (*before, *after)


def run_job(
    project: Project, job_id: str, *, suffix: str | None = None,
    params: Mapping[str, str] | None = None, args: Sequence[str] = (), detach: bool | None = None,
    server_base: str | None = None, backend: str | None = None, ray_address: str | None = None,
) -> RunResult:
    """Run live job ``job_id``; re-attach if it runs already. For multi jobs the suffix is
    ``suffix`` or a random one, and ``args`` become ``${{ multi.args }}``. ``server_base`` is
    the base URL of the Jupyter server to link through (found automatically when None).
    ``backend``/``ray_address`` override the project's choice of backend (a job that runs
    already is re-attached wherever it runs)."""
    infos = job_infos(project)
    info = infos.get(job_id)
    if info is None:
        raise UnknownNameError("job", job_id, infos, where=f"project {project.id}")
    if not info.multi:
        if suffix:
            raise InvalidInputError(f"Job {job_id} is not a multi job: it takes no suffix")
        if args:
            raise InvalidInputError(
                f"Extra arguments are for multi jobs only; {job_id} is not one (use -p NAME VALUE)"
            )
    explicit_suffix = bool(suffix)
    if info.multi and not suffix:
        suffix = secrets.token_hex(5)
    suffix = suffix or ""
    if suffix and not _SUFFIX.match(suffix):
        raise InvalidInputError(
            f"Invalid suffix {suffix!r}: letters, digits and '-', at most 40 characters"
        )
    label = job_label(job_id, suffix)
    if not info.multi or explicit_suffix:
        running = [r for r in active_runs(project, job_id) if r.suffix == suffix]
        if running:
            return _found(running[-1], label, detach, info.detach)
    from ..workflow import resolve_live_job

    target = resolve_target(project, backend, ray_address)
    spec = resolve_live_job(
        project, job_id, suffix=suffix, params=dict(params or {}), multi_args=tuple(args)
    )
    runner = get_backend(target)
    runner.check()  # Ray missing or not answering: nothing is recorded
    from ..envs.jobs import job_environment

    environment = job_environment(project, spec.image, target.name)  # a bad image: nothing recorded
    return _start(project, spec, suffix, label, detach, server_base, runner, target, environment)


def _found(record: JobRecord, label: str, detach: bool | None, job_detach: bool) -> RunResult:
    """The result of ``run`` on a job that is pending or running already (neuro-flow's words)."""
    if record.status == "pending":
        return RunResult(record, False, f"Job {label} is pending, try again later", False)
    attach = not (detach if detach is not None else job_detach)
    recent, offset = log_tail(record)
    return RunResult(record, False, f"Job {label} is running, connecting...", attach,
                     recent_log=recent, log_offset=offset)


def _start(
    project: Project, spec: JobSpec, suffix: str, label: str, detach: bool | None,
    server_base: str | None, backend: Backend, target: BackendTarget,
    environment: JobEnvironment | None = None,
) -> RunResult:
    raw_id = f"job-{uuid.uuid4()}"
    log_path = paths.logs_dir() / f"{raw_id}.log"
    asked = spec.http_port or None
    env_extra: dict[str, str] = {}
    meta: dict[str, Any] = {
        "title": spec.title, "image": spec.image, "preset": spec.preset,
        "multi": spec.multi, "detach": spec.detach, "browse": spec.browse,
        "tags": list(spec.tags), "port_forward": [list(p) for p in spec.port_forward],
    }
    port = None
    if asked:
        taken = {r.http_port for r in active_jobs() if r.http_port}
        # on a cluster elsewhere the job has the node's port to itself
        port = choose_port(asked, taken) if backend.ports_here else asked
        env_extra[PORT_ENV] = str(port)
        meta["proxy"] = spec.env.get(PROXY_ENV) or "prefix"
        if meta["proxy"] == "absolute":
            base = server_base if server_base is not None else server_base_url(project.root)
            meta["base_path"] = absolute_base_path(base, port)
            env_extra[BASE_URL_ENV] = str(meta["base_path"])
        wants_token = meta["proxy"] == "absolute" or spec.env.get(AUTH_ENV) == "token"
        if spec.http_auth and wants_token:  # other users of this machine must not reach it
            meta["token"] = env_extra[TOKEN_ENV] = secrets.token_hex(16)
    preset_note = choose_preset(spec.preset).note  # a cluster preset: how it was mapped
    if preset_note:
        meta["preset_note"] = preset_note
    process = backend.process_spec(spec, project, log_path, env_extra=env_extra,
                                   environment=environment)
    if asked and port:
        process = rewrite_port(process, asked, port)
    meta["argv"] = list(process.argv)
    notes: list[str] = []
    if environment is not None:
        from ..envs.jobs import ensure_build, write_notes

        build_id = ensure_build(environment, project_pk(project))
        meta["environment"] = environment.meta(build_id)
        notes = environment.notes()
        logged = notes  # a build it starts writes the apt.txt note in the log itself
        if build_id:
            notes.insert(0, f"Building the environment of image {environment.plan.image_id} "
                         "first; its output goes to the job's log")
            logged = [notes[0], *environment.notes(apt_packages=False)]
        write_notes(log_path, logged)
    record = JobRecord(
        raw_id=raw_id, project_pk=project_pk(project), job_id=spec.job_id, suffix=suffix,
        backend=str(target), status="pending", asked_port=asked, http_port=port, life_span=spec.life_span,
        log_path=str(log_path), created_at=time.time(), meta=meta,
    )
    existing = insert_job_unless_active(record)
    if existing is not None:  # another run of the same job got in first
        return _found(existing, label, detach, spec.detach)
    labels = {"project": project.id, "job": spec.job_id, "suffix": suffix}
    if preset_note:  # the job's first log line (the supervisor appends to the log)
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"neuro-jupyter: {preset_note}\n")
    backend.start(process, raw_id=raw_id, detached=True, labels=labels)
    building = bool((meta.get("environment") or {}).get("build_id"))  # pending until built
    deadline = time.monotonic() + (0 if building else STARTED_WAIT)
    delay = 0.005
    current = get_job_record(raw_id)
    while current.status == "pending" and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
        current = refresh_record(get_job_record(raw_id))
    note = "" if port == asked or not asked else f" (port {asked} is taken: using {port})"
    if port and backend.ports_here and current.status == "running" and meta.get("proxy") != "tcp":
        # a web page: wait until it answers (not a debugger's port: a probe would use up
        # the one connection debugpy accepts)
        current, ready = _wait_listening(current, port)
        if not ready and current.active:
            note += f" (port {port} does not answer yet)"
    attach = not (detach if detach is not None else spec.detach)
    return RunResult(current, True, f"Job {label} started: {raw_id}{note}", attach,
                     notes=tuple(notes))


def _wait_listening(record: JobRecord, port: int) -> tuple[JobRecord, bool]:
    """Wait (up to READY_WAIT) until the job listens on ``port`` or ends; (record, listening)."""
    deadline = time.monotonic() + READY_WAIT
    while True:
        if is_listening(port):
            return record, True
        record = refresh_record(get_job_record(record.raw_id))
        if not record.active or time.monotonic() >= deadline:
            return record, False
        time.sleep(0.05)
