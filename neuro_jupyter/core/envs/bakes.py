"""The environments of a bake's tasks, for its orchestrator (``bake/runner.py``).

A task whose image is a project image runs in that image's environment. The orchestrator
builds each environment its tasks need once per bake (one recorded build, joined when another
front end builds it already) before the tasks that need it start; the other tasks go on
meanwhile. Per task this costs a dict lookup on the task's image: no file is read and no
process is started for a task whose environment is known to be built.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import NeuroJupyterError
from . import registry
from .builds import build_failure, get_build, start_build
from .images import Images, buildable
from .jobs import JobEnvironment, job_environment

if TYPE_CHECKING:
    from ..project.discovery import Project
    from ..workflow.model import TaskSpec


class TaskEnvironments:
    """Which environment each task runs in, and the builds a bake waits for."""

    def __init__(self, project: Project, images: Images, backend: str, project_pk: int | None,
                 echo: Callable[[str], None] = lambda line: None) -> None:
        self.project = project
        self.images = images
        self.backend = backend
        self.project_pk = project_pk
        self.echo = echo
        self._by_image: dict[str, JobEnvironment | None] = {}
        self._errors: dict[str, NeuroJupyterError] = {}
        self._ready: set[str] = set()  # keys known to be built
        self._builds: dict[str, str] = {}  # key -> the build this bake waits for
        self._notes: dict[str, list[str]] = {}

    def for_task(self, spec: TaskSpec) -> tuple[JobEnvironment | None, TaskSpec]:
        """The environment of the task's image (None for any other image) and the task with
        the environment's key in its caching key, so a task is cached per environment (changed
        requirements run it again). An image whose environment cannot be made (a context
        outside the project...) raises, every time."""
        image = spec.image or ""
        found = self._by_image.get(image, False)
        if found is False:
            if image in self._errors:
                raise self._errors[image]
            try:
                found = job_environment(self.project, image, self.backend, self.images)
            except NeuroJupyterError as exc:
                self._errors[image] = exc
                raise
            self._by_image[image] = found
        if found is None:
            return None, spec
        assert isinstance(found, JobEnvironment)
        if spec.caching_key:
            digest = hashlib.sha256(f"{spec.caching_key}:{found.plan.key}".encode()).hexdigest()
            spec = dataclasses.replace(spec, caching_key=digest)
        return found, spec

    def ready(self, environment: JobEnvironment) -> bool:
        """Whether the task can start in it now (built; on Ray always)."""
        key = environment.plan.key
        if key in self._ready:
            return True
        if environment.ready:
            self._ready.add(key)
            return True
        return False

    def notes(self, environment: JobEnvironment) -> list[str]:
        """What to put at the head of its tasks' logs (missing apt packages...), once worked out."""
        key = environment.plan.key
        if key not in self._notes:
            self._notes[key] = environment.notes()
            for note in self._notes[key]:
                self.echo(f"Environment of image {environment.plan.image_id}: {note}")
        return self._notes[key]

    def start(self, environment: JobEnvironment) -> str:
        """Start (or join) the build of an environment a task waits for; its build id."""
        key = environment.plan.key
        if key not in self._builds:
            record, started = start_build(environment.plan, project_pk=self.project_pk)
            self._builds[key] = record.build_id
            how = "Building" if started else "Waiting for the build of"
            self.echo(f"{how} the environment of image {environment.plan.image_id} "
                      f"({record.build_id}, log {record.log_path})")
        return self._builds[key]

    def finished(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Of the builds the bake waits for (by key), those that ended: key → (why the
        environment is not there, ``""`` when it was built; the build's log)."""
        done: dict[str, tuple[str, str]] = {}
        for key in keys:
            build_id = self._builds.get(key)
            if build_id is None:
                continue
            record = get_build(build_id)
            if record.active:
                continue
            del self._builds[key]
            if record.status == "succeeded" and registry.is_ready(key):
                self._ready.add(key)
                done[key] = ("", record.log_path)
                self.echo(f"Environment of image {record.image_id} built ({key})")
            else:
                why = build_failure(record) or "the environment was not built"
                done[key] = (why, record.log_path)
                self.echo(f"Environment of image {record.image_id}: {why}")
        return done


def task_environments(project: Project, images: Mapping[str, Mapping[str, Any]], backend: str,
                      project_pk: int | None, echo: Callable[[str], None]
                      ) -> TaskEnvironments | None:
    """The tasks' environments, or None when the flow has no image with a context (then no
    task has one, and the orchestrator does nothing more per task)."""
    if not buildable(images):
        return None
    return TaskEnvironments(project, images, backend, project_pk, echo)
