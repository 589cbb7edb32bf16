"""Pause Python's cyclic garbage collector while a flow is loaded and planned."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
        if enabled:
            gc.enable()
