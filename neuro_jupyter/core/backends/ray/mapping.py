"""The Ray meaning of an evaluated job or task: an ExecUnit becomes a ProcessSpec for Ray.

As on the local backend (``local/mapping.py``), mount paths become the volumes' folders of this
machine and the command, env and workdir are rewritten with them; then ``entrypoint.py`` makes
every path under the project relative to wherever the project is on the node that runs the job.
What differs from local:

- no local resource env (CPU pinning, ``CUDA_VISIBLE_DEVICES``): the preset's CPUs, GPUs and
  memory become the Ray job's entrypoint resources, and Ray assigns the GPUs;
- the kernel's Python is not put on ``PATH``: the cluster's own Python runs the job;
- ``0.0.0.0`` stays as written unless the cluster is on this machine's loopback interface.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ...errors import BackendError
from ...presets import resolve_preset
from ...workflow.model import ExecUnit
from ..base import ProcessSpec
from ..local.mapping import MountRewriter, local_workdir, loopback

if TYPE_CHECKING:
    from ...project.discovery import Project


def is_loopback(address: str) -> bool:
    """Whether the cluster's dashboard is on this machine's loopback interface."""
    host = urlsplit(address).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def to_ray_spec(
    unit: ExecUnit, project: Project, log_path: Path, *, address: str,
    env_extra: Mapping[str, str] | None = None,
) -> ProcessSpec:
    """Map an evaluated job or task to what a Ray job runs (see the module docstring)."""
    if unit.argv is None:
        raise BackendError(
            f"{unit.title or unit.name or 'the job'}: no command (cmd, bash or python); "
            "a Ray job runs a command, not an image's CMD"
        )
    bind = loopback if is_loopback(address) else (lambda text: text)
    rewrite = MountRewriter(unit.volumes)
    for volume in unit.volumes:
        try:
            volume.local.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(
                f"Cannot create the local folder of volume {volume.mount}: {exc}"
            ) from exc
    argv = [bind(rewrite(arg)) for arg in unit.argv]
    if unit.entrypoint:
        argv = [bind(rewrite(arg)) for arg in shlex.split(unit.entrypoint)] + argv
    if not argv:
        raise BackendError(f"{unit.title or 'the job'}: the command is empty")
    env = {key: bind(rewrite(str(value))) for key, value in unit.env.items()}
    env.update(env_extra or {})
    return ProcessSpec(
        argv=tuple(argv),
        workdir=local_workdir(unit.workdir, project.root, rewrite),
        log_path=log_path,
        env=env,
        resources=resolve_preset(unit.preset),
        life_span=unit.life_span,
        name=unit.name or unit.title,
        project_root=project.root,
    )
