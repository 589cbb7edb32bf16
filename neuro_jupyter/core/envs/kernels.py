"""A Jupyter kernel per project environment, so the project's notebooks run with its packages.

``build`` registers the environment with its own ipykernel (``python -m ipykernel install
--user``: the user's Jupyter data folder, ``$JUPYTER_DATA_DIR`` if set) as "Python (<project
folder>)", named after the project folder (``neuro-tutorial``; ``neuro-tutorial-<image>`` for
images other than the project's first; ``-<hash of its path>`` added when another project or
the user owns that name). The kernel runs ``<envs root>/<key>/bin/python``; when
the project's requirements change and a new environment is built, a kernel that neuro-jupyter
registered for that image is pointed at it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .registry import envs_root, python_of

MARK = "neuro_jupyter"  # the kernel.json metadata key that says we registered it
_INVALID = re.compile(r"[^a-z0-9._-]+")


def kernel_name(project_root: Path, image_id: str, first_image: bool) -> str:
    """The kernel's name: the project folder's name, made a valid kernel name; with a short
    hash of the project's path when a kernel of that name exists that is not ours for this
    project image (another project in a folder of the same name, or the user's own kernel):
    a build never takes over a kernel it did not register for this project."""
    slug = _INVALID.sub("-", project_root.name.lower()).strip("-._") or "project"
    name = slug if first_image else f"{slug}-{_INVALID.sub('-', image_id.lower())}"
    spec = kernel_spec(name)
    if spec is None or _owner(spec) == _owned_by(project_root, image_id):
        return name
    digest = hashlib.sha256(str(project_root).encode("utf-8", "surrogateescape")).hexdigest()
    return f"{name}-{digest[:6]}"


def display_name(project_root: Path, image_id: str, first_image: bool) -> str:
    """"Python (neuro-tutorial)", or "Python (neuro-tutorial: other)" for another image."""
    return f"Python ({project_root.name})" if first_image else \
        f"Python ({project_root.name}: {image_id})"


def _owned_by(project_root: Path, image_id: str) -> dict[str, str]:
    """What ``mark`` writes in a kernel neuro-jupyter registered for this project image."""
    return {"project": str(project_root), "image": image_id, "envs": str(envs_root())}


def _owner(spec: dict[str, Any]) -> object:
    """The project image a kernel was registered for by neuro-jupyter (None: not by us)."""
    return (spec.get("metadata") or {}).get(MARK)


def kernels_dir() -> Path:
    """The user's kernels folder (where ``ipykernel install --user`` writes)."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "kernels"


def install_command(env: Path, name: str, display: str) -> list[str]:
    """The command that registers the environment ``env`` as kernel ``name``."""
    return [str(python_of(env)), "-m", "ipykernel", "install", "--user", "--name", name,
            "--display-name", display]


def kernel_spec(name: str) -> dict[str, Any] | None:
    """The user's kernel ``name`` (its kernel.json), if there is one."""
    try:
        data = json.loads((kernels_dir() / name / "kernel.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def runs_env(name: str, env: Path) -> bool:
    """Whether kernel ``name`` exists and runs the environment ``env``'s Python."""
    spec = kernel_spec(name)
    argv = spec.get("argv") if spec else None
    return bool(argv) and argv[0] == str(python_of(env))  # type: ignore[index]


def mark(name: str, project_root: Path, image_id: str) -> None:
    """Note in kernel ``name`` that neuro-jupyter registered it, for which project image and
    environments folder (``point``: only such a kernel is ever changed)."""
    spec = kernel_spec(name)
    if spec is None:
        return
    metadata = spec.setdefault("metadata", {})
    metadata[MARK] = _owned_by(project_root, image_id)
    _write(name, spec)


def point(name: str, env: Path, project_root: Path, image_id: str) -> bool:
    """Make our kernel ``name`` for this project image run ``env``; True when it changed.
    A kernel neuro-jupyter did not register, or registered for another project, image or
    environments folder (another NEURO_JUPYTER_ENVS), is left alone."""
    spec = kernel_spec(name)
    if spec is None:
        return False
    if _owner(spec) != _owned_by(project_root, image_id):
        return False
    argv = list(spec.get("argv") or [])
    python = str(python_of(env))
    if not argv or argv[0] == python:
        return False
    argv[0] = python
    spec["argv"] = argv
    _write(name, spec)
    return True


def _write(name: str, spec: dict[str, Any]) -> None:
    path = kernels_dir() / name / "kernel.json"
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    tmp.replace(path)
