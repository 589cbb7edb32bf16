"""Helpers for the workflow tests: evaluate a template, build projects from text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.core.errors import Location
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.workflow.expr import Scope
from neuro_jupyter.core.workflow.functions import Host
from neuro_jupyter.core.workflow.template import parse_template

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def ev(tmp_path: Path) -> Callable[..., Any]:
    """``ev("${{ 1 + 2 }}", flow={...})``: evaluate a template with the given contexts."""

    def evaluate(text: str, _host: Host | None = None, **names: Any) -> Any:
        tpl = parse_template(text, Location("t.yml", 1, 1))
        return tpl.eval(Scope(names, _host or Host(workspace=tmp_path)))

    return evaluate


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    """Write ``{relative path: text}`` into a fresh project folder and return the Project."""

    def make(files: Mapping[str, str], project_id: str = "proj") -> Project:
        root = tmp_path / "proj"
        (root / ".neuro").mkdir(parents=True, exist_ok=True)
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return Project(root=root, id=project_id, name=project_id)

    return make
