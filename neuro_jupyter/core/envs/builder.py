"""The builder of one environment: ``python -m neuro_jupyter.core.envs.builder BUILD_ID``.

Started detached (its own session) by ``builds.start_build``, so it outlives the kernel or the
CLI that asked for it; its output, and the installer's, is the build's log. It takes the
environment's lock, builds it in its final folder (venv, then one install of the recipe's
requirements and our tooling), writes the marker and publishes it (``registry``), then
registers or updates the project's kernel. SIGTERM (``cancel_build``) stops the installer and
removes the folder; the installer gets SIGKILL if the builder dies, and the folder of a build
that never published is removed by the next build of that environment.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from ..backends.base import Resources
from ..backends.local import keeper
from ..backends.local.limits import preexec
from ..backends.local.procs import signal_group, signal_name, start_ticks
from ..logfiles import read_from
from ..store.db import open_store
from ..store.envs import (
    BuildRecord,
    finish_build,
    get_build_record,
    latest_build,
    update_build,
)
from ..store.retry import until_written
from . import kernels
from .apt import apt_note
from .installer import error_message, find_installer
from .recipe import TOOLING, Recipe
from .registry import (
    env_path,
    envs_root,
    is_ready,
    leftovers,
    locked,
    new_build_folder,
    publish,
    python_of,
    read_marker,
    remove_folder,
    write_marker,
)

STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL for a cancelled installer
SNAPSHOT = ".neuro-jupyter"  # where the build keeps the requirements it installed
CANCELLED = "cancelled"


_PASSWORD = re.compile(r"(://[^/\s:@]+):[^/\s@]+@")


def hide_password(text: str) -> str:
    """``https://user:secret@host`` → ``https://user:***@host`` (index URLs in the log)."""
    return _PASSWORD.sub(r"\1:***@", text)


class _Flags:
    stop = False


def _on_stop(signum: int, frame: object) -> None:
    _Flags.stop = True


def say(text: str) -> None:
    """A line of ours in the build's log."""
    sys.stdout.write(f"[neuro-jupyter] {text}\n")
    sys.stdout.flush()


def build(build_id: str) -> int:
    """Build (or find built) the environment of build ``build_id``; returns the exit code."""
    open_store()
    record = get_build_record(build_id)
    if not record.active:  # cancelled before it got going
        return 0
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_stop)
    update_build(build_id, only_if_active=True, status="running", pid=os.getpid(),
                 pid_start=start_ticks(os.getpid()), started_at=time.time(), phase="waiting")
    recipe = Recipe.from_dict(record.recipe.get("recipe") or {})
    key = record.env_key
    _describe(record, recipe)
    with locked(key, stopped=lambda: _Flags.stop,
                waiting=lambda: say("Another build of this environment runs: waiting for it")) as held:
        if not held:
            finish_build(build_id, "cancelled", reason="cancelled while waiting")
            return 1
        marker = read_marker(env_path(key)) if is_ready(key) else None
        up_to_date = marker is not None and (
            not record.force or float(marker.get("built_at") or 0) >= record.created_at)
        if up_to_date:
            say(f"Up to date: {env_path(key)} is built (nothing to do; --force-overwrite "
                "builds it again)")
        else:
            failure = _make(record, recipe)
            if failure:
                status = "cancelled" if failure == CANCELLED else "failed"
                reason = "cancelled" if failure == CANCELLED else failure
                say(f"Build {status}: {reason}")
                _previous(record)
                finish_build(build_id, status, reason=reason)
                return 1
    note = _kernel(get_build_record(build_id), key)
    say(f"Environment ready: {env_path(key)}")
    finish_build(build_id, "succeeded", reason="; ".join(
        part for part in ("up to date" if up_to_date else "", note) if part))
    return 0


def _describe(record: BuildRecord, recipe: Recipe) -> None:
    """The build log's head: what the environment is built from, and what is left out."""
    root = record.recipe.get("project_root") or ""
    say(f"Environment of image {record.image_id} of {Path(root).name or 'a project'}: "
        f"{record.env_key}")
    say(f"From: {', '.join(recipe.sources) or 'nothing but Python'}; "
        f"Python {recipe.python_version} ({recipe.python})")
    for line in recipe.requirements:
        say(f"  {hide_password(line)}")
    say(f"  + {' '.join(TOOLING)} (to run the project's notebooks with this environment)")
    for note in recipe.notes:
        say(f"Left out: {note}")
    base = recipe.base_image
    if base and not base.split("/")[-1].startswith("python"):
        say(f"The Dockerfile starts FROM {base}: what that image holds is not installed here; "
            "list what the code needs from it in requirements.txt")
    elif base.startswith("python:") and not base[7:].startswith(
            ".".join(recipe.python_version.split(".")[:2])):
        say(f"The Dockerfile starts FROM {base}; here the environment has Python "
            f"{recipe.python_version}")
    apt = apt_note(recipe.apt_file)
    if apt:
        say(apt)


def _previous(record: BuildRecord) -> None:
    """Say which environment of the image is still there after a failed build."""
    if is_ready(record.env_key):
        say(f"The environment as it was stays usable: {env_path(record.env_key)}")
        return
    if record.project_pk is None:
        return
    before = latest_build(project_pk=record.project_pk, image_id=record.image_id,
                          status="succeeded")
    if before is not None and is_ready(before.env_key):
        say(f"The image's previous environment is still there ({env_path(before.env_key)}), "
            "but jobs run in the one of the current requirements: fix them and build again")


