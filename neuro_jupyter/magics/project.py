"""Magics for projects (filled in by the project work)."""

from __future__ import annotations

from IPython.core.magic import Magics, magics_class


@magics_class
class ProjectMagics(Magics):
    """Project magics."""
