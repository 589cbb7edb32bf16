"""What an image's environment is built from (its recipe) and the content key naming it.

The recipe of an ``images:`` entry with a ``context``: the pip installs of its Dockerfile
(``dockerfile.py``), the context's ``requirements.txt``, and the context itself, installed
editable, when it is a Python package (``pyproject.toml`` with a project or build system,
``setup.py``, or ``setup.cfg`` with metadata). Everything is read when the recipe is made and
kept as plain lines, so a build installs exactly what its key was computed from.

The key hashes those lines, the Python the environment is made from and our own tooling
(``ipykernel``, so the environment can be a Jupyter kernel): an unchanged image is never built
again, and two projects with the same requirements share one environment. A project that is a
package adds its folder and its packaging files to the key (an editable install points there).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from .dockerfile import read_dockerfile
from .requirements import Reader

TOOLING = ("ipykernel",)  # what every environment gets besides the image's requirements
RECIPE_VERSION = 1  # bump when what a key covers changes
REQUIREMENTS_FILE = "requirements.txt"
APT_FILE = "apt.txt"
PACKAGE_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


class ImageNotBuildableError(InvalidInputError):
    """An image without a local meaning (no context, a ``storage:`` context); ``exit_code``
    is neuro-flow's for ``build`` (2: no context, 3: no dockerfile)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Recipe:
    """What one environment is built from (the first fields) and how it is shown (the rest,
    outside the key)."""

    requirements: tuple[str, ...] = ()  # lines of one requirements file, includes inlined
    constraints: tuple[str, ...] = ()
    editable: str | None = None  # the context folder, installed editable (a package)
    package_hash: str = ""  # sha256 of its packaging files
    python: str = ""  # the interpreter the environment is made from
    python_version: str = ""
    tooling: tuple[str, ...] = TOOLING
    # not in the key
    image_id: str = ""
    sources: tuple[str, ...] = ()  # where the lines came from, for the build log
    notes: tuple[str, ...] = ()  # what was left out, and why
    base_image: str = ""
    apt_file: str | None = None
    context: str = ""

    @property
    def key(self) -> str:
        """``py3.11-<16 hex digits>``: the environment's folder name under the envs root."""
        covered = {
            "version": RECIPE_VERSION, "requirements": self.requirements,
            "constraints": self.constraints, "editable": self.editable,
            "package_hash": self.package_hash, "python": self.python,
            "python_version": self.python_version, "tooling": self.tooling,
        }
        digest = hashlib.sha256(json.dumps(covered, sort_keys=True).encode()).hexdigest()
        short = ".".join(self.python_version.split(".")[:2])
        return f"py{short}-{digest[:16]}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        for name in ("requirements", "constraints", "tooling", "sources", "notes"):
            if name in known:
                known[name] = tuple(known[name])
        return cls(**known)

    def requirements_text(self) -> str:
        return "".join(f"{line}\n" for line in self.requirements)

    def constraints_text(self) -> str:
        return "".join(f"{line}\n" for line in self.constraints)

    def cluster_requirements(self) -> tuple[list[str], list[str]]:
        """The lines a cluster can install (Ray's runtime_env) and the ones it cannot: local
        paths and editable installs exist only on this machine."""
        kept: list[str] = []
        left: list[str] = []
        for line in self.requirements:
            word = line.split()[0]
            local = line.startswith(("-e ", "--editable", "--find-links", "-f ")) or word.startswith("/")
            (left if local else kept).append(line)
        if self.editable:
            left.append(f"-e {self.editable}")
        return kept, left


