"""Magics for bakes (filled in by the bake work)."""

from __future__ import annotations

from IPython.core.magic import Magics, magics_class


@magics_class
class BakeMagics(Magics):
    """Bake magics."""
