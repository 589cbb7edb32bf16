"""Jupyter server extension: authenticated REST handlers over the core API."""

from __future__ import annotations

from typing import Any


def load_jupyter_server_extension(server_app: Any) -> None:
    """Register the REST handlers (handlers.py) under ``<base_url>neuro-jupyter/api/``."""
    from .handlers import setup_handlers

    setup_handlers(server_app.web_app)
