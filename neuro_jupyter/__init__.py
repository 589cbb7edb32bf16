"""neuro-jupyter: Neu.ro Flow projects, live jobs and bakes in Jupyter.

Importing this package is cheap: magics, the server extension and everything heavy load lazily.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__", "load_ipython_extension", "set_output"]


def set_output(name: str, value: object) -> None:
    """Set the output ``name`` of the bake task running this code (a notebook run by
    ``neuro-jupyter nbrun``, or any Python): prints neuro-flow's ``::set-output name=NAME::VALUE``
    line, so later tasks read ``needs.<task id>.outputs.<name>``. Booleans are written
    ``true``/``false``, None as nothing, anything else with ``str()``; one line only."""
    from .core.bake.commands import set_output as print_output

    print_output(name, value)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext neuro_jupyter``: register the magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "neuro-jupyter"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "neuro_jupyter"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the REST handlers under ``<base_url>neuro-jupyter/api/``."""
    from .server import load_jupyter_server_extension

    load_jupyter_server_extension(server_app)
