"""``nbrun``: run a notebook as a job or a bake task, with parameters, and keep the executed copy.

Where the executed notebook goes, without ``--output``: in a bake task (``core.bake.taskenv``),
``results/bakes/<bake id>/<attempt>/<task id>.ipynb`` in the project, the layout of the bake's
task logs, so each matrix instance and each attempt keeps its own copy and JupyterLab opens it
(the logs live in the state folder, which Jupyter does not serve); elsewhere
``results/<notebook name>.ipynb`` in the notebook's project, or under the current folder
outside a project. The copy is written when the run ends, also when a cell failed (it shows the
error), and a bake task prints ``::notebook::<path in the project>`` so the bake records it.

The kernel starts in the notebook's folder (as JupyterLab runs it) unless ``cwd`` says otherwise.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..bake.commands import notebook_line
from ..bake.taskenv import BakeTask, current_task
from ..errors import InvalidInputError, NeuroJupyterError, NotebookError
from .execution import Echo, NotebookExecution
from .files import kernelspec, read_notebook, write_notebook
from .kernels import choose_kernel
from .params import Scalar, inject, typed

RESULTS = "results"


def default_output(notebook: Path, *, task: BakeTask | None, project_root: Path | None,
                   cwd: Path) -> Path:
    """Where the executed copy of ``notebook`` goes without ``--output`` (module docstring)."""
    if task is not None:
        return (task.project_root / RESULTS / "bakes" / task.bake_id / str(task.attempt)
                / f"{task.task_id}.ipynb")
    return (project_root or cwd) / RESULTS / f"{notebook.stem}.ipynb"


def project_path(path: Path, root: Path) -> str | None:
    """``path`` relative to the project ``root`` (POSIX form), or None outside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _metadata(notebook: Path, params: Mapping[str, Scalar], kernel: str) -> dict[str, Any]:
    shown = {k: v if not isinstance(v, float) or math.isfinite(v) else str(v)
             for k, v in params.items()}
    return {"input": str(notebook), "parameters": shown, "kernel": kernel,
            "started_at": time.time(), "status": "running"}


def nbrun(
    notebook: Path | str, *, params: Sequence[tuple[str, str]] = (), output: Path | str | None = None,
    kernel: str | None = None, cwd: Path | str | None = None, timeout: float | None = None,
    project_root: Path | None = None, out: TextIO | None = None, err: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Execute ``notebook`` with ``params`` (``-p NAME VALUE`` pairs, typed as YAML scalars)
    and write the executed copy; return its path. A failing cell, a cell running longer than
    ``timeout`` seconds, a dead or stopped kernel raise ``NotebookError`` after the copy (with
    what ran) is written."""
    env = os.environ if environ is None else environ
    echo = Echo(out or sys.stdout, err or sys.stderr)
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise InvalidInputError(f"--timeout must be a positive number of seconds, not {timeout:g}")
    path = Path(notebook).expanduser().absolute()
    here = Path.cwd()
    task = current_task(env)
    target = (Path(output).expanduser().absolute() if output is not None
              else default_output(path, task=task, project_root=project_root, cwd=here))
    if target.exists() and path.exists() and target.resolve() == path.resolve():
        raise InvalidInputError(f"--output {target} is the notebook itself: choose another path")
    workdir = Path(cwd).expanduser().absolute() if cwd is not None else path.parent
    if not workdir.is_dir():
        raise InvalidInputError(f"--cwd {workdir} is not a folder")
    values = typed(params)
    choice = choose_kernel(kernel, kernelspec(path), env)
    if values and choice.language != "python":
        raise InvalidInputError(f"Parameters are injected as Python: kernel {choice.name!r} runs "
                                f"{choice.language}")
    for note in choice.notes:
        echo.warn(note)

    def load() -> Any:  # once the kernel is launched: nbformat's work overlaps its start
        nb = read_notebook(path)
        _, warnings = inject(nb, values)
        for warning in warnings:
            echo.warn(warning)
        echo.note(f"{path.name}: {len(nb.cells)} cells, kernel {choice.label}, in {workdir}")
        return nb

    record = _metadata(path, values, choice.label)
    run = NotebookExecution(load, choice, cwd=workdir, timeout=timeout, echo=echo)
    started = time.monotonic()
    try:
        outcome = run.run()
    except BaseException as exc:  # ours, or anything else: the copy shows what ran
        if run.nb is None:  # the notebook did not load: nothing ran, nothing is written
            raise
        reason = str(exc) if isinstance(exc, NeuroJupyterError) else f"{type(exc).__name__}: {exc}"
        record.update(status="failed", error=reason, seconds=round(time.monotonic() - started, 3))
        _save(run.nb, record, target, task, echo, failed=True)
        raise
    record.update(status="succeeded", seconds=round(outcome.seconds, 3))
    _save(run.nb, record, target, task, echo, failed=False)
    echo.note(f"ran {outcome.cells} code cells in {outcome.seconds:.2f} s")
    return target


def _save(nb: Any, record: dict[str, Any], target: Path, task: BakeTask | None, echo: Echo, *,
          failed: bool) -> None:
    """Write the executed copy, with ``record`` (how the run went) in its metadata, and say
    where; in a bake task, record it with ``::notebook::``. When the run failed already, a
    failed write is reported without hiding why it failed."""
    nb.metadata["neuro_jupyter"] = {"nbrun": record}
    try:
        write_notebook(nb, target)
    except OSError as exc:
        message = f"Cannot write the executed notebook to {target}: {exc}"
        if failed:
            echo.warn(message)
            return
        raise NotebookError(message) from exc
    echo.note(f"executed notebook{' (with the error)' if failed else ''}: {target}")
    if task is None:
        return
    inside = project_path(target, task.project_root)
    if inside is None:
        echo.warn(f"{target} is outside the project {task.project_root}: the bake does not "
                  "link it")
    else:
        echo.text(notebook_line(inside) + "\n")
