"""``neuro-jupyter check`` and ``neuro-jupyter schema``: static validation of workflow files
and the JSON Schemas for editors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the workflow verbs to the ``neuro-jupyter`` parser."""
    check = subparsers.add_parser(
        "check", help="validate workflow files (structure, keys, expressions, needs, cycles)",
        description="Validate workflow files without running anything. With no FILE, every "
        "file of the current project's .neuro/ folder. Prints FILE:LINE:COL: message per "
        "error; exit code 0 when all are valid, 1 otherwise.",
    )
    check.add_argument("files", nargs="*", metavar="FILE", help="workflow files to check")
    check.set_defaults(func=cmd_check)

    schema = subparsers.add_parser(
        "schema", help="print the JSON Schema of workflow files (for yaml-language-server)",
        description="Print the JSON Schema of live, batch, action or project files, or the "
        "combined schema of any workflow file when no kind is given. With --write, (re)write "
        "every schema into the project's .neuro/schemas/, which the files made by init name "
        "(`# yaml-language-server: $schema=schemas/...`).",
    )
    schema.add_argument("kind", nargs="?", choices=("live", "batch", "action", "project"),
                        help="the file kind (default: combined)")
    schema.add_argument("--write", action="store_true",
                        help="write the schemas into .neuro/schemas/ of the current project "
                        "(after an upgrade of neuro-jupyter)")
    schema.set_defaults(func=cmd_schema)


def cmd_check(args: argparse.Namespace) -> int:
    """Print every error as FILE:LINE:COL: message; 0 when all files are valid."""
    from ..core.workflow import check_paths
    from ..core.workflow.check import workflow_files

    if args.files:
        missing = [f for f in args.files if not Path(f).is_file()]
        if missing:
            for f in missing:
                print(f"{f}: no such file", file=sys.stderr)
            return 1
        errors = check_paths(args.files)
        checked = len(args.files)
    else:
        from ..core.project.discovery import find_root

        files = workflow_files(find_root(args.project or Path.cwd()))  # .neuro/ exists
        errors = check_paths(files)
        checked = len(files)
    for err in errors:
        print(str(err))
    if errors:
        print(f"{len(errors)} error{'s' if len(errors) != 1 else ''} found", file=sys.stderr)
        return 1
    print(f"{checked} file{'s' if checked != 1 else ''} OK")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print a JSON Schema, or write them all into the project."""
    from ..core.workflow.schema import PROJECT_SCHEMAS, schema_text, write_schemas

    if args.write:
        from ..core.project.discovery import CONFIG_DIR, find_root

        folder = find_root(args.project or Path.cwd()) / CONFIG_DIR / PROJECT_SCHEMAS
        for path in write_schemas(folder):
            print(f"Wrote {path}")
        return 0
    sys.stdout.write(schema_text(args.kind))
    return 0
