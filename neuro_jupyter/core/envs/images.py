"""The project's images and the environment each one with a build context has."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UnknownNameError
from . import kernels, registry
from .recipe import Recipe, recipe_for_image

if TYPE_CHECKING:
    from ..project.discovery import Project

Images = Mapping[str, Mapping[str, Any]]  # evaluated ``images.<id>`` contexts, by id


@dataclass(frozen=True)
class EnvironmentPlan:
    """The environment of one project image: its recipe, where it lives, its kernel."""

    project_root: Path
    image_id: str
    recipe: Recipe
    kernel_name: str
    kernel_display: str

    @property
    def key(self) -> str:
        return self.recipe.key

    @property
    def path(self) -> Path:
        """Where the environment is (or will be): ``VIRTUAL_ENV`` of its jobs."""
        return registry.env_path(self.key)

    @property
    def ready(self) -> bool:
        return registry.is_ready(self.key)

    @property
    def label(self) -> str:
        return f"image {self.image_id} of {self.project_root.name}"


def project_images(project: Project) -> dict[str, dict[str, Any]]:
    """The images of the project's live flow (with those of project.yml), by id."""
    from ..workflow import live_images

    return live_images(project)


def buildable(images: Images) -> list[str]:
    """The ids of images that have a build context (the ones with an environment)."""
    return [iid for iid, image in images.items() if image.get("context") is not None]


def image_for_ref(images: Images, ref: str | None) -> str | None:
    """The id of the buildable image whose ``ref`` a job's ``image`` is, if any."""
    if not ref:
        return None
    for iid, image in images.items():
        if image.get("ref") == ref and image.get("context") is not None:
            return iid
    return None


def plan_environment(project_root: Path, images: Images, image_id: str,
                     *, where: str = "") -> EnvironmentPlan:
    """The environment of image ``image_id``; an unknown id lists the project's images."""
    image = images.get(image_id)
    if image is None:
        raise UnknownNameError("image", image_id, images, where=where)
    first = next(iter(buildable(images)), image_id) == image_id
    return EnvironmentPlan(
        project_root=project_root, image_id=image_id,
        recipe=recipe_for_image(image, project_root),
        kernel_name=kernels.kernel_name(project_root, image_id, first),
        kernel_display=kernels.display_name(project_root, image_id, first),
    )


def plan_image(project: Project, image_id: str) -> EnvironmentPlan:
    """The environment of the project's image ``image_id`` (for ``build``)."""
    return plan_environment(project.root, project_images(project), image_id,
                            where=f"project {project.id}")
