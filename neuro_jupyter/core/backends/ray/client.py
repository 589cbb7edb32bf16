"""The Ray Jobs API client, imported only when a Ray target is used (``import ray`` ≈0.5–1.5 s).

One client per address and process; errors become ``BackendError`` with what to do about them.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ...errors import BackendError, BackendUnavailableError

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

INSTALL_HINT = "pip install 'neuro-jupyter[ray]'"
# seconds to connect to the dashboard, and to wait for each answer: Ray's SDK sets no timeout,
# so a dashboard that accepts connections but never answers would hang every reader for ever
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
# the methods that name an existing job: only their "not found" means the job is gone
JOB_METHODS = frozenset({"get_job_status", "get_job_info", "get_job_logs", "stop_job"})
# a dashboard that let a request time out is not asked again for this long: readers refresh
# every job of a cluster in turn, and each would wait READ_TIMEOUT for the same silence
QUIET_AFTER_TIMEOUT = 15.0
_CLIENTS: dict[str, JobSubmissionClient] = {}
_SILENT: dict[str, tuple[float, str]] = {}  # address -> (time.monotonic() until, the error)
_LOCK = threading.Lock()


class RayNotInstalledError(BackendUnavailableError):
    """The ``ray`` extra is missing."""


class RayUnreachableError(BackendUnavailableError):
    """No Ray dashboard answers at the address."""


class RayJobNotFoundError(BackendError):
    """The cluster does not know the job (it was deleted, or the cluster was restarted)."""


def job_submission() -> Any:
    """The ``ray.job_submission`` module, or a clear error saying how to install it."""
    try:
        import ray.job_submission as module
    except ImportError as exc:
        raise RayNotInstalledError(
            f"The ray backend needs Ray, which is not installed here: {INSTALL_HINT}"
        ) from exc
    # the SDK logs every upload at INFO on stderr: our front ends say what happens themselves
    for name in ("ray.dashboard.modules.dashboard_sdk", "ray.dashboard.modules.job.sdk"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # its warnings about big files name ray.init(): our error says what to do (.neuroignore)
    logging.getLogger("ray._private.runtime_env.packaging").setLevel(logging.ERROR)
    return module


def _client_class(module: Any) -> Any:
    """``JobSubmissionClient`` with a timeout on every request it makes, which can keep the
    project's package as it first uploaded it (``keep_packs``, for a bake's tasks).

    Ray deletes an uploaded package once its first 10 minutes have passed and no job uses it
    (when a long task ends); a node without its own copy then cannot set up a later task.
    ``upload_again`` sends the kept package back, so the bake's later tasks still run the code
    it started with. The package is kept in memory, one per project folder.
    """

    class TimedJobSubmissionClient(module.JobSubmissionClient):
        keep_packs = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.packs: dict[str, tuple[str, bytes]] = {}  # folder -> (package URI, its pack)

        def _do_request(self, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", (CONNECT_TIMEOUT, READ_TIMEOUT))
            return super()._do_request(*args, **kwargs)

        def _upload_package_if_needed(
            self, package_path: str, include_gitignore: bool, include_parent_dir: bool = False,
            excludes: list[str] | None = None, is_file: bool = False,
        ) -> str:
            """Ray's method (pack, upload unless the cluster has it), with the pack kept."""
            packaging = _packaging()
            if is_file or not self.keep_packs or packaging is None:  # Ray's own way
                return str(super()._upload_package_if_needed(
                    package_path, include_gitignore, include_parent_dir, excludes, is_file))
            uri = str(packaging.get_uri_for_directory(package_path, include_gitignore,
                                                      excludes=excludes))
            with tempfile.TemporaryDirectory() as folder:
                pack = Path(folder) / "pack.zip"
                packaging.create_package(package_path, pack, include_gitignore=include_gitignore,
                                         include_parent_dir=include_parent_dir, excludes=excludes)
                self.packs[package_path] = (uri, pack.read_bytes())
                if not self._package_exists(uri):
                    self._upload_package(uri, str(pack), include_gitignore, is_file=True)
            return uri

        def cluster_nodes(self) -> tuple[list[dict[str, float]], bool]:
            """The total resources of each alive node, and whether an autoscaler may add
            nodes (the dashboard's state API and cluster status)."""
            nodes = self._do_request("GET", "/api/v0/nodes?limit=10000")
            nodes.raise_for_status()
            found = (nodes.json().get("data") or {}).get("result") or {}
            totals = [dict(node.get("resources_total") or {})
                      for node in found.get("result") or [] if node.get("state") == "ALIVE"]
            status = self._do_request("GET", "/api/cluster_status")
            scaling = False
            if status.ok:
                data = status.json().get("data") or {}
                # a head without an autoscaler still reports "Cluster status: N nodes"; an
                # autoscaler's report is headed "Autoscaler status"
                report = str(data.get("autoscalingStatus") or "")
                scaling = "Autoscaler status" in report or bool(data.get("autoscalingError"))
            return totals, scaling

        def upload_again(self, uri: str) -> None:
            """Upload the kept package ``uri`` again if the cluster has deleted it."""
            data = next((pack for held, pack in self.packs.values() if held == uri), None)
            if data is None or self._package_exists(uri):
                return
            with tempfile.TemporaryDirectory() as folder:
                pack = Path(folder) / "pack.zip"
                pack.write_bytes(data)
                self._upload_package(uri, str(pack), True, is_file=True)

    return TimedJobSubmissionClient


