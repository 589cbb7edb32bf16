"""Projects routes, error mapping, and the auth rule every route follows."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from neuro_jupyter.core.errors import (
    ConflictError,
    InvalidInputError,
    NeuroJupyterError,
    NotFoundError,
    UnknownNameError,
    UnknownParamError,
    WorkflowError,
)
from neuro_jupyter.core.project import Project
from neuro_jupyter.server.handlers import NAMESPACE, ROUTES, status_of


def sample_path(pattern: str) -> str:
    """A concrete URL path for a route pattern (each group replaced by a plausible value)."""

    def value(match: re.Match[str]) -> str:
        choices = match.group(2)
        return choices.split("|")[0] if "|" in choices or choices.isalpha() else "1"

    return re.sub(r"\(\?P<(\w+)>([^)]*)\)", value, pattern).replace("\\.", ".")


def route_calls() -> list[tuple[str, str]]:
    """(method, path) for every verb of every route."""
    calls = []
    for pattern, cls in ROUTES:
        for method in ("get", "post", "put", "patch", "delete"):
            if method in cls.__dict__:
                calls.append((method.upper(), sample_path(pattern)))
    return calls


async def fetch_error(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*parts, **kwargs)
    response = info.value.response
    assert response is not None
    return info.value.code, json.loads(response.body)


def test_every_route_has_a_verb() -> None:
    calls = route_calls()
    assert len(calls) == len(ROUTES)
    assert ("GET", "projects/1/bakes/1/graph.dot") in calls
    assert ("POST", "projects/1/jobs/1/start") in calls


@pytest.mark.parametrize(("method", "path"), route_calls())
async def test_route_refuses_requests_without_a_token(
    jp_fetch: Any, method: str, path: str
) -> None:
    body = "{}" if method == "POST" else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            NAMESPACE, path, method=method, body=body, headers={"Authorization": ""}
        )
    assert info.value.code == 403


@pytest.mark.parametrize(("method", "path"), route_calls())
async def test_route_refuses_a_wrong_token(jp_fetch: Any, method: str, path: str) -> None:
    body = "{}" if method == "POST" else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            NAMESPACE, path, method=method, body=body,
            headers={"Authorization": "token not-the-token"},
        )
    assert info.value.code == 403


async def test_projects_lists_recorded_projects(
    jp_fetch: Any, make_project: Callable[..., Project]
) -> None:
    first = make_project("alpha")
    second = make_project("beta")
    response = await jp_fetch(NAMESPACE, "projects")
    assert response.code == 200
    projects = json.loads(response.body)["projects"]
    assert [p["project_id"] for p in projects] == ["beta", "alpha"]
    assert projects[0]["root"] == str(second.root)
    assert projects[1]["name"] == "<b>alpha</b> project"
    assert projects[0]["exists"] is True
    assert first.root != second.root


async def test_a_copied_project_names_the_folders_sharing_its_id(
    jp_fetch: Any, make_project: Callable[..., Project]
) -> None:
    import shutil

    from neuro_jupyter.core.project import open_project

    original = make_project("alpha")
    copy = original.root.parent / "alpha-copy"
    shutil.copytree(original.root, copy)
    open_project(copy)
    make_project("beta")
    projects = json.loads((await jp_fetch(NAMESPACE, "projects")).body)["projects"]
    same = {p["root"]: p["same_id"] for p in projects}
    assert same == {str(copy): [str(original.root)], str(original.root): [str(copy)],
                    str(original.root.parent / "beta"): []}
    pk = next(p["pk"] for p in projects if p["root"] == str(copy))
    one = json.loads((await jp_fetch(NAMESPACE, "projects", str(pk))).body)
    assert one["same_id"] == [str(original.root)]


async def test_projects_is_empty_on_a_fresh_home(jp_fetch: Any) -> None:
    response = await jp_fetch(NAMESPACE, "projects")
    assert json.loads(response.body) == {"projects": []}


async def test_one_project(jp_fetch: Any, make_project: Callable[..., Project]) -> None:
    make_project("alpha")
    projects = json.loads((await jp_fetch(NAMESPACE, "projects")).body)["projects"]
    pk = projects[0]["pk"]
    response = await jp_fetch(NAMESPACE, "projects", str(pk))
    assert json.loads(response.body)["project_id"] == "alpha"


async def test_unknown_project_is_404(jp_fetch: Any) -> None:
    code, body = await fetch_error(jp_fetch, NAMESPACE, "projects", "999")
    assert code == 404
    assert "999" in body["message"]


@pytest.mark.parametrize("pk", ["abc", "0", "-3"])
async def test_bad_project_key_is_400(jp_fetch: Any, pk: str) -> None:
    code, body = await fetch_error(jp_fetch, NAMESPACE, "projects", pk)
    assert code == 400
    assert "project key" in body["message"]


async def test_project_whose_folder_is_gone_is_404(
    jp_fetch: Any, make_project: Callable[..., Project]
) -> None:
    import shutil

    project = make_project("gone")
    shutil.rmtree(project.root / ".neuro")
    pk = json.loads((await jp_fetch(NAMESPACE, "projects")).body)["projects"][0]["pk"]
    listed = json.loads((await jp_fetch(NAMESPACE, "projects")).body)["projects"]
    assert listed[0]["exists"] is False
    code, body = await fetch_error(jp_fetch, NAMESPACE, "projects", str(pk), "jobs")
    assert code == 404
    assert "gone" in body["message"]


async def test_unknown_route_under_the_namespace_is_404(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(NAMESPACE, "projects", "1", "nothing-here")
    assert info.value.code == 404
    assert info.value.response is not None
    body = json.loads(info.value.response.body)
    assert "No API route" in body["message"] and "nothing-here" in body["message"]


async def test_unknown_route_refuses_requests_without_a_token(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(NAMESPACE, "nothing-here", headers={"Authorization": ""})
    assert info.value.code == 403


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInputError("x"), 400),
        (WorkflowError("bad key"), 400),
        (NotFoundError("x"), 404),
        (UnknownNameError("job", "x", ["a"]), 404),
        (ConflictError("x"), 409),
        (UnknownParamError("x", ["a"]), 400),
        (NeuroJupyterError("x"), 500),
    ],
)
def test_error_statuses(error: NeuroJupyterError, status: int) -> None:
    assert status_of(error) == status


@pytest.mark.parametrize(("method", "path"), route_calls())
async def test_route_asks_the_authorizer_for_the_neuro_jupyter_resource(
    jp_fetch: Any, jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch, method: str, path: str
) -> None:
    authorizer = jp_serverapp.web_app.settings["authorizer"]
    asked: list[tuple[str, str]] = []

    def deny_ours(handler: Any, user: Any, action: str, resource: str) -> bool:
        asked.append((action, resource))
        return resource != "neuro_jupyter"

    monkeypatch.setattr(authorizer, "is_authorized", deny_ours)
    body = "{}" if method == "POST" else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(NAMESPACE, path, method=method, body=body)
    assert info.value.code == 403
    expected = "read" if method == "GET" else "write"
    assert (expected, "neuro_jupyter") in asked


def test_the_server_finds_no_unauthenticated_verb(jp_serverapp: Any) -> None:
    """Adding our routes runs the server's own check for verbs without authentication."""
    import warnings

    from jupyter_server.utils import JupyterServerAuthWarning

    from neuro_jupyter.server.handlers import setup_handlers

    assert jp_serverapp.web_app.settings["allow_unauthenticated_access"] is False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        setup_handlers(jp_serverapp.web_app)
    assert [w for w in caught if issubclass(w.category, JupyterServerAuthWarning)] == []


