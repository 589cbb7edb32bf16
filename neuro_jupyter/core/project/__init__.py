"""Projects: discovery (walk up to the folder holding .neuro/), ids, and scaffolding."""

from __future__ import annotations

from .discovery import Project, find_project, open_project
from .ids import derive_project_id, validate_identifier
from .scaffold import init_project

__all__ = [
    "Project", "derive_project_id", "find_project", "init_project", "open_project",
    "validate_identifier",
]
