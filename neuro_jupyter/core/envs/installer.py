"""The installer an environment is built with: uv when there is one, else venv and pip.

uv is a dependency of neuro-jupyter (a binary wheel on PyPI): environments build in seconds
from its cache. Without it (a platform with no uv wheel, or ``NEURO_JUPYTER_INSTALLER=pip``)
``python -m venv`` and the environment's own pip do the same, slower.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import BackendUnavailableError

INSTALLER_ENV = "NEURO_JUPYTER_INSTALLER"  # uv | pip: choose instead of finding uv
MESSAGE_LIMIT = 2000
# lines of an installer's output that say what went wrong (uv's "error:"/"×"/"╰─▶" lines
# and their hints, pip's "ERROR:" lines)
_ERROR_LINE = re.compile(r"^\s*(error:|ERROR:|×|╰─▶|help:|hint:|Caused by:)")


@dataclass(frozen=True)
class Installer:
    """How to make a virtualenv and install requirements into it."""

    name: str  # uv | pip
    uv: str | None = None  # the uv executable

    def create(self, folder: Path, python: str) -> list[str]:
        """The command that makes an empty environment (with pip in it) at ``folder``."""
        if self.uv:
            return [self.uv, "venv", "--seed", "--no-project", "--python", python, str(folder)]
        return [python, "-m", "venv", str(folder)]

    def install(self, folder: Path, requirements: Path, constraints: Path | None,
                editable: str | None, tooling: tuple[str, ...]) -> list[str]:
        """The command that installs the recipe's requirements into the environment."""
        python = str(folder / "bin" / "python")
        if self.uv:
            argv = [self.uv, "pip", "install", "--python", python]
        else:
            argv = [python, "-m", "pip", "install", "--disable-pip-version-check"]
        argv += ["-r", str(requirements)]
        if constraints is not None:
            argv += ["-c", str(constraints)]
        if editable:
            argv += ["-e", editable]
        return [*argv, *tooling]

    @property
    def label(self) -> str:
        return f"uv ({self.uv})" if self.uv else "python -m venv and pip"


def find_installer() -> Installer:
    """uv (from its Python package, else on PATH), else venv and pip; ``$NEURO_JUPYTER_INSTALLER``
    chooses."""
    wanted = os.environ.get(INSTALLER_ENV, "").strip().lower()
    if wanted == "pip":
        return Installer("pip")
    uv = _find_uv()
    if uv is None and wanted == "uv":
        raise BackendUnavailableError(
            f"{INSTALLER_ENV}=uv but uv is not installed here: pip install uv")
    return Installer("uv", uv) if uv else Installer("pip")


def _find_uv() -> str | None:
    try:
        from uv import find_uv_bin
    except ImportError:
        return shutil.which("uv")
    try:
        return str(find_uv_bin())
    except (FileNotFoundError, OSError):
        return shutil.which("uv")


def error_message(output: str) -> str:
    """What an installer's output says went wrong: its error lines (uv's ``×``/``╰─▶`` lines,
    pip's ``ERROR:`` lines, each with the lines that continue it), else its last lines."""
    lines = [line.rstrip() for line in output.splitlines()]
    picked: list[str] = []
    keep = False
    for line in lines:
        if _ERROR_LINE.match(line):
            keep = True
            picked.append(line.strip())
        elif keep and line.startswith((" ", "\t")) and line.strip():
            picked.append(line.strip())
        else:
            keep = False
    if not picked:
        picked = [line.strip() for line in lines if line.strip()][-5:]
    text = "\n".join(picked)
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"
