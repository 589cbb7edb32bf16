"""The Ray meaning of an evaluated job or task: an ExecUnit becomes a ProcessSpec for Ray.

As on the local backend (``local/mapping.py``), mount paths become the volumes' folders of this
machine and the command, env and workdir are rewritten with them; then ``entrypoint.py`` makes
every path under the project relative to wherever the project is on the node that runs the job.
What differs from local:

- no local resource env (CPU pinning, ``CUDA_VISIBLE_DEVICES``): the preset's CPUs, GPUs and
  memory become the Ray job's entrypoint resources, and Ray assigns the GPUs;
- the kernel's Python is not put on ``PATH``: the cluster's own Python runs the job; a job
  whose image is a project image gets the image's requirements through its runtime_env
  (``pip`` or ``uv``), which the cluster installs and caches (``core.envs``);
- ``0.0.0.0`` stays as written unless the cluster is on this machine's loopback interface.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..base import ProcessSpec
from ..local.mapping import loopback, map_unit
from ..target import is_loopback

if TYPE_CHECKING:
    from ...envs.jobs import JobEnvironment
    from ...project.discovery import Project
    from ...workflow.model import ExecUnit


def to_ray_spec(
    unit: ExecUnit, project: Project, log_path: Path, *, address: str,
    env_extra: Mapping[str, str] | None = None, environment: JobEnvironment | None = None,
) -> ProcessSpec:
    """Map an evaluated job or task to what a Ray job runs (see the module docstring)."""
    bind = loopback if is_loopback(address) else str  # elsewhere, 0.0.0.0 as written
    spec = map_unit(unit, project, log_path, bind=bind,
                    no_command="a Ray job runs a command, not an image's CMD")
    spec = dataclasses.replace(spec, env={**spec.env, **(env_extra or {})},
                               project_root=project.root)
    if environment is None:
        return spec
    kept, _ = environment.plan.recipe.cluster_requirements()
    return dataclasses.replace(spec, requirements=tuple(kept),
                               requirements_installer=environment.ray_installer)