def _make(record: BuildRecord, recipe: Recipe) -> str:
    """Build the environment in a new folder and publish it; the reason when it failed
    (``CANCELLED`` when stopped), else ``""``."""
    key = record.env_key
    for old in leftovers(key):
        say(f"Removing {old.name}: a build that did not finish left it")
        remove_folder(old)
    folder = new_build_folder(key, record.build_id)
    try:
        failure = _fill(record, recipe, folder)
        if not failure:
            update_build(record.build_id, only_if_active=True, phase="publishing")
            publish(key, folder)
            for old in leftovers(key):  # the folder a forced build replaced
                remove_folder(old)
    except OSError as exc:  # a full disk, a folder we may not write
        failure = f"{exc}"
    if failure:
        remove_folder(folder)
    return failure


def _fill(record: BuildRecord, recipe: Recipe, folder: Path) -> str:
    """Create the virtualenv at ``folder`` and install the recipe into it."""
    installer = find_installer()
    say(f"Installer: {installer.label}")
    update_build(record.build_id, only_if_active=True, phase="creating")
    failure = _run(installer.create(folder, recipe.python), record, "creating the virtualenv")
    if failure:
        return failure
    snapshot = folder / SNAPSHOT
    snapshot.mkdir(parents=True, exist_ok=True)
    requirements = snapshot / "requirements.txt"
    requirements.write_text(recipe.requirements_text(), encoding="utf-8")
    constraints = None
    if recipe.constraints:
        constraints = snapshot / "constraints.txt"
        constraints.write_text(recipe.constraints_text(), encoding="utf-8")
    update_build(record.build_id, only_if_active=True, phase="installing")
    failure = _run(installer.install(folder, requirements, constraints, recipe.editable,
                                     recipe.tooling), record, "installing the requirements")
    if failure:
        return failure
    failure = _run([str(python_of(folder)), "-c", "import sys"], record, "checking its Python")
    if failure:
        return failure
    write_marker(folder, {
        "key": record.env_key, "build_id": record.build_id, "built_at": time.time(),
        "installer": installer.name, "python": recipe.python,
        "python_version": recipe.python_version, "requirements": list(recipe.requirements),
        "sources": list(recipe.sources), "image": record.image_id,
    })
    return ""


def _run(argv: list[str], record: BuildRecord, what: str) -> str:
    """Run one step with its output in the log; the reason when it failed, else ``""``."""
    if _Flags.stop:
        return CANCELLED
    say(f"$ {hide_password(shlex.join(argv))}")
    start = _log_size(record)
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX")}
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=sys.stdout.fileno(), stderr=subprocess.STDOUT,
            start_new_session=True, env=env, cwd=str(envs_root()),
            preexec_fn=preexec(Resources(), die_with_parent=True),
        )
    except OSError as exc:
        return f"{what} failed: cannot run {argv[0]}: {exc}"
    while proc.poll() is None:
        if _Flags.stop:
            signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                pass
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            return CANCELLED
        time.sleep(0.1)
    signal_group(proc.pid, signal.SIGKILL)  # what the step left behind
    if proc.returncode == 0:
        return ""
    output = read_from(record.log_path, start)[0]
    return f"{what} failed (exit code {proc.returncode}):\n{error_message(output)}"


def _log_size(record: BuildRecord) -> int:
    try:
        return os.path.getsize(record.log_path)
    except OSError:
        return 0


def _kernel(record: BuildRecord, key: str) -> str:
    """Register the project's kernel (``--kernel``) or point ours at this environment; a note
    when that did not work (the environment is built either way)."""
    data = record.recipe
    name, display = str(data.get("kernel_name") or ""), str(data.get("kernel_display") or "")
    root = Path(str(data.get("project_root") or "."))
    env = env_path(key)
    if not name:
        return ""
    if not record.kernel:
        if kernels.point(name, env, root, record.image_id):
            say(f"Kernel {name} ({display}) now runs this environment")
        return ""
    if kernels.runs_env(name, env):
        kernels.mark(name, root, record.image_id)
        say(f"Kernel {name} ({display}) runs this environment already")
        return ""
    update_build(record.build_id, only_if_active=True, phase="kernel")
    failure = _run(kernels.install_command(env, name, display), record, "registering the kernel")
    if failure:
        say(f"The environment is built, but its kernel is not registered: {failure}")
        return f"kernel not registered: {failure}"
    kernels.mark(name, root, record.image_id)
    say(f"Kernel {name} registered: \"{display}\" in Jupyter's kernel list")
    return ""


def _died(build_id: str, pid: int, signum: int, stopped: int) -> None:
    """The keeper's record of a builder that was killed (the installer's tree has ended)."""
    reason = (f"the builder (pid {pid}) died, killed by {signal_name(signum)}; nothing was "
              "published, the environment is as it was")
    if stopped:
        reason += f" ({stopped} installer process{'es' if stopped > 1 else ''} stopped)"
    store = open_store(repair=False)
    until_written(lambda: finish_build(build_id, "failed", reason=reason, store=store))


def main(argv: list[str] | None = None) -> int:
    """Entry point; errors end up in the build's log and record, never silently."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m neuro_jupyter.core.envs.builder BUILD_ID", file=sys.stderr)
        return 2
    build_id = args[0]
    # the parent becomes the builder's keeper: a builder killed takes the installer's whole
    # tree with it (uv's build backends, pip's subprocesses), not only its direct child
    keeper.keep(lambda pid, signum, stopped: _died(build_id, pid, signum, stopped))
    try:
        return build(build_id)
    except BaseException as exc:  # record the crash instead of leaving the build "running"
        sys.stdout.write(f"[neuro-jupyter] builder error:\n{traceback.format_exc()}")
        sys.stdout.flush()
        try:
            finish_build(args[0], "failed", reason=f"builder error: {exc!r}")
        except BaseException:  # pragma: no cover - the store itself is broken
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
