"""neuro-jupyter's own project settings: the ``[neuro-jupyter]`` section of ``.neuro.toml``.

``.neuro.toml`` is the neuro CLI's per-project file; our section sits beside its ``[job]`` and
``[storage]`` sections and leaves ``.neuro/*.yml`` as neuro-flow reads them::

    [neuro-jupyter]
    backend = "ray"                          # or "local" (the default)
    ray-address = "http://127.0.0.1:8265"    # the cluster's dashboard (its Jobs API)
    ray-installer = "uv"                     # how Ray installs an image's requirements: pip
                                             # (the default) or uv (runtime_env's field)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backends.target import BACKENDS
from ..errors import InvalidInputError

if TYPE_CHECKING:
    from .discovery import Project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SETTINGS_FILE = ".neuro.toml"
SECTION = "neuro-jupyter"
KEYS = ("backend", "ray-address", "ray-installer")
RAY_INSTALLERS = ("pip", "uv")


@dataclass(frozen=True)
class ProjectSettings:
    """The project's choices; None where the file says nothing."""

    backend: str | None = None
    ray_address: str | None = None
    ray_installer: str = "pip"


def _squashed(name: str) -> str:
    return "".join(char for char in name.lower() if char.isalnum())


def project_settings(project: Project) -> ProjectSettings:
    """Read ``.neuro.toml``'s ``[neuro-jupyter]`` section (no file or section: defaults)."""
    path = project.root / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ProjectSettings()
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read it: {exc}") from exc
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path}: {exc}") from exc
    for name, value in data.items():  # a misspelt section would be ignored silently
        if name != SECTION and _squashed(name) == _squashed(SECTION):
            raise InvalidInputError(f"{path}: [{name}] is not a section of neuro-jupyter; "
                                    f"did you mean [{SECTION}]?")
        if name in KEYS and not isinstance(value, dict):
            raise InvalidInputError(f"{path}: {name} belongs in the [{SECTION}] section")
    section = data.get(SECTION, {})
    if not isinstance(section, dict):
        raise InvalidInputError(f"{path}: {SECTION} must be a section ([{SECTION}])")
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise InvalidInputError(
            f"{path}: unknown key {unknown[0]!r} in [{SECTION}]; valid keys: {', '.join(KEYS)}"
        )
    for key, value in section.items():
        if not isinstance(value, str):
            raise InvalidInputError(f"{path}: [{SECTION}] {key} must be a string")
    backend = section.get("backend")
    if backend is not None and backend not in BACKENDS:
        raise InvalidInputError(
            f"{path}: [{SECTION}] backend = {backend!r} is not a backend; "
            f"valid: {', '.join(BACKENDS)}"
        )
    installer = section.get("ray-installer", "pip")
    if installer not in RAY_INSTALLERS:
        raise InvalidInputError(
            f"{path}: [{SECTION}] ray-installer = {installer!r}; valid: {', '.join(RAY_INSTALLERS)}"
        )
    return ProjectSettings(backend=backend, ray_address=section.get("ray-address"),
                           ray_installer=installer)
