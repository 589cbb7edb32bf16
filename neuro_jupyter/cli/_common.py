"""Shared bits of the CLI topic modules."""

from __future__ import annotations

import argparse
import sys

from ..core.project import Project, find_project


def project_of(args: argparse.Namespace) -> Project:
    """The project of the global ``--project DIR``, else of the current folder; a warning on
    stderr when other folders have its id (a copied project)."""
    from ..core.store.projects import same_id_roots, shared_id_note

    project = find_project(args.project or None)
    others = same_id_roots(project)
    if others:
        print(f"Warning: {shared_id_note(project.id, others)}", file=sys.stderr)
    return project
