"""Environment builds as detached processes recorded in the store (``builder.py`` runs one).

Starting a build joins the one that is building the same environment already (two builds at
once build once); every front end follows a build through its record and its log, so a
kernel restart loses nothing and all of them see the same state. A build whose process died
(killed, the machine restarted) is recorded as failed by the next reader.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

from .. import paths
from ..backends.local.procs import owner_gone, start_ticks
from ..errors import BackendError
from ..logfiles import follow, read_from
from ..store.envs import (
    BuildRecord,
    active_builds,
    finish_build,
    get_build_record,
    insert_build_unless_active,
    update_build,
)
from .images import EnvironmentPlan
from .registry import envs_root

BUILDER_MODULE = "neuro_jupyter.core.envs.builder"
NEVER_STARTED_AFTER = 60.0  # seconds a pending build may wait for its process to record itself
FOLLOW_POLL = 0.2

_CHILDREN: list[subprocess.Popen[bytes]] = []


def start_build(plan: EnvironmentPlan, *, force: bool = False, kernel: bool = False,
                project_pk: int | None = None) -> tuple[BuildRecord, bool]:
    """Build the environment of ``plan`` in a detached process, or join the build of it that
    runs already; returns the build and whether this call started it."""
    for other in active_builds(plan.key):
        check_build(other)  # a dead builder is not joined
    build_id = f"build-{uuid.uuid4()}"
    log_path = paths.logs_dir() / "envs" / f"{build_id}.log"
    record = BuildRecord(
        build_id=build_id, env_key=plan.key, project_pk=project_pk, image_id=plan.image_id,
        status="pending", force=force, kernel=kernel, env_path=str(plan.path),
        log_path=str(log_path), created_at=time.time(), host=socket.gethostname(),
        recipe={"recipe": plan.recipe.to_dict(), "project_root": str(plan.project_root),
                "kernel_name": plan.kernel_name, "kernel_display": plan.kernel_display},
    )
    existing = insert_build_unless_active(record)
    if existing is not None:
        if kernel and not existing.kernel:  # the joined build registers the kernel too
            update_build(existing.build_id, only_if_active=True, kernel=True)
        return get_build(existing.build_id), False
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, paths.HOME_ENV: str(paths.home()),
           "NEURO_JUPYTER_ENVS": str(envs_root())}
    try:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", BUILDER_MODULE, build_id], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
                env=env, cwd=str(envs_root()),
            )
    except OSError as exc:
        finish_build(build_id, "failed", reason=f"cannot start the builder: {exc}")
        raise BackendError(f"Cannot start the build of {plan.label}: {exc}") from exc
    update_build(build_id, only_if_active=True, pid=proc.pid, pid_start=start_ticks(proc.pid))
    _CHILDREN.append(proc)
    _CHILDREN[:] = [child for child in _CHILDREN if child.poll() is None]
    return get_build(build_id), True


def check_build(record: BuildRecord) -> BuildRecord:
    """The record, failed with a reason if its builder died (or never started)."""
    if not record.active or (record.host and record.host != socket.gethostname()):
        return record
    gone = owner_gone(record.pid, record.pid_start, record.created_at,
                      starting_for=NEVER_STARTED_AFTER)
    if gone is None:
        return record
    fresh = get_build_record(record.build_id)  # it may have recorded its end just before
    if fresh.active:
        finish_build(record.build_id, "failed", reason=(
            "the builder never started" if gone == "never started" else
            f"the builder (pid {record.pid}) died before it finished; nothing was published, "
            "the environment is as it was"))
    return get_build_record(record.build_id)


def get_build(build_id: str) -> BuildRecord:
    """One build, its liveness checked."""
    return check_build(get_build_record(build_id))


def cancel_build(build_id: str, *, wait: float = 15.0) -> BuildRecord:
    """Stop a build (its builder stops the installer and removes what it built) and wait for
    its end to be recorded."""
    record = get_build(build_id)
    if not record.active:
        return record
    if record.pid is None:
        finish_build(build_id, "cancelled", reason="cancelled before it started")
        return get_build_record(build_id)
    try:
        os.kill(record.pid, signal.SIGTERM)
    except ProcessLookupError:
        return get_build(build_id)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        record = get_build(build_id)
        if not record.active:
            return record
        time.sleep(0.05)
    return get_build(build_id)


def read_build_log(record: BuildRecord, offset: int = 0) -> tuple[str, int]:
    """The build's log from byte ``offset`` and the offset to read next."""
    return read_from(record.log_path, offset)


def follow_build(record: BuildRecord, *, offset: int = 0, poll: float = FOLLOW_POLL,
                 stopped: Callable[[], bool] = lambda: False) -> Iterator[str]:
    """Yield the build's log as it grows, until the build has ended (or ``stopped()``)."""
    current = [record]

    def running() -> bool:
        if current[0].active and not stopped():
            current[0] = get_build(current[0].build_id)
        return current[0].active and not stopped()

    yield from follow(lambda at: read_build_log(current[0], at), running, offset=offset,
                      poll=poll)


def build_failure(record: BuildRecord) -> str:
    """Why a finished build did not make its environment (empty when it did)."""
    if record.status == "succeeded":
        return ""
    what = f"the environment of image {record.image_id}" if record.image_id else "the environment"
    if record.status == "cancelled":
        return f"the build of {what} was cancelled"
    return f"building {what} failed: {record.reason or 'see its log ' + record.log_path}"
