"""Shared bits of the CLI topic modules."""

from __future__ import annotations

import argparse

from ..core.project import Project, find_project


def project_of(args: argparse.Namespace) -> Project:
    """The project of the global ``--project DIR``, else of the current folder."""
    return find_project(args.project or None)
