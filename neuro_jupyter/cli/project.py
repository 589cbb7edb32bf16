"""``neuro-jupyter init`` and ``neuro-jupyter projects``: scaffolding and the known projects."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from ..arguments import add_init_arguments


def register(subparsers: Any) -> None:
    """Add the project verbs to the ``neuro-jupyter`` parser."""
    init = subparsers.add_parser(
        "init", help="create a new project folder from a template",
        description="Create a new project folder (Neu.ro's layout: .neuro/, data/, results/, ...). "
        "Asks project_name, project_slug and code_directory unless given or --no-input.",
    )
    add_init_arguments(init)
    init.set_defaults(func=cmd_init)

    projects = subparsers.add_parser(
        "projects", help="list the projects created or opened on this machine",
    )
    projects.set_defaults(func=cmd_projects)


def cmd_init(args: argparse.Namespace) -> int:
    """Create the project and say where it is."""
    from ..core.project.scaffold import first_job, init_project

    project = init_project(
        args.name, args.slug, args.code_dir, output_dir=args.output_dir,
        template=args.template, no_input=args.no_input,
    )
    print(f"Created project {project.id} in {project.root}")
    job = first_job(project)
    help_md = "   (HELP.md lists every command)" if (project.root / "HELP.md").is_file() else ""
    if job is not None:
        print(f"Next: cd {shlex.quote(str(project.root))} && neuro-jupyter run {job}{help_md}")
    return 0


def cmd_projects(args: argparse.Namespace) -> int:
    """Print the recorded projects, most recently opened first."""
    from ..core.project.listing import project_rows, projects_text

    rows = project_rows()
    print(projects_text(rows) if rows else "No projects yet: create one with neuro-jupyter init.")
    return 0
