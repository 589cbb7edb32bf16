"""HELP.md of a new project and the repository README name every job, command and magic."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from neuro_jupyter.core.project.scaffold import init_project

REPO = Path(__file__).resolve().parents[3]


def cli_commands() -> list[str]:
    """The subcommands `neuro-jupyter --help` lists."""
    from neuro_jupyter.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(action.dest for action in sub._choices_actions)


def magic_names() -> list[str]:
    """The line and cell magics `%load_ext neuro_jupyter` registers (read off the classes)."""
    from neuro_jupyter.magics import load_ipython_extension

    registered: list[type] = []

    class RecordingShell:
        def register_magics(self, cls: type) -> None:
            registered.append(cls)

    load_ipython_extension(RecordingShell())
    names = set()
    for cls in registered:
        for kind, table in cls.magics.items():  # type: ignore[attr-defined]
            names |= {("%%" if kind == "cell" else "%") + name for name in table}
    return sorted(names)


@pytest.fixture(scope="module")
def help_text(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = init_project("Neuro Tutorial", output_dir=tmp_path_factory.mktemp("help"),
                        no_input=True).root
    return (root / "HELP.md").read_text(), root


def test_help_names_every_job(help_text: tuple[str, Path]) -> None:
    text, root = help_text
    jobs = yaml.safe_load((root / ".neuro" / "live.yml").read_text())["jobs"]
    assert [job for job in jobs if f"| `{job}` |" not in text] == []


def test_help_and_readme_name_every_cli_command(help_text: tuple[str, Path]) -> None:
    commands = cli_commands()
    assert {"init", "projects", "run", "ps", "bake"} <= set(commands)
    readme = (REPO / "README.md").read_text()
    assert [c for c in commands if f"`neuro-jupyter {c}" not in help_text[0]] == []
    assert [c for c in commands if f"`neuro-jupyter {c}" not in readme] == []


def test_help_and_readme_name_every_magic(help_text: tuple[str, Path]) -> None:
    magics = magic_names()
    assert {"%neuro_init", "%neuro_projects"} <= set(magics)
    readme = (REPO / "README.md").read_text()
    assert [m for m in magics if f"`{m}" not in help_text[0]] == []
    assert [m for m in magics if f"`{m}" not in readme] == []
