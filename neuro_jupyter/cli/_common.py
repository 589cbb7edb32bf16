"""Shared bits of the CLI topic modules."""

from __future__ import annotations

import argparse
import sys

from ..core.backends.target import BACKENDS
from ..core.project import Project, find_project


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and ``--ray-address`` (run, bake and their magics)."""
    parser.add_argument(
        "--backend", choices=BACKENDS, default=None,
        help="where to run (default: .neuro.toml's [neuro-jupyter] backend, else local)",
    )
    parser.add_argument(
        "--ray-address", metavar="URL", default=None,
        help="the Ray cluster's dashboard, e.g. http://127.0.0.1:8265 (default: .neuro.toml's "
        "ray-address, else $RAY_ADDRESS, else that URL)",
    )


def project_of(args: argparse.Namespace) -> Project:
    """The project of the global ``--project DIR``, else of the current folder; a warning on
    stderr when other folders have its id (a copied project)."""
    from ..core.store.projects import same_id_roots, shared_id_note

    project = find_project(args.project or None)
    others = same_id_roots(project)
    if others:
        print(f"Warning: {shared_id_note(project.id, others)}", file=sys.stderr)
    return project
