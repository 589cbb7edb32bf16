"""``build IMAGE|ALL [--force-overwrite]``: what the verb does, for every front end.

An image whose environment is built (and whose kernel, when asked for, runs it) is up to date:
nothing starts, in a few milliseconds. Otherwise a build starts, or the one that builds the
same environment is joined; front ends then follow it (``builds.follow_build``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InvalidInputError
from ..store.envs import BuildRecord
from . import kernels
from .builds import start_build
from .images import EnvironmentPlan, buildable, plan_environment, project_images

if TYPE_CHECKING:
    from ..project.discovery import Project

ALL = "ALL"


@dataclass(frozen=True)
class BuildRequest:
    """What ``build`` was asked: an image id or ``ALL``, force, and the kernel."""

    image: str
    force: bool = False
    kernel: bool = True


@dataclass(frozen=True)
class BuildStart:
    """What ``build`` did for one image: nothing (up to date), or started or joined a build."""

    plan: EnvironmentPlan
    build: BuildRecord | None = None
    started: bool = False

    @property
    def up_to_date(self) -> bool:
        return self.build is None

    @property
    def message(self) -> str:
        label = f"Image {self.plan.image_id}"
        if self.build is None:
            return f"{label}: environment up to date ({self.plan.path})"
        if self.started:
            return f"{label}: building its environment ({self.build.build_id})"
        return f"{label}: its environment is being built already ({self.build.build_id})"


def request_builds(project: Project, request: BuildRequest) -> list[BuildStart]:
    """Start what ``build`` asks for; an unknown image lists the project's images."""
    from ..store.projects import project_pk

    images = project_images(project)
    where = f"project {project.id}"
    if request.image == ALL:
        ids = buildable(images)
        if not ids:
            listed = ", ".join(images) or "none"
            raise InvalidInputError(f"Project {project.id} has no image with a context to build "
                                    f"(its images: {listed})")
    else:
        ids = [request.image]
    plans = [plan_environment(project.root, images, iid, where=where) for iid in ids]
    pk = project_pk(project)
    out = []
    for plan in plans:
        if plan.ready and not request.force and (
                not request.kernel or kernels.runs_env(plan.kernel_name, plan.path)):
            out.append(BuildStart(plan))
            continue
        record, started = start_build(plan, force=request.force, kernel=request.kernel,
                                      project_pk=pk)
        out.append(BuildStart(plan, record, started))
    return out
