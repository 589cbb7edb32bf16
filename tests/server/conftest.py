"""Fixtures of the server-extension tests: a real Jupyter server with neuro_jupyter enabled."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

# pytest-jupyter's fixtures (jp_fetch, jp_serverapp, ...) and its async-test hooks, for this
# folder only: ``pytest_plugins`` is refused outside the rootdir's conftest, and loading the
# plugin globally would put its autouse environment fixtures on every other test.
from pytest_jupyter.jupyter_server import *  # noqa: F403
from tornado.httpclient import HTTPClientError

from neuro_jupyter.core.project import Project, open_project


@pytest.fixture  # type: ignore[no-redef]
def jp_server_config() -> dict[str, Any]:
    """Enable our extension and refuse anything unauthenticated."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"neuro_jupyter": True},
            "allow_unauthenticated_access": False,
        }
    }


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    """Create and record a project: ``.neuro/project.yml`` plus the given workflow files."""

    def make(name: str = "demo", files: dict[str, str] | None = None) -> Project:
        root = tmp_path / "projects" / name
        neuro = root / ".neuro"
        neuro.mkdir(parents=True)
        (neuro / "project.yml").write_text(f"id: {name}\nproject_name: <b>{name}</b> project\n")
        for rel, text in (files or {}).items():
            (neuro / rel).write_text(text)
        return open_project(root)

    return make


@pytest.fixture
def project_pk_of(jp_fetch: Any) -> Callable[[Project], Awaitable[int]]:
    """The key the REST API gives a project (looked up through the projects route)."""

    async def pk_of(project: Project) -> int:
        response = await jp_fetch("neuro-jupyter/api", "projects")
        for item in json.loads(response.body)["projects"]:
            if item["root"] == str(project.root):
                return int(item["pk"])
        raise AssertionError(f"project {project.root} is not listed")

    return pk_of


API = "neuro-jupyter/api"


async def get_json(jp_fetch: Any, *parts: str, **kwargs: Any) -> Any:
    """GET one of our API routes; it must answer 200 with JSON."""
    response = await jp_fetch(API, *parts, **kwargs)
    assert response.code == 200
    return json.loads(response.body)


async def error_of(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, str]:
    """Call one of our API routes that must fail; its status code and JSON message."""
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(API, *parts, **kwargs)
    assert info.value.response is not None
    return info.value.code, json.loads(info.value.response.body)["message"]
