"""IPython magics, one Magics class per topic module (as IPython's own core/magics/)."""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    """Register every topic's magics on ``ipython``."""
    from .bake import BakeMagics
    from .envs import EnvMagics
    from .live import LiveMagics
    from .project import ProjectMagics

    for magics in (ProjectMagics, LiveMagics, EnvMagics, BakeMagics):
        ipython.register_magics(magics)
