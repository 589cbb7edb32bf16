"""Where processes run: ``local`` (default) and ``ray``, behind one small interface (base.py)."""

from __future__ import annotations

from .base import Backend, Execution, ExitInfo, ProcessSpec, Resources, get_backend

__all__ = ["Backend", "ExitInfo", "Execution", "ProcessSpec", "Resources", "get_backend"]
