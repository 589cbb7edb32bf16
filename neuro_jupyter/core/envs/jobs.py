"""Jobs and bake tasks in their image's environment.

A job or task whose ``image`` is the ``ref`` of a project image (an ``images:`` entry with a
``context``) runs, locally, with ``VIRTUAL_ENV`` set to the environment and its ``bin`` first on
``PATH`` (as activating it does; the mapping in ``backends/local`` puts it there); on Ray, the
cluster installs the image's requirements through the job's runtime_env instead. Other images
keep running with this machine's Python. A local job whose environment is not built yet starts
its build (or joins the one that runs) and its supervisor waits for it, with the build's output
in the job's log, as neuro-flow builds a missing image.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store.envs import latest_build
from . import registry
from .apt import apt_note
from .builds import build_failure, get_build, read_build_log, start_build
from .images import EnvironmentPlan, Images, image_for_ref, plan_environment, project_images

if TYPE_CHECKING:
    from ..project.discovery import Project

META_KEY = "environment"  # the job's meta entry (and the ``environment`` field of job rows)
WAIT_POLL = 0.2


@dataclass(frozen=True)
class JobEnvironment:
    """The environment a job or task runs in."""

    plan: EnvironmentPlan
    backend: str = "local"  # local | ray
    ray_installer: str = "pip"  # the runtime_env field Ray installs the requirements with

    @property
    def ready(self) -> bool:
        """Locally: built. On Ray the cluster installs it when the job starts."""
        return self.backend != "local" or self.plan.ready

    @property
    def bin_dir(self) -> str:
        return str(self.plan.path / "bin")

    def variables(self) -> dict[str, str]:
        """What the job's process gets (``PATH`` is the backend mapping's)."""
        return {"VIRTUAL_ENV": str(self.plan.path)} if self.backend == "local" else {}

    def notes(self, *, apt_packages: bool = True) -> list[str]:
        """What to tell before the job starts: missing apt packages (unless the build it
        starts says it), what a cluster cannot install."""
        out = []
        apt = apt_note(self.plan.recipe.apt_file) if apt_packages else ""
        if apt:
            out.append(apt)
        if self.backend != "local":
            _, left = self.plan.recipe.cluster_requirements()
            if left:
                out.append("Not installed on the cluster (paths of this machine): "
                           + ", ".join(left))
        return out

    def meta(self, build_id: str | None = None) -> dict[str, Any]:
        """The job's record of it: what ``environment_view`` shows later."""
        local = self.backend == "local"
        return {"name": self.plan.image_id, "key": self.plan.key,
                "path": str(self.plan.path) if local else None, "build_id": build_id,
                "backend": self.backend}


def environment_for(project_root: Path, images: Images, image: str | None, *,
                    backend: str = "local", ray_installer: str = "pip",
                    where: str = "") -> JobEnvironment | None:
    """The environment of the project image a job's ``image`` names, or None for any other
    image (a registry image: this machine's Python, as before)."""
    image_id = image_for_ref(images, image)
    if image_id is None:
        return None
    plan = plan_environment(project_root, images, image_id, where=where)
    return JobEnvironment(plan, backend=backend, ray_installer=ray_installer)


def job_environment(project: Project, image: str | None, backend: str,
                    images: Images | None = None) -> JobEnvironment | None:
    """The environment of a job or task of ``project`` whose ``image`` is given, on
    ``backend`` (local or ray); None when the image is not a project image."""
    if not image:
        return None
    from ..project.settings import project_settings

    if images is None:
        images = project_images(project)
    installer = project_settings(project).ray_installer if backend == "ray" else "pip"
    return environment_for(project.root, images, image, backend=backend, ray_installer=installer,
                           where=f"project {project.id}")


def ensure_build(environment: JobEnvironment, project_pk: int | None = None) -> str | None:
    """Start (or join) the build of a local environment that is not built; its build id."""
    if environment.ready:
        return None
    record, _ = start_build(environment.plan, project_pk=project_pk)
    return record.build_id


def wait_for_environment(meta: Mapping[str, Any], log_path: Path,
                         stopped: Callable[[], bool]) -> str | None:
    """In a job's supervisor, before the job starts: wait for the build its environment needs,
    copying the build's log into the job's log. None when the job can start, else why not
    (``"cancelled"`` when ``stopped()``)."""
    build_id = meta.get("build_id")
    key = str(meta.get("key") or "")
    if not build_id or registry.is_ready(key):
        return None
    record = get_build(str(build_id))
    offset = 0
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"neuro-jupyter: building the environment of image {meta.get('name')} first "
                  f"(build {build_id}, log {record.log_path})\n")
        log.flush()
        while True:
            text, offset = read_build_log(record, offset)
            if text:
                log.write(text)
                log.flush()
            if not record.active:
                break
            if stopped():
                return "cancelled"
            time.sleep(WAIT_POLL)
            record = get_build(record.build_id)
        text, offset = read_build_log(record, offset)
        log.write(text)
    if record.status == "succeeded" and registry.is_ready(key):
        return None
    return build_failure(record) or "the environment was not built"


def write_notes(log_path: Path, notes: list[str]) -> None:
    """Put ``notes`` at the head of a job's or task's log, before its output."""
    if notes:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a", encoding="utf-8") as log:
            log.writelines(f"neuro-jupyter: {note}\n" for note in notes)


def environment_view(meta: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A job's ``environment`` as front ends show it: ``{"name", "path", "state"}``, state
    ready, building, failed or missing (locally), ray (installed by the cluster)."""
    if not meta:
        return None
    if meta.get("backend", "local") != "local":
        return {"name": meta.get("name"), "path": None, "state": "ray"}
    key = str(meta.get("key") or "")
    state = "ready" if registry.is_ready(key) else "missing"
    if state == "missing":
        build = latest_build(key)
        if build is not None and build.active:
            state = "building" if get_build(build.build_id).active else "failed"
        elif build is not None and build.status in ("failed", "cancelled"):
            state = "failed"
    return {"name": meta.get("name"), "path": meta.get("path"), "state": state}


def environment_label(view: Mapping[str, Any] | None) -> str:
    """``train``, ``train (building)``, ``train (on Ray)``: a job's environment in a table."""
    if not view:
        return ""
    state = view.get("state")
    if state == "ready":
        return str(view.get("name"))
    return f"{view.get('name')} ({'on Ray' if state == 'ray' else state})"
