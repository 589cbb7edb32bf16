"""Magics for lives (filled in by the live work)."""

from __future__ import annotations

from IPython.core.magic import Magics, magics_class


@magics_class
class LiveMagics(Magics):
    """Live magics."""
