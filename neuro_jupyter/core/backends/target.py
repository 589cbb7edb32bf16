"""Which backend runs a project's jobs: ``local``, or ``ray`` at a cluster's address.

A target is stored with every job and bake as one string (``local`` or ``ray@URL``), so any
front end can reach the process later through the backend that started it. The choice comes
from, first to last: the command's ``--backend``/``--ray-address``, the project's
``.neuro.toml`` (``[neuro-jupyter]`` section, see ``core.project.settings``), ``RAY_ADDRESS``,
then the defaults (local; Ray at ``http://127.0.0.1:8265``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from ..project.discovery import Project

BACKENDS = ("local", "ray")
DEFAULT_RAY_ADDRESS = "http://127.0.0.1:8265"
GCS_PORT = 6379  # the port ``ray start --head`` gives its GCS, which has no Jobs API
RAY_ADDRESS_ENV = "RAY_ADDRESS"
_BAD_HOST = re.compile(r"[\s/\\'\"<>`{}|^]")  # never in a host name or address


@dataclass(frozen=True)
class BackendTarget:
    """A backend and, for Ray, the address of the cluster's dashboard (its Jobs API)."""

    name: str = "local"
    address: str = ""

    def __str__(self) -> str:
        return f"{self.name}@{self.address}" if self.address else self.name

    @property
    def ports_here(self) -> bool:
        """Whether a job's port can be reached from this machine: a local job's, or a job's on
        a Ray cluster that runs here (its dashboard on the loopback interface)."""
        return self.name != "ray" or is_loopback(self.address)

    @property
    def label(self) -> str:
        """How front ends show it: ``local`` or ``ray (http://host:8265)``."""
        return f"{self.name} ({self.address})" if self.address else self.name

    @classmethod
    def parse(cls, text: str) -> BackendTarget:
        """The target a stored string names (``local``, ``ray@http://127.0.0.1:8265``)."""
        name, _, address = (text or "local").partition("@")
        return cls(name, address)


def is_loopback(address: str) -> bool:
    """Whether a cluster's dashboard is on this machine's loopback interface."""
    host = urlsplit(address).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def normalize_address(address: str) -> str:
    """A Ray dashboard address as a URL: ``host:port`` gets ``http://``; ``ray://`` and
    GCS addresses (port 6379) are refused, since jobs go through the dashboard's Jobs API."""
    text = address.strip()
    if not text:
        raise InvalidInputError("The Ray address is empty; give the dashboard's URL, e.g. "
                                f"{DEFAULT_RAY_ADDRESS}")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or out of range
        port_ok = False
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or not port_ok or _BAD_HOST.search(host):
        raise InvalidInputError(
            f"Invalid Ray address {address!r}: give the dashboard's URL (the Jobs API), "
            f"e.g. {DEFAULT_RAY_ADDRESS}"
        )
    if parts.port == GCS_PORT:
        raise InvalidInputError(
            f"Invalid Ray address {address!r}: port {GCS_PORT} is the cluster's GCS, which "
            f"takes no jobs; give the dashboard's URL (the Jobs API, usually port 8265), "
            f"e.g. {DEFAULT_RAY_ADDRESS}"
        )
    # Ray reads the scheme case-sensitively (``HTTP://`` names a Python module to it)
    return (parts.scheme + text[len(parts.scheme):]).rstrip("/")


def resolve_target(
    project: Project | None, backend: str | None = None, address: str | None = None
) -> BackendTarget:
    """The target for a command: its options (an address alone means ray), else the
    project's settings, else local."""
    settings = None
    if project is not None and not address and backend in (None, "ray"):  # else options decide
        from ..project.settings import project_settings

        settings = project_settings(project)
    name = (backend or ("ray" if address else None) or (settings.backend if settings else None)
            or "local")
    if name not in BACKENDS:  # a bad option (400), not a missing thing
        raise InvalidInputError(f"Unknown backend {name!r}. Valid backends: {', '.join(BACKENDS)}")
    if name == "local":
        if address:
            raise InvalidInputError("--ray-address is for the ray backend (add --backend ray)")
        return BackendTarget("local")
    from_file = "" if address else (settings.ray_address if settings else "") or ""
    chosen = address or from_file or os.environ.get(RAY_ADDRESS_ENV, "") or DEFAULT_RAY_ADDRESS
    try:
        return BackendTarget("ray", normalize_address(chosen))
    except InvalidInputError as exc:
        if from_file and project is not None:  # say where the address comes from
            from ..project.settings import SECTION, SETTINGS_FILE

            raise InvalidInputError(
                f"{project.root / SETTINGS_FILE}: [{SECTION}] ray-address: {exc}") from exc
        raise
