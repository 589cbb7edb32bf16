"""``neuro-jupyter nbrun``: run a notebook headless, as a job or a bake task."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DESCRIPTION = """\
Execute NOTEBOOK top to bottom in a kernel and write the executed copy, with its outputs.
Parameters follow papermill's conventions: the first cell tagged 'parameters' holds the
defaults, and a cell tagged 'injected-parameters' with the -p values is added after it; values
are typed as YAML scalars (true, 12, 0.1, 1e-3, null; anything else a string; quote a value to
keep it a string). Prints one line per cell and the kernel's output as it comes; a failing cell
ends the run with its number, line and traceback, and a non-zero exit code.

Without --output the copy goes to results/bakes/<bake>/<attempt>/<task>.ipynb in a bake task,
else to results/<name>.ipynb in the project (or the current folder). The kernel: --kernel, else
the project environment's Python ($VIRTUAL_ENV) when it has ipykernel, else the notebook's
kernel if installed, else this Python's. In a notebook, neuro_jupyter.set_output(name, value)
sets an output of the bake task."""


def register(subparsers: Any) -> None:
    """Add ``nbrun`` to the ``neuro-jupyter`` parser."""
    nbrun = subparsers.add_parser(
        "nbrun", help="run a notebook headless, with parameters (a job or a bake task)",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    nbrun.add_argument("notebook", metavar="NOTEBOOK", help="the .ipynb file to run")
    nbrun.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                       metavar=("NAME", "VALUE"), help="set a parameter (repeatable)")
    nbrun.add_argument("-o", "--output", metavar="PATH", default=None,
                       help="where to write the executed notebook")
    nbrun.add_argument("-k", "--kernel", metavar="NAME", default=None,
                       help="an installed kernel (jupyter kernelspec list)")
    nbrun.add_argument("--cwd", metavar="DIR", default=None,
                       help="the kernel's working folder (default: the notebook's folder)")
    nbrun.add_argument("-t", "--timeout", metavar="S", type=float, default=None,
                       help="stop a cell that runs longer than S seconds (default: no limit)")
    nbrun.set_defaults(func=cmd_nbrun)


def _project_root(explicit: str | None, notebook: Path) -> Path | None:
    """The project of ``--project``, else of the notebook, else of the current folder."""
    from ..core.errors import ProjectError
    from ..core.project.discovery import find_root

    if explicit:
        return find_root(explicit)
    for start in (notebook.parent, Path.cwd()):
        try:
            return find_root(start)
        except ProjectError:
            continue
    return None


def cmd_nbrun(args: argparse.Namespace) -> int:
    """Run the notebook; 0 when every cell ran."""
    from ..core.notebooks.nbrun import nbrun

    notebook = Path(args.notebook).expanduser().absolute()
    nbrun(notebook, params=[tuple(p) for p in args.parameter], output=args.output,
          kernel=args.kernel, cwd=args.cwd, timeout=args.timeout,
          project_root=_project_root(args.project, notebook))
    return 0
