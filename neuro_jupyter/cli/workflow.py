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

    fetch = subparsers.add_parser(
        "fetch-action", help="fetch gh:OWNER/REPO@REF actions into the local actions folder",
        description="Clone gh:OWNER/REPO@REF actions (git clone --depth 1 --branch REF "
        "https://github.com/OWNER/REPO) into $NEURO_JUPYTER_HOME/actions/OWNER/REPO/REF, where "
        "workflow files find them. With no REF, every gh: action the current project's "
        "workflow files call (the four bundled neuro-actions excepted).",
    )
    fetch.add_argument("refs", nargs="*", metavar="REF", help="gh:OWNER/REPO@REF")
    fetch.set_defaults(func=cmd_fetch_action)

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
    """Print every error as FILE:LINE:COL: message (and warnings, and the files of the folder
    that are not workflow files); 0 when no file has an error."""
    from ..core.workflow.check import check_report, workflow_files

    if args.files:
        missing = [f for f in args.files if not Path(f).is_file()]
        if missing:
            for f in missing:
                print(f"{f}: no such file", file=sys.stderr)
            return 1
        report = check_report([Path(f) for f in args.files])
        checked = len(args.files)
    else:
        from ..core.project.discovery import find_root

        files = workflow_files(find_root(args.project or Path.cwd()))  # .neuro/ exists
        report = check_report(files, folder=True)
        checked = len(files) - len(report.skipped)
    for path, reason in report.skipped:
        print(f"{path.name}: skipped: {reason}", file=sys.stderr)
    for warning in report.warnings:
        print(_as_warning(str(warning)), file=sys.stderr)
    for err in report.errors:
        print(str(err))
    errors = report.errors
    if errors:
        print(f"{len(errors)} error{'s' if len(errors) != 1 else ''} found", file=sys.stderr)
        return 1
    print(f"{checked} file{'s' if checked != 1 else ''} OK")
    return 0


def _as_warning(text: str) -> str:
    """``FILE:LINE:COL: message`` → ``FILE:LINE:COL: warning: message``."""
    head, sep, message = text.partition(": ")
    return f"{head}: warning: {message}" if sep else f"warning: {text}"


def cmd_fetch_action(args: argparse.Namespace) -> int:
    """Fetch the given gh: actions, or every one the project's workflow files call."""
    from ..core.workflow.actions import fetch_action
    from ..core.workflow.fetch import project_gh_refs

    refs = list(args.refs)
    if not refs:
        from ..core.project.discovery import find_root

        refs = project_gh_refs(find_root(args.project or Path.cwd()))
        if not refs:
            print("no gh: actions to fetch (the bundled neuro-actions need none)",
                  file=sys.stderr)
            return 0
    for ref in refs:
        print(f"{ref} -> {fetch_action(ref)}")
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
