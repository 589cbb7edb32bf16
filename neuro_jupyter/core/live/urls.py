"""Links to a job's web UI that work from the user's browser.

With a Jupyter server present, a job's port is reached through jupyter-server-proxy:
``<base_url>proxy/<port>/`` (the proxy strips the prefix; TensorBoard, the file browser and
most apps work so). Apps that must know their public path (Jupyter itself) set
``NEURO_JUPYTER_PROXY: absolute`` in the job's env: they are linked through
``<base_url>proxy/absolute/<port>/`` (prefix kept) and get that path in
``NEURO_JUPYTER_BASE_URL`` to serve under (``--ServerApp.base_url``); with ``http_auth`` (the
default) they also get a random token in ``NEURO_JUPYTER_TOKEN`` to require, and their link
carries it (``?token=``), so other users of the machine cannot use the job's port. Without a
server the link is ``http://127.0.0.1:<port>/`` (plus that path for absolute jobs). Jobs whose port is not a
web page (``NEURO_JUPYTER_PROXY: tcp``, e.g. a debugger) get no link, only ``127.0.0.1:<port>``.
A ``prefix`` job that checks the token itself says so with ``NEURO_JUPYTER_AUTH: token`` in its
env (the bundled file browser): with ``http_auth`` it gets a token too, and its link carries it.

A kernel finds its server from the ``jpserver-*.json`` files in Jupyter's runtime folder (the
kernel's ``JPY_PARENT_PID`` names the server that started it); read with json only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..backends.local.procs import is_alive
from ..backends.target import BackendTarget
from ..store.jobs import JobRecord

PROXY_ENV = "NEURO_JUPYTER_PROXY"
BASE_URL_ENV = "NEURO_JUPYTER_BASE_URL"
PORT_ENV = "NEURO_JUPYTER_HTTP_PORT"
TOKEN_ENV = "NEURO_JUPYTER_TOKEN"
AUTH_ENV = "NEURO_JUPYTER_AUTH"


def runtime_dir() -> Path:
    """Jupyter's runtime folder (``$JUPYTER_RUNTIME_DIR``, else jupyter_core's default)."""
    explicit = os.environ.get("JUPYTER_RUNTIME_DIR")
    if explicit:
        return Path(explicit)
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        return Path(jupyter_runtime_dir())
    except ImportError:  # pragma: no cover - jupyter_core is a dependency of everything here
        data = os.environ.get("JUPYTER_DATA_DIR") or str(Path.home() / ".local/share/jupyter")
        return Path(data) / "runtime"


def jupyter_servers() -> list[dict[str, Any]]:
    """The running Jupyter servers on this machine, newest first."""
    found: list[tuple[float, dict[str, Any]]] = []
    folder = runtime_dir()
    if not folder.is_dir():
        return []
    for path in folder.glob("jpserver-*.json"):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            stamp = path.stat().st_mtime
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and is_alive(int(info.get("pid") or 0)):
            found.append((stamp, info))
    return [info for _, info in sorted(found, key=lambda item: item[0], reverse=True)]


def jupyter_server(project_root: Path | None = None) -> dict[str, Any] | None:
    """The Jupyter server to link jobs through. Inside a kernel (``JPY_PARENT_PID`` set): the
    server that started it, or none (e.g. nbclient). Elsewhere: one serving the project's
    folder, else the newest one; None when no server runs."""
    servers = jupyter_servers()
    parent = os.environ.get("JPY_PARENT_PID")
    if parent:
        return next((s for s in servers if str(s.get("pid")) == parent), None)
    if project_root is not None:
        for server in servers:
            root = server.get("root_dir") or server.get("notebook_dir")
            if root and (Path(root) == project_root or Path(root) in project_root.parents):
                return server
    return servers[0] if servers else None


def server_base_url(project_root: Path | None = None) -> str | None:
    """The base URL path (``/`` or ``/user/x/``) of ``jupyter_server``; None without one."""
    server = jupyter_server(project_root)
    return _slashed(str(server.get("base_url") or "/")) if server else None


def server_url(project_root: Path | None = None) -> str | None:
    """The full URL (``http://127.0.0.1:8888/``) of ``jupyter_server``, for terminals."""
    server = jupyter_server(project_root)
    return _slashed(str(server["url"])) if server and server.get("url") else None


def _slashed(base: str) -> str:
    if "://" in base:
        return base.rstrip("/") + "/"
    base = "/" + base.strip("/") + "/"
    return "/" if base == "//" else base


def absolute_base_path(server_base: str | None, port: int) -> str:
    """The path an ``absolute`` job serves under: ``<base_url>proxy/absolute/<port>/``."""
    return f"{_slashed(server_base or '/')}proxy/absolute/{port}/"


def browse_url(record: JobRecord, server_base_url: str | None = None) -> str | None:
    """The link to the job's HTTP port, or None when it has none, or runs on a Ray cluster
    elsewhere (see the module docstring)."""
    port = record.http_port
    if not port or record.meta.get("proxy") == "tcp" or not _port_here(record):
        return None
    token = f"?token={record.meta['token']}" if record.meta.get("token") else ""
    if record.meta.get("proxy") == "absolute":
        path = str(record.meta.get("base_path") or absolute_base_path(None, port))
        if server_base_url is not None:
            return absolute_base_path(server_base_url, port) + token
        return f"http://127.0.0.1:{port}{path}{token}"
    if server_base_url is not None:
        return f"{_slashed(server_base_url)}proxy/{port}/{token}"
    return f"http://127.0.0.1:{port}/{token}"


def live_url(record: JobRecord | None, server_base_url: str | None = None) -> str | None:
    """``browse_url`` while the job is pending or running; None once it has ended."""
    return browse_url(record, server_base_url) if record is not None and record.active else None


def endpoint(record: JobRecord, server_base_url: str | None = None) -> str | None:
    """What ps shows for a job's port: its link, or ``127.0.0.1:<port> (tcp)`` for a port that is
    not a web page (``NEURO_JUPYTER_PROXY: tcp``, e.g. a debugger)."""
    if record.http_port and record.meta.get("proxy") == "tcp" and _port_here(record):
        return f"127.0.0.1:{record.http_port} (tcp)"
    return browse_url(record, server_base_url)


def _port_here(record: JobRecord) -> bool:
    return BackendTarget.parse(record.backend).ports_here
