"""Pause Python's cyclic garbage collector while a flow is loaded and planned (big, long-lived
structures)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_KEEP: list[bool] = []  # set while ``plans_kept`` runs


@contextmanager
def plans_kept() -> Iterator[None]:
    """Around a command of a process that ends with it (the CLI's): what planning allocates
    is set aside for good (``gc.freeze``) instead of being scanned by the next collection,
    which finds nothing to free (15 ms after a 1,000-task plan). A long-lived process (a
    kernel) plans again and again and must be able to free the old plans: it never uses
    this, nor does a caller of the CLI's ``main`` once it has returned."""
    _KEEP[:] = [True]
    try:
        yield
    finally:
        _KEEP.clear()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block without cyclic collections, then restore the collector's state.

    Planning a big flow allocates tens of thousands of long-lived objects (the located YAML
    tree, the graph); each collection the allocations trigger scans them all again and finds
    nothing to free: at 1000 tasks that was half of the planning time (0.19 → 0.10 s).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _KEEP:
            gc.freeze()
        if enabled:
            gc.enable()