async def test_projects_in_the_server_folder_are_found(jp_fetch: Any, jp_root_dir: Any) -> None:
    cloned = jp_root_dir / "cloned"
    (cloned / ".neuro").mkdir(parents=True)
    (cloned / ".neuro" / "live.yml").write_text("kind: live\njobs: {}\n")
    broken = jp_root_dir / "broken"
    (broken / ".neuro").mkdir(parents=True)
    (broken / ".neuro" / "project.yml").write_text("id: [not, an, id\n")
    (jp_root_dir / "plain").mkdir()
    projects = json.loads((await jp_fetch(NAMESPACE, "projects")).body)["projects"]
    assert [(p["project_id"], p["root"]) for p in projects] == [("cloned", str(cloned.resolve()))]
    again = json.loads((await jp_fetch(NAMESPACE, "projects")).body)["projects"]
    assert again == projects


async def test_the_project_holding_the_server_folder_is_found(
    jp_fetch: Any, jp_root_dir: Any
) -> None:
    (jp_root_dir / ".neuro").mkdir()
    (jp_root_dir / ".neuro" / "project.yml").write_text("id: served\n")
    projects = json.loads((await jp_fetch(NAMESPACE, "projects")).body)["projects"]
    assert [p["project_id"] for p in projects] == ["served"]


async def test_projects_carry_their_path_under_the_server_root(
    jp_fetch: Any, jp_root_dir: Path, tmp_path: Path
) -> None:
    """JupyterLab names documents by their path under the server's root: a project's ``path``
    lets the command palette find the project of the current document."""
    from neuro_jupyter.core.project import open_project

    inside = jp_root_dir / "work" / "inner"
    (inside / ".neuro").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    (outside / ".neuro").mkdir(parents=True)
    open_project(inside)
    open_project(outside)
    projects = {p["root"]: p for p in json.loads((await jp_fetch(NAMESPACE, "projects")).body)["projects"]}
    assert projects[str(inside.resolve())]["path"] == "work/inner"
    assert projects[str(outside.resolve())]["path"] is None
