"""Where environments live and how a build becomes one, atomically.

``<envs root>/<key>`` is the environment jobs use (``VIRTUAL_ENV``): a symlink to the folder a
build filled, ``<key>.<build>``. A virtualenv cannot move (its scripts name its own path), so a
build fills its final folder, writes the marker file last, and only then points the symlink at
it with one ``rename``: a build that is killed, or runs out of disk, leaves a folder nothing
points at (removed by the next build of that key) and never a half environment that jobs use;
a failed ``--force-overwrite`` leaves the environment as it was. ``<key>.lock`` (``flock``)
makes two builds of one environment take turns; the second finds it built.

The root is ``$NEURO_JUPYTER_ENVS``, else ``$NEURO_JUPYTER_HOME/envs``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import paths

ENVS_ENV = "NEURO_JUPYTER_ENVS"
MARKER = Path(".neuro-jupyter") / "env.json"  # written last: a folder without it is unfinished
LOCK_POLL = 0.2


def envs_root() -> Path:
    """The folder of every environment (created on first use)."""
    explicit = os.environ.get(ENVS_ENV)
    root = Path(explicit).expanduser() if explicit else paths.home() / "envs"
    root.mkdir(parents=True, exist_ok=True)
    return root


def env_path(key: str) -> Path:
    """The environment of ``key`` as jobs see it (a symlink once built)."""
    return envs_root() / key


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


def read_marker(env: Path) -> dict[str, Any] | None:
    """The facts a finished build wrote into the environment, or None when it is not one."""
    try:
        data = json.loads((env / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_ready(key: str) -> bool:
    """Whether the environment of ``key`` is built (published, with its Python)."""
    env = env_path(key)
    return (env / MARKER).is_file() and python_of(env).exists()


def new_build_folder(key: str, build_id: str) -> Path:
    """The folder a build fills (its final place: a virtualenv cannot move)."""
    return envs_root() / f"{key}.{build_id.rsplit('-', 1)[-1][:12]}"


def write_marker(folder: Path, facts: dict[str, Any]) -> None:
    """Write the marker file (flushed to disk): the folder is a complete environment."""
    path = folder / MARKER
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(facts, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def publish(key: str, folder: Path) -> Path:
    """Point the environment of ``key`` at ``folder`` in one rename; returns its path."""
    root = envs_root()
    link = root / key
    tmp = root / f".{key}.{os.getpid()}.link"
    tmp.unlink(missing_ok=True)
    os.symlink(folder.name, tmp)
    os.replace(tmp, link)
    _sync_folder(root)
    return link


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def current_folder(key: str) -> Path | None:
    """The folder the environment of ``key`` points at, if it is published."""
    link = env_path(key)
    try:
        return (link.parent / os.readlink(link)).resolve()
    except OSError:
        return None


def leftovers(key: str) -> list[Path]:
    """Folders of ``key`` no environment points at: builds that were killed or failed before
    cleaning up, and the folder a forced build replaced. Only call with the key's lock held."""
    current = current_folder(key)
    return [path for path in envs_root().glob(f"{key}.*")
            if path.is_dir() and not path.is_symlink() and path.resolve() != current]


def remove_folder(folder: Path) -> None:
    """Remove a build folder (best effort: a full disk may not even allow that)."""
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def locked(key: str, *, stopped: Callable[[], bool] = lambda: False,
           waiting: Callable[[], None] = lambda: None) -> Iterator[bool]:
    """Hold the build lock of ``key``; yields False when ``stopped()`` turned true while
    waiting for it (``waiting()`` is called once when another build holds it). The lock is the
    kernel's: a killed holder releases it."""
    path = envs_root() / f"{key}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if stopped():
                    yield False
                    return
                if not told:
                    waiting()
                    told = True
                time.sleep(LOCK_POLL)
        yield True
    finally:
        os.close(fd)  # releases the lock
