"""Which kernel runs a notebook, and the kernel manager that starts it.

``--kernel NAME`` names an installed kernelspec. Without it: in a project environment
(``VIRTUAL_ENV`` set, as a job or task running in one has it) whose Python can run ipykernel,
a kernel of that Python; otherwise the notebook's own kernelspec if it is installed here;
otherwise a kernel of the Python running neuro-jupyter. Each step that does not apply says why
(``KernelChoice.notes``), so a notebook that runs in an unexpected Python is not a mystery.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, UnknownNameError

VENV_ENV = "VIRTUAL_ENV"
PYTHON_KERNEL = "python3"  # the name ipykernel-aware clients (nbclient) treat as IPython
SOCKETS_PREFIX = "nbrun-"
MAX_SOCKET_PATH = 100  # a Unix socket's path holds at most 107 bytes on Linux
_CAN_RUN_IPYKERNEL = "import importlib.util as u, sys; sys.exit(u.find_spec('ipykernel_launcher') is None)"


@dataclass(frozen=True)
class KernelChoice:
    """The kernel to start: an installed kernelspec by name, or ``argv`` (a Python running
    ipykernel) under the name ``python3``."""

    name: str
    label: str  # what the progress lines say
    language: str = "python"
    argv: tuple[str, ...] | None = None
    notes: tuple[str, ...] = field(default=())


def installed_kernels() -> dict[str, Any]:
    """The kernelspecs installed here, by name."""
    from jupyter_client.kernelspec import KernelSpecManager

    manager = KernelSpecManager()
    found: dict[str, Any] = {}
    for name in manager.find_kernel_specs():
        try:
            found[name] = manager.get_kernel_spec(name)
        except Exception:  # a broken kernel.json: not usable, not listed
            continue
    return found


def runs_ipykernel(python: Path) -> bool:
    """Whether ``python`` exists and can import ipykernel's launcher."""
    if not os.access(python, os.X_OK):
        return False
    try:
        done = subprocess.run([str(python), "-c", _CAN_RUN_IPYKERNEL], timeout=60,
                              stdin=subprocess.DEVNULL, capture_output=True)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _python_kernel(python: str, label: str, notes: list[str]) -> KernelChoice:
    return KernelChoice(PYTHON_KERNEL, label, argv=(python, "-m", "ipykernel_launcher"),
                        notes=tuple(notes))


def choose_kernel(
    requested: str | None, notebook_spec: Mapping[str, Any] | None,
    environ: Mapping[str, str] | None = None,
) -> KernelChoice:
    """The kernel for a notebook whose metadata has ``notebook_spec`` (see the module
    docstring); an unknown ``requested`` name lists the installed kernels."""
    environ = os.environ if environ is None else environ
    installed = installed_kernels()
    if requested:
        spec = installed.get(requested)
        if spec is None:
            raise UnknownNameError("kernel", requested, installed,
                                   where="the kernels installed here (jupyter kernelspec list)")
        return KernelChoice(requested, requested, language=spec.language or "python")
    notes: list[str] = []
    venv = environ.get(VENV_ENV)
    if venv:
        python = Path(venv) / "bin" / "python"
        if runs_ipykernel(python):
            return _python_kernel(str(python), f"the environment's Python ({python})", notes)
        notes.append(f"{python} cannot run ipykernel (`pip install ipykernel` in {venv} to run "
                     "notebooks in that environment)")
    spec_name = str((notebook_spec or {}).get("name") or "")
    if spec_name and spec_name in installed:
        spec = installed[spec_name]
        return KernelChoice(spec_name, spec_name, language=spec.language or "python",
                            notes=tuple(notes))
    language = str((notebook_spec or {}).get("language") or "python")
    if language != "python":
        valid = ", ".join(sorted(installed)) or "(none)"
        raise InvalidInputError(
            f"The notebook's kernel {spec_name!r} ({language}) is not installed here. "
            f"Valid kernels: {valid}; choose one with --kernel NAME"
        )
    if spec_name:
        notes.append(f"the notebook's kernel {spec_name!r} is not installed here")
    return _python_kernel(sys.executable, f"this Python ({sys.executable})", notes)


def _sockets_folder() -> Path:
    """A new private folder for a kernel's connection file and Unix sockets, short enough for
    socket paths (the temporary folder, else /tmp)."""
    base = tempfile.gettempdir()
    if len(base) + 40 > MAX_SOCKET_PATH:
        base = "/tmp"
    return Path(tempfile.mkdtemp(prefix=SOCKETS_PREFIX, dir=base))


def kernel_manager(choice: KernelChoice) -> Any:
    """An ``AsyncKernelManager`` that starts ``choice``, talking over Unix sockets in a folder
    of its own (``remove_sockets_folder``): no TCP port to race for when a matrix of tasks
    starts kernels at once, nothing another user could connect to, and no warning from
    ipykernel about unencrypted TCP in every log."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    folder = _sockets_folder()
    options: dict[str, Any] = {"kernel_name": choice.name, "transport": "ipc",
                               "connection_file": str(folder / "kernel.json")}
    if choice.argv is not None:
        spec = KernelSpec(argv=[*choice.argv, "-f", "{connection_file}"],
                          display_name=choice.label, language=choice.language,
                          metadata={"debugger": True})

        class OneKernel(KernelSpecManager):
            """The given Python's ipykernel as kernel ``choice.name``; others as installed."""

            def get_kernel_spec(self, kernel_name: str) -> Any:
                if kernel_name == choice.name:
                    return spec
                return super().get_kernel_spec(kernel_name)

        options["kernel_spec_manager"] = OneKernel()
    return AsyncKernelManager(**options)


def remove_sockets_folder(km: Any) -> None:
    """Remove the folder ``kernel_manager`` made for ``km`` (once its kernel has stopped)."""
    folder = Path(str(km.connection_file)).parent
    if folder.name.startswith(SOCKETS_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)
