"""Projects: discovery (walk up to the folder holding .neuro/) and ids; scaffolding is in
``scaffold`` (imported by ``init`` alone: every other command finds a project)."""

from __future__ import annotations

from .discovery import Project, find_project, open_project
from .ids import derive_project_id, validate_identifier

__all__ = [
    "Project", "derive_project_id", "find_project", "open_project", "validate_identifier",
]
