"""Shared bits of the magics: friendly errors and finding the current project."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..core.errors import NeuroJupyterError

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn our own errors into a one-paragraph message on stderr instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NeuroJupyterError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return None

    return wrapper  # type: ignore[return-value]


def current_project(project_dir: str | None) -> Any:
    """The project of ``--project DIR``, else of the kernel's working folder."""
    from ..core.project import open_project

    return open_project(Path(project_dir) if project_dir else Path.cwd())
