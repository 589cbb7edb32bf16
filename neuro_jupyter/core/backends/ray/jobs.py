"""Ray jobs through the Jobs API: submit one, read its state, exit and log, stop it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import BackendError
from ..base import ExitInfo, ProcessSpec
from .capacity import check_fits
from .client import call, ray_client
from .entrypoint import IGNORE_FILE, entrypoint, resources, runtime_env

ACTIVE = {"PENDING": "pending", "RUNNING": "running"}
STOP_SIGNAL = 15
SUBMIT_RETRY_FOR = 60.0  # seconds to retry a submission that the cluster cannot take yet
# what Ray's job supervisor writes into the job's log besides the job's own output
_SUPERVISOR_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+\s+INFO job_manager\.py:\d+ -- .*\n",
                              re.MULTILINE)
_UPLOADED: dict[tuple[str, str, tuple[str, ...]], str] = {}
_CHECKED: dict[str, float] = {}  # package URI -> time.monotonic() it was last known there
RECHECK_UPLOAD = 60.0  # Ray keeps an upload 10 minutes, then only while a job uses it
_UPLOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class RayState:
    """A Ray job's state: our status word and, once it ended, how."""

    status: str  # pending | running | succeeded | failed | cancelled
    exit: ExitInfo | None = None


def submit(
    address: str, spec: ProcessSpec, raw_id: str, metadata: Mapping[str, str], *,
    reuse_upload: bool = False,
) -> str:
    """Submit ``spec`` as Ray job ``raw_id`` (the submission id); returns its entrypoint.
    ``reuse_upload`` ships the project once per process (a bake's tasks all run the code the
    bake started with)."""
    command, env_vars = entrypoint(spec)
    asked = resources(spec)
    check_fits(address, f"submit {spec.name or raw_id}", asked)
    env = runtime_env(spec, env_vars)
    if "working_dir" in env:
        env = _uploaded(address, env, reuse_upload)
    deadline = time.monotonic() + SUBMIT_RETRY_FOR
    delay = 0.5
    while True:
        try:
            call(
                address, f"submit {spec.name or raw_id}", "submit_job", entrypoint=command,
                submission_id=raw_id, runtime_env=env,
                metadata={key: str(value) for key, value in metadata.items()}, **asked,
            )
            return command
        except BackendError as exc:
            # a head that has just started has no agent to take jobs yet (HTTP 500)
            if "No available agent" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 4.0)


def _uploaded(address: str, env: dict[str, Any], reuse: bool) -> dict[str, Any]:
    """``env`` with the working_dir uploaded and replaced by its package URI. A reused upload
    is checked every RECHECK_UPLOAD seconds, and sent again if the cluster deleted it."""
    cache_key = (address, str(env["working_dir"]), tuple(env.get("excludes", ())))
    with _UPLOAD_LOCK:
        uri = _UPLOADED.get(cache_key) if reuse else None
        if uri is not None and time.monotonic() >= _CHECKED.get(uri, 0.0) + RECHECK_UPLOAD:
            call(address, "upload the project again", "upload_again", uri)
            _CHECKED[uri] = time.monotonic()
        if uri is None:
            if not hasattr(ray_client(address), "_upload_working_dir_if_needed"):
                return env  # another Ray version: submit_job uploads it each time
            shipped = dict(env)  # Ray replaces working_dir with the package's URI in place
            ray_client(address).keep_packs = reuse  # type: ignore[attr-defined]
            try:
                call(address, "upload the project", "_upload_working_dir_if_needed", shipped)
            except BackendError as exc:
                if "413" not in str(exc):
                    raise
                raise BackendError(
                    f"Cannot upload the project to the Ray cluster at {address}: it is bigger "
                    "than the cluster accepts (100 MiB by default, after what .gitignore "
                    f"ignores). List big folders (data, checkpoints) in {IGNORE_FILE}"
                ) from exc
            uri = str(shipped["working_dir"])
            _UPLOADED[cache_key] = uri
            _CHECKED[uri] = time.monotonic()
    uploaded = {name: value for name, value in env.items() if name != "excludes"}
    uploaded["working_dir"] = uri
    return uploaded


def state(address: str, raw_id: str) -> RayState:
    """The job's state, with how it ended once it did."""
    status = str(call(address, f"read the status of {raw_id}", "get_job_status", raw_id))
    status = status.rsplit(".", 1)[-1]
    if status in ACTIVE:
        return RayState(ACTIVE[status])
    info = call(address, f"read job {raw_id}", "get_job_info", raw_id)
    message = (getattr(info, "message", "") or "").strip()
    if status == "SUCCEEDED":
        return RayState("succeeded", ExitInfo(exit_code=0))
    if status == "STOPPED":
        return RayState("cancelled", ExitInfo(exit_code=None, signal=STOP_SIGNAL,
                                              reason="stopped on the Ray cluster"))
    code = getattr(info, "driver_exit_code", None)
    reason = f"exit code {code}" if code is not None else _short(message) or "failed on Ray"
    return RayState("failed", ExitInfo(exit_code=code, reason=reason))


def _short(message: str) -> str:
    """The first line of Ray's message (it appends the last logs to it)."""
    return message.splitlines()[0][:300] if message else ""


def job_log(address: str, raw_id: str, command: str = "") -> str:
    """The job's output so far, without the lines Ray's supervisor adds (its set-up line,
    and ``Running entrypoint for job ID: COMMAND`` when ``command`` is known)."""
    text = str(call(address, f"read the log of {raw_id}", "get_job_logs", raw_id) or "")
    if command:
        text = text.replace(f"Running entrypoint for job {raw_id}: {command}\n", "", 1)
    return _SUPERVISOR_LINE.sub("", text, count=2)


def save_log(
    address: str, raw_id: str, log_path: Path | str, command: str = "", head: int = 0,
) -> int:
    """Write the job's output so far to ``log_path`` (a local copy for every reader) after
    its first ``head`` bytes, the lines written before the job was submitted (how its preset
    was mapped, its environment's notes), which are kept; returns the file's size. Only a
    longer text replaces the file (the log only grows)."""
    text = job_log(address, raw_id, command).encode("utf-8")
    path = Path(log_path)
    try:
        size = path.stat().st_size
    except OSError:
        size = -1
    if head + len(text) > size:
        kept = path.read_bytes()[:head] if head > 0 and size > 0 else b""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(kept + text)
        tmp.replace(path)
        return len(kept) + len(text)
    return max(size, 0)


def log_head(log_path: Path | str) -> int:
    """The size of what a job's log holds before the job is submitted (``save_log``'s head)."""
    try:
        return Path(log_path).stat().st_size
    except OSError:
        return 0


def stop(address: str, raw_id: str) -> None:
    """Ask Ray to stop the job (SIGTERM, then SIGKILL after Ray's grace); returns at once."""
    call(address, f"stop {raw_id}", "stop_job", raw_id)
