"""What a Ray job submission carries: the entrypoint, the runtime_env and the resources.

The project is the job's ``working_dir`` (Ray zips and uploads it, leaving out what
``.gitignore`` ignores; ``.neuroignore`` patterns and ``.git`` are passed as ``excludes``). The
entrypoint is a ``/bin/sh`` command line that finds the project on the node: the folder it has on
this machine when the node sees it at the same path (this machine, or a shared filesystem), so
results land where local jobs put them; else Ray's unpacked copy (the job's starting folder).
Every argument, env value and the workdir under the project are written relative to it::

    R='/home/me/proj'; [ -d "$R" ] || R="$PWD"; export OUT="$R"'/results'; cd "$R"'/modules' &&
    exec 'python' "$R"'/modules/train.py'

The ``restart`` policy of a job or task (Ray jobs have none) is a shell loop around the
command, with the pauses and log lines of the local backend (``backends/restart.py``); its
``life_span`` covers all the runs, as locally.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...bake.taskenv import PROJECT_ROOT_ENV as ROOT_VAR
from ..base import ProcessSpec
from ..pathmatch import path_pattern
from ..restart import delays, log_line

IGNORE_FILE = ".neuroignore"
ALWAYS_EXCLUDED = (".git",)
TIMEOUT_GRACE = 10  # seconds between timeout's SIGTERM and its SIGKILL at the end of a life span
TIMED_OUT = 124  # timeout's exit code when the life span ended


def shell_word(text: str, root: str) -> str:
    """``text`` as one shell word, with each occurrence of ``root`` as a whole path (see
    ``pathmatch``) replaced by ``"$NEURO_JUPYTER_PROJECT_ROOT"``."""
    pattern = path_pattern((root,) if root else ())
    if pattern is None:
        return shlex.quote(text)
    words: list[str] = []
    for index, piece in enumerate(pattern.split(text)):  # text, root, text, root, ..., text
        if index % 2:
            words.append(f'"${ROOT_VAR}"')
        elif piece:
            words.append(shlex.quote(piece))
    return "".join(words) or "''"


def restart_loop(argv: str, policy: str) -> str:
    """The command of the shell words ``argv`` run again after each exit that ``policy``
    restarts (``on-failure``, ``always``), with a growing pause and a log line before each
    restart. The words are the loop's arguments (a first word with ``=`` stays the command);
    the loop's own shell variables are named ``NJ_*``."""
    pauses = delays()
    cases = " ".join(f"{n}) NJ_D={pause:g};;" for n, pause in enumerate(pauses[:-1], start=1))
    line = log_line("$NJ_C", "$NJ_N", "${NJ_D}", policy)
    stop = '[ "$NJ_C" -ne 0 ] || exit 0; ' if policy == "on-failure" else ""
    return (f'set -- {argv}; NJ_N=0; while :; do "$@"; NJ_C=$?; {stop}NJ_N=$((NJ_N+1)); '
            f"case $NJ_N in {cases} *) NJ_D={pauses[-1]:g};; esac; "
            f'printf \'%s\\n\' "{line}"; sleep "$NJ_D"; done')


def entrypoint(spec: ProcessSpec) -> tuple[str, dict[str, str]]:
    """The shell command line of ``spec`` and its env vars (for the runtime_env, as they are
    on this machine); the command line exports again those with paths under the project,
    relative to where the project is on the node (see the module docstring)."""
    root = str(spec.project_root) if spec.project_root else ""
    plain = {key: str(value) for key, value in spec.env.items()}
    exports = [
        f"export {key}={shell_word(value, root)}" for key, value in plain.items()
        if root and shell_word(value, root) != shlex.quote(value)
    ]
    parts: list[str] = []
    if root:
        parts.append(f"{ROOT_VAR}={shlex.quote(root)}")
        parts.append(f'[ -d "${ROOT_VAR}" ] || {ROOT_VAR}="$PWD"')
        parts.append(f"export {ROOT_VAR}")
    parts.extend(exports)
    argv = " ".join(shell_word(arg, root) for arg in spec.argv)
    if spec.restart in ("on-failure", "always"):
        loop = restart_loop(argv, spec.restart)
        timed, plain_run = f"/bin/sh -c {shlex.quote(loop)}", f"{{ {loop}; }}"
    else:
        timed, plain_run = argv, f"exec {argv}"
    if spec.life_span:  # enforced on the node too, watched or not (exit code 124)
        limit = f"timeout -k {TIMEOUT_GRACE} {spec.life_span:g}"
        command = (f"if command -v timeout >/dev/null 2>&1; then exec {limit} {timed}; "
                   f"else {plain_run}; fi")
    else:
        command = plain_run
    # a workdir outside the project must exist on the node at the same path
    parts.append(f"cd {shell_word(str(spec.workdir), root)} && {command}")
    return "; ".join(parts), plain


def excludes(project_root: Path) -> list[str]:
    """``.neuroignore``'s patterns (gitignore syntax) and ``.git``: left out of the upload."""
    patterns = list(ALWAYS_EXCLUDED)
    try:
        lines = (project_root / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#") and line not in patterns:
            patterns.append(line)
    return patterns


def runtime_env(spec: ProcessSpec, env_vars: Mapping[str, str]) -> dict[str, Any]:
    """The job's runtime_env: the project as working_dir (without the excluded files), the
    env vars, and the requirements of its image (``pip`` or ``uv``: the cluster installs them
    into a virtualenv of its own, cached by their hash)."""
    env: dict[str, Any] = {"env_vars": dict(env_vars)}
    if spec.project_root:
        env["working_dir"] = str(spec.project_root)
        env["excludes"] = excludes(spec.project_root)
    if spec.requirements:
        check = "uv_check" if spec.requirements_installer == "uv" else "pip_check"
        env[spec.requirements_installer] = {"packages": list(spec.requirements), check: False}
    return env


def resources(spec: ProcessSpec) -> dict[str, Any]:
    """The preset as entrypoint resources (CPUs, GPUs, memory in bytes); none without one."""
    found: dict[str, Any] = {}
    if spec.resources.cpu:
        found["entrypoint_num_cpus"] = spec.resources.cpu
    if spec.resources.gpu:
        found["entrypoint_num_gpus"] = spec.resources.gpu
    if spec.resources.memory_mb:
        found["entrypoint_memory"] = int(spec.resources.memory_mb) * 1024 * 1024
    return found
