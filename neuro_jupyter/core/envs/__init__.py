"""Project environments: a project image becomes a local virtualenv its jobs run in.

On Neu.ro a project's jobs run in its image, built from ``Dockerfile``, ``requirements.txt``
and ``apt.txt``. Here each ``images:`` entry with a ``context`` has an environment built from
the same requirements (``recipe``), kept under ``$NEURO_JUPYTER_HOME/envs`` by content key
(``registry``) and built by a detached, recorded process (``builds``, ``builder``) with uv or
pip (``installer``). Jobs and bake tasks whose image is a project image run in it (``jobs``);
each environment can be a Jupyter kernel (``kernels``); ``apt.txt`` is checked, never
installed (``apt``). Every front end (``build``, ``%neuro_build``, job views) calls this API.
"""

from __future__ import annotations

from .apt import apt_note
from .builds import (
    build_failure,
    cancel_build,
    follow_build,
    get_build,
    read_build_log,
    start_build,
)
from .images import EnvironmentPlan, buildable, plan_image, project_images
from .jobs import JobEnvironment, environment_for, environment_view, wait_for_environment
from .recipe import ImageNotBuildableError, Recipe
from .registry import ENVS_ENV, envs_root, is_ready
from .request import BuildRequest, BuildStart, request_builds

__all__ = [
    "ENVS_ENV", "BuildRequest", "BuildStart", "EnvironmentPlan", "ImageNotBuildableError",
    "JobEnvironment", "Recipe", "apt_note", "build_failure", "buildable", "cancel_build",
    "environment_for", "environment_view", "envs_root", "follow_build", "get_build", "is_ready",
    "plan_image", "project_images", "read_build_log", "request_builds", "start_build",
    "wait_for_environment",
]
