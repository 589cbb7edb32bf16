"""Project magics: ``%neuro_init`` scaffolds a project, ``%neuro_projects`` lists the known ones."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from ..arguments import add_init_arguments
from ._common import MagicParser, friendly_errors, parse_line

INIT = MagicParser(prog="%neuro_init", description="Create a new project folder (Neu.ro's "
                   "layout: .neuro/, data/, results/, ...), asking the template's three prompts "
                   "unless given or --no-input.")
add_init_arguments(INIT)


@dataclass(frozen=True)
class ProjectTable:
    """The recorded projects, shown as a table (HTML in notebooks, text elsewhere)."""

    rows: tuple[tuple[str, str, str, str], ...]

    def __repr__(self) -> str:
        from ..core.project.listing import projects_text

        return projects_text(self.rows) if self.rows else "No projects yet: create one with %neuro_init."

    def _repr_html_(self) -> str:
        from ..core.project.listing import HEADER, projects_note

        if not self.rows:
            return "<p>No projects yet: create one with <code>%neuro_init</code>.</p>"
        head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self.rows
        )
        note = projects_note(self.rows)
        note_html = f"<p>{html.escape(note)}</p>" if note else ""
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note_html}"


class ProjectFolder(os.PathLike[str]):
    """The new project's folder, as ``project = %neuro_init ...`` returns it: used as a path
    (``os.fspath``, ``/`` and every ``Path`` method, which give plain Paths), it shows nothing
    as a cell's result: the magic has printed where the project is."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, other: str | os.PathLike[str]) -> Path:
        return self.path / other

    def __getattr__(self, name: str) -> Any:
        return getattr(self.path, name)

    def __eq__(self, other: object) -> bool:
        return self.path == (other.path if isinstance(other, ProjectFolder) else other)

    def __hash__(self) -> int:
        return hash(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return repr(self.path)

    def _ipython_display_(self) -> None:
        """Nothing to show: the lines printed by the magic say it all."""


@magics_class
class ProjectMagics(Magics):
    """Create projects and list the projects this machine knows."""

    @line_magic
    @friendly_errors
    def neuro_init(self, line: str) -> ProjectFolder:
        """Create a new project folder from the template, asking Neu.ro's three prompts."""
        from ..core.project.scaffold import first_job, init_project

        args = parse_line(INIT, line)
        project = init_project(
            args.name, args.slug, args.code_dir, output_dir=args.output_dir,
            template=args.template, no_input=args.no_input,
        )
        print(f"Created project {project.id} in {project.root}")
        job = first_job(project)
        help_md = "  (HELP.md lists every job and command)" if (project.root / "HELP.md").is_file() else ""
        if job is not None:
            print(f"Next: %cd {project.root}  then  %neuro_run {job}{help_md}")
        return ProjectFolder(project.root)

    @line_magic
    @friendly_errors
    def neuro_projects(self, line: str = "") -> ProjectTable:
        """The projects created or opened on this machine, most recent first."""
        from ..core.project.listing import project_rows

        return ProjectTable(tuple(project_rows()))