def _packaging() -> Any:
    """Ray's packaging module (how it packs a working_dir), or None in a Ray without it."""
    try:
        from ray._private.runtime_env import packaging
    except ImportError:
        return None
    return packaging


def ray_client(address: str) -> JobSubmissionClient:
    """A Jobs API client of the cluster at ``address`` (checked to answer on first use); a
    cluster that timed out within QUIET_AFTER_TIMEOUT seconds is unreachable at once."""
    silent = _SILENT.get(address)
    if silent is not None:
        if time.monotonic() < silent[0]:
            raise RayUnreachableError(f"{silent[1]} (not asked again for "
                                      f"{QUIET_AFTER_TIMEOUT:g} s after a timeout)")
        _SILENT.pop(address, None)
    with _LOCK:
        client = _CLIENTS.get(address)
        if client is not None:
            return client
        module = job_submission()
        try:
            client = _client_class(module)(address)
        except Exception as exc:  # ConnectionError, or a dashboard that is not one
            message = (
                f"Cannot reach the Ray cluster at {address}: {_first_line(exc)}. Start one "
                "(ray start --head --include-dashboard=true) or give its dashboard's address "
                "with --ray-address URL or ray-address in .neuro.toml's [neuro-jupyter] section"
            )
            _note_silence(address, exc, message)
            raise RayUnreachableError(message) from exc
        _CLIENTS[address] = client
        return client


def forget_client(address: str) -> None:
    """Drop the cached client (the cluster went away), so the next use checks it again."""
    with _LOCK:
        _CLIENTS.pop(address, None)


def call(address: str, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """``client.method(*args, **kwargs)`` with Ray's errors as ``BackendError`` (``what``
    says what was being done, for the message).

    A request on a kept-alive connection that the dashboard had closed meanwhile fails with
    no response at all; it is sent once more, on a new connection. A submission that did
    arrive the first time is then refused as a duplicate of its own id: that is success."""
    client = ray_client(address)
    retried = False
    while True:
        try:
            return getattr(client, method)(*args, **kwargs)
        except BackendError:
            raise
        except Exception as exc:
            if not retried and _dropped(exc):
                retried = True
                continue
            if retried and method == "submit_job" and "already exists" in str(exc):
                return kwargs.get("submission_id")
            _raise_backend_error(address, what, exc, about_a_job=method in JOB_METHODS)


def _dropped(exc: BaseException) -> bool:
    """Whether a request failed because the connection closed before any response."""
    text = str(exc)
    return "RemoteDisconnected" in text or "Connection aborted" in text


def _raise_backend_error(
    address: str, what: str, exc: Exception, *, about_a_job: bool
) -> NoReturn:
    if isinstance(exc, (ConnectionError, OSError)) or "Connection" in type(exc).__name__:
        forget_client(address)
        message = (f"Cannot {what}: the Ray cluster at {address} does not answer "
                   f"({_first_line(exc)})")
        _note_silence(address, exc, message)
        raise RayUnreachableError(message) from exc
    if about_a_job and ("404" in str(exc) or "does not exist" in str(exc)):
        raise RayJobNotFoundError(f"Cannot {what}: the Ray cluster at {address} does not "
                                  "know the job (deleted, or the cluster restarted)") from exc
    raise BackendError(f"Cannot {what} on the Ray cluster at {address}: "
                       f"{_first_line(exc)}") from exc


def _note_silence(address: str, exc: BaseException, message: str) -> None:
    """Remember a cluster that let a request time out (a refused connection fails at once
    anyway, and is asked again)."""
    if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
        _SILENT[address] = (time.monotonic() + QUIET_AFTER_TIMEOUT, message)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
