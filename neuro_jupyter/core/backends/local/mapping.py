"""The local meaning of an evaluated job or task: an ExecUnit becomes a ProcessSpec.

How a job written for a container runs unchanged on this machine:

- **Mount paths → local folders.** Every volume's ``mount`` (a path inside the container, e.g.
  ``/project/data``) is replaced by its local folder (``VolumeMount.local``: the volume's
  ``local:`` folder in the project, or the local stand-in for its ``storage:`` remote) wherever
  it appears in the command's arguments, in env values and in the workdir. Longer mounts are
  tried first (``/project/data`` before ``/project``) and only whole path components match, so
  ``/project2`` or ``/home/project`` are left alone. A parent of the mounts maps too when the
  volumes imply it: ``/project/data`` → ``<root>/data`` and ``/project/modules`` →
  ``<root>/modules`` make ``/project`` → ``<root>`` (so ``cd /project`` works as in the image).
  Missing local folders are created. For local runs a folder whose path a shell would split
  (``~/My Projects/x``) is replaced by a plain symlink to it (``aliases.py``), so unquoted
  mount paths in ``bash:`` scripts work as in a container.
  ``read_only`` cannot be enforced locally.
- **workdir**: normalised (``..`` resolved in its text), then rewritten the same way; a
  relative workdir is taken from the project root and may not leave it, one written under a
  mount may not leave the mounts (``/project/up/../../..``); an absolute folder of this machine
  outside the mounts is used as it is. No workdir means the project root. A missing workdir in
  the project or under a mounted volume is created, as a container runtime does.
- **entrypoint** is split like a command line and put before the command.
- **image** is not used locally (there is no container); a job without ``cmd``/``bash``/
  ``python`` would need the image's CMD, so it cannot run locally.
- **Python**: the folder of the Python running neuro-jupyter is put first on ``PATH``, so
  ``python``, ``jupyter`` or ``tensorboard`` in a command are the kernel's environment. A job
  whose image is a project image runs in that image's environment (``core.envs``): its ``bin``
  comes first (before the kernel's, which still provides ``jupyter`` and the like) and
  ``VIRTUAL_ENV`` names it, as activating it does.
- **Binding**: ``0.0.0.0`` in arguments and env values becomes ``127.0.0.1``: local jobs serve on
  the loopback interface only (reach them through Jupyter's proxy, see ``core.live.urls``).
- **preset** → Resources from the presets table (``core.presets``).
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ... import paths
from ...errors import BackendError, UnrunnableError
from ...presets import resolve_preset
from ...workflow.model import ExecUnit, VolumeMount
from ..base import ProcessSpec
from ..pathmatch import path_pattern
from .aliases import shell_safe
from .limits import resource_env

if TYPE_CHECKING:
    from ...envs.jobs import JobEnvironment
    from ...project.discovery import Project

_ANY_ADDRESS = re.compile(r"(?<![\d.])0\.0\.0\.0(?![\d.])")


class MountRewriter:
    """Replace container mount paths with local folders in strings (longest mount first);
    ``folder`` gives the path written for a local folder (``aliases.shell_safe`` locally)."""

    def __init__(self, volumes: Iterable[VolumeMount],
                 folder: Callable[[str], str] = str) -> None:
        mounts: dict[str, str] = {}
        volumes = list(volumes)
        for volume in volumes:
            mount = volume.mount.rstrip("/")
            if mount and mount.startswith("/"):
                mounts.setdefault(mount, folder(str(volume.local)))
        for parent, local in _implied_parents(volumes).items():
            mounts.setdefault(parent, folder(local))
        self.mounts = mounts
        self._pattern = path_pattern(mounts)

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self.mounts[match.group(1)], text)

    def finds(self, text: str) -> bool:
        """Whether ``text`` holds a mount path (so rewriting it changes something)."""
        return self._pattern is not None and self._pattern.search(text) is not None


def _implied_parents(volumes: list[VolumeMount]) -> dict[str, str]:
    """Parents of mount paths that the volumes imply: ``/project/data`` → ``<root>/data`` and
    ``/project/modules`` → ``<root>/modules`` imply ``/project`` → ``<root>``. A parent is kept
    only when every volume under it agrees on its local folder."""
    seen: dict[str, set[str]] = {}
    for volume in volumes:
        mount = PurePosixPath(volume.mount.rstrip("/") or "/")
        local = Path(volume.local)
        while mount.parent != mount and local.parent != local and mount.name == local.name:
            mount, local = mount.parent, local.parent
            if str(mount) != "/":
                seen.setdefault(str(mount), set()).add(str(local))
    for volume in volumes:  # volumes elsewhere under a parent must agree too
        for parent in list(seen):
            if volume.mount.startswith(parent + "/"):
                rel = volume.mount[len(parent) + 1 :].rstrip("/")
                if not str(volume.local).endswith("/" + rel):
                    seen[parent].add("?")
    return {parent: next(iter(locals_)) for parent, locals_ in seen.items() if len(locals_) == 1}


def local_env(env: Mapping[str, str], extra: Mapping[str, str] | None = None,
              first: str | None = None) -> dict[str, str]:
    """The job's env (values already mapped) with the kernel's Python first on PATH (after
    ``first``, the bin folder of the job's environment, when it has one), and ``extra`` on
    top."""
    result = dict(env)
    path = result.get("PATH")
    if path is None:
        path = _environ_path()
    path = _python_first(sys.executable, path)
    if first and path.split(os.pathsep)[0] != first:
        path = first + os.pathsep + path
    result["PATH"] = path
    if extra:
        result.update(extra)
    return result


def _environ_path() -> str:
    """``PATH`` of ``os.environ`` (read from its raw dict: no encoding per task)."""
    raw = getattr(os.environ, "_data", None)
    if isinstance(raw, dict):
        value = raw.get(b"PATH")
        return os.defpath if value is None else value.decode("utf-8", "surrogateescape")
    return os.environ.get("PATH", os.defpath)


@lru_cache(maxsize=64)
def _python_first(executable: str, path: str) -> str:
    """``path`` with the folder of ``executable`` first (if it is not first already)."""
    bindir = str(Path(executable).parent)
    return path if path.split(os.pathsep)[0] == bindir else bindir + os.pathsep + path


def _rewriter(volumes: tuple[VolumeMount, ...], folder: Callable[[str], str]) -> MountRewriter:
    """The rewriter of a task's volumes, built once per distinct set (a bake's tasks mostly
    share theirs) and state folder (where ``folder`` may put its links)."""
    if not volumes:
        return _NO_MOUNTS
    return _cached_rewriter(volumes, folder, os.environ.get(paths.HOME_ENV))


@lru_cache(maxsize=256)
def _cached_rewriter(volumes: tuple[VolumeMount, ...], folder: Callable[[str], str],
                     home: str | None) -> MountRewriter:
    return MountRewriter(volumes, folder)


def loopback(text: str) -> str:
    """``0.0.0.0`` → ``127.0.0.1``: local jobs listen on loopback only."""
    if "0.0.0.0" not in text:  # mostly: no regex scan of each word of each task
        return text
    return _ANY_ADDRESS.sub("127.0.0.1", text)


def local_workdir(workdir: str | None, project_root: Path, rewrite: MountRewriter) -> Path:
    """The folder a job starts in (see the module docstring). The workdir is normalised
    (``..`` and ``.`` resolved in its text) before it is mapped: a relative one must stay in
    the project, one written under a mount must stay under the mounts; an absolute folder of
    this machine outside the mounts is used as it is when it exists."""
    if not workdir:
        return project_root
    if not posixpath.isabs(workdir):
        mapped = Path(os.path.normpath(project_root / workdir))
        if mapped != project_root and project_root not in mapped.parents:
            raise UnrunnableError(f"workdir {workdir!r} leads outside the project "
                                  f"({project_root}): a relative workdir is a folder of it")
        return _existing_or_made(workdir, mapped)
    normal = posixpath.normpath(workdir)
    if normal.startswith("//"):  # POSIX keeps a leading '//'
        normal = "/" + normal.lstrip("/")
    if rewrite.finds(normal):  # under a mounted volume: created when missing
        return _existing_or_made(workdir, Path(rewrite(normal)))
    if rewrite.finds(workdir):
        raise UnrunnableError(
            f"workdir {workdir!r} leaves the mounted volumes (it is {normal!r} once "
            f"normalised; mounts: {', '.join(sorted(rewrite.mounts))})")
    if Path(normal).is_dir():
        return Path(normal)
    raise UnrunnableError(
        f"workdir {workdir!r} is neither under a mounted volume nor a folder on this machine"
    )


def _existing_or_made(workdir: str, mapped: Path) -> Path:
    """A workdir in the project or a mounted volume, created when missing, as a container
    runtime does."""
    if not mapped.is_dir():
        try:
            mapped.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"workdir {workdir!r} is {mapped} here: {exc}") from exc
    return mapped


def map_unit(
    unit: ExecUnit, project: Project, log_path: Path, *, bind: Callable[[str], str],
    no_command: str, folder: Callable[[str], str] = str,
) -> ProcessSpec:
    """What runs ``unit`` on any backend, its mount paths mapped to this machine's folders
    (see the module docstring): the command (after the entrypoint) and env values rewritten
    and passed through ``bind``, the workdir, the preset's resources. ``no_command`` says why
    a unit without a command cannot run; missing volume folders are created."""
    title = unit.title or unit.name or "the job"
    if unit.argv is None:
        raise UnrunnableError(f"{title}: no command (cmd, bash or python); {no_command}")
    resources = resolve_preset(unit.preset)
    rewrite = _rewriter(tuple(unit.volumes), folder)
    try:
        words = [*shlex.split(unit.entrypoint), *unit.argv] if unit.entrypoint else unit.argv
    except ValueError as exc:  # unbalanced quotes
        raise UnrunnableError(f"{title}: entrypoint {unit.entrypoint!r}: {exc}") from exc
    if not words:
        raise UnrunnableError(f"{title}: the command is empty")
    for volume in unit.volumes:
        try:
            volume.local.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"Cannot create the local folder of volume {volume.mount}: {exc}") from exc
    return ProcessSpec(
        argv=tuple(bind(rewrite(word)) for word in words),
        workdir=local_workdir(unit.workdir, project.root, rewrite),
        log_path=log_path,
        env={key: bind(rewrite(str(value))) for key, value in unit.env.items()},
        resources=resources,
        life_span=unit.life_span,
        name=unit.name or unit.title,
        restart=unit.restart,
    )


def to_process_spec(
    unit: ExecUnit, project: Project, log_path: Path, *, env_extra: Mapping[str, str] | None = None,
    environment: JobEnvironment | None = None,
) -> ProcessSpec:
    """Map an evaluated job or task to the process that runs it here (in its image's
    ``environment`` when it has one)."""
    spec = map_unit(unit, project, log_path, bind=loopback, folder=shell_safe, no_command=(
        "the image's CMD cannot run locally because images are not used here"))
    extra = resource_env(spec.resources)
    if env_extra:
        extra.update(env_extra)
    first = None
    if environment is not None:
        extra.update(environment.variables())
        first = environment.bin_dir
    # ``dataclasses.replace`` without its per-field work (a spec per task, 1000s of tasks)
    mapped = object.__new__(ProcessSpec)
    mapped.__dict__.update(spec.__dict__)
    mapped.__dict__["env"] = local_env(spec.env, extra, first=first)
    return mapped


_NO_MOUNTS = MountRewriter(())