def base_python() -> tuple[str, str]:
    """The interpreter environments are made from (the base of this one when it is a venv)
    and its version."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    version = ".".join(str(part) for part in sys.version_info[:3])
    return os.path.realpath(base), version


def is_package(folder: Path) -> bool:
    """Whether ``folder`` is an installable Python project (not just tool settings such as
    a setup.cfg of flake8 and mypy sections, as the template has)."""
    if (folder / "setup.py").is_file():
        return True
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        data = _toml(pyproject)
        if "project" in data or "build-system" in data:
            return True
    setup_cfg = folder / "setup.cfg"
    if setup_cfg.is_file():
        import configparser

        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(setup_cfg, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return False
        return parser.has_option("metadata", "name") or parser.has_section("options")
    return False


def _toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path}: cannot be read as TOML: {exc}") from None


def _package_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def context_folder(image: Mapping[str, Any], root: Path) -> Path:
    """The image's build context as a folder of the project, or a clear error."""
    iid = image.get("id") or "?"
    context = image.get("context")
    if context is None:
        raise ImageNotBuildableError(
            f"Image's context part is not set: image {iid} has no local environment (an image "
            "from a registry runs jobs with this machine's Python)", exit_code=2)
    full = image.get("full_context_path")
    if not full:
        raise ImageNotBuildableError(
            f"Image {iid}: its context {context} is not a local folder; a local environment is "
            "built from a folder of the project", exit_code=2)
    folder = Path(full)
    base = root.resolve()
    if folder.resolve() != base and base not in folder.resolve().parents:
        raise ImageNotBuildableError(
            f"Image {iid}: its context {folder} is outside the project {root}: only the "
            "project's files are read", exit_code=2)
    if not folder.is_dir():
        raise ImageNotBuildableError(f"Image {iid}: its context {folder} is not a folder",
                                     exit_code=2)
    return folder


def recipe_for_image(image: Mapping[str, Any], root: Path) -> Recipe:
    """The recipe of an evaluated ``images.<id>`` entry of the project at ``root``."""
    folder = context_folder(image, root)
    reader = Reader(root)
    sources: list[str] = []
    base_image = ""
    installs_itself = False
    dockerfile = Path(image["full_dockerfile_path"]) if image.get("full_dockerfile_path") else None
    if dockerfile is not None and not _inside(dockerfile, root):
        reader.collected.notes.append(f"the Dockerfile {dockerfile} is outside the project: "
                                      "not read (only the project's files are)")
        dockerfile = None
    if dockerfile is not None and dockerfile.is_file():
        found = read_dockerfile(dockerfile, folder)
        base_image, installs_itself = found.base_image, found.installs_itself
        label = _relative(dockerfile, root)
        for path in found.files:
            reader.read_file(path, named_in=label)
        for path in found.constraint_files:
            reader.read_file(path, constraint=True, named_in=label)
        reader.add_words(found.words, folder, named_in=label)
        reader.collected.notes.extend(f"{label}: {note}" for note in found.notes)
        if found.files or found.words or found.constraint_files:
            sources.append(f"{label} (its pip install lines)")
    elif dockerfile is not None:
        reader.collected.notes.append(f"no Dockerfile at {_relative(dockerfile, root)}")
    plain = folder / REQUIREMENTS_FILE
    if plain.is_file() and plain.resolve() not in {p.resolve() for p in reader.collected.files}:
        reader.read_file(plain)
    for path in reader.collected.files:
        label = _relative(path, root)
        if label not in sources:
            sources.append(label)
    editable = None
    package_hash = ""
    if is_package(folder) or installs_itself:
        editable = str(folder.resolve())
        package_hash = _package_hash(folder)
        sources.append(f"{_relative(folder, root) or '.'} itself (a package, installed editable)")
    python, version = base_python()
    apt = folder / APT_FILE
    return Recipe(
        requirements=tuple(reader.collected.lines), constraints=tuple(reader.collected.constraints),
        editable=editable, package_hash=package_hash, python=python, python_version=version,
        image_id=str(image.get("id") or ""), sources=tuple(sources),
        notes=tuple(reader.collected.notes), base_image=base_image,
        apt_file=str(apt) if apt.is_file() else None, context=str(folder),
    )


def _inside(path: Path, root: Path) -> bool:
    resolved, base = path.resolve(), root.resolve()
    return resolved == base or base in resolved.parents


def _relative(path: Path, root: Path) -> str:
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return str(path)
    return "" if str(rel) == "." else str(rel)


__all__ = ["TOOLING", "ImageNotBuildableError", "Recipe", "base_python", "recipe_for_image"]
