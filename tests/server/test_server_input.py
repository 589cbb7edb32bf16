"""Bad input to the REST API is a 400 with a message, never a 500 or another project: numbers
in paths and queries are ASCII digits in their range, bodies are bounded JSON, and workflow
files that are symlinks out of the project are refused without showing a line of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from neuro_jupyter.core.project import Project

from .conftest import error_of, get_json

SECRET = "password: hunter2-do-not-show\nbroken: [x\n"


@pytest.mark.parametrize("pk", [
    "\u0661",  # ARABIC-INDIC DIGIT ONE: int() reads it as 1
    " 1", "1 ", "+1", "01x", "1e3", "99999999999999999999999999", "9" * 5000, "-1", "0",
])
async def test_a_project_key_is_ascii_digits_in_range(
        jp_fetch: Any, make_project: Callable[..., Project], pk: str) -> None:
    make_project("one")  # key 1 exists: none of these may reach it
    code, message = await error_of(jp_fetch, "projects", quote(pk))
    assert code == 400, message
    assert message.startswith("A project key must be "), message
    assert len(message) < 200


@pytest.mark.parametrize(("query", "words"), [
    ({"attempt": "99999999999999999999999"}, "'attempt' must be from 1 to 2147483647"),
    ({"attempt": "\u0661"}, "'attempt' must be an integer (ASCII digits)"),
    ({"attempt": "0"}, "'attempt' must be from 1"),
])
async def test_a_bake_attempt_is_bounded(
        jp_fetch: Any, make_project: Callable[..., Project], query: dict[str, str],
        words: str) -> None:
    make_project("one")
    code, message = await error_of(jp_fetch, "projects", "1", "bakes", "nope", params=query)
    assert code == 400 and words in message, message


@pytest.mark.parametrize(("query", "words"), [
    ({"offset": "9" * 30}, "'offset' must be from"),
    ({"offset": "1.5"}, "'offset' must be an integer"),
    ({"offset": str(2**62 + 1)}, "'offset' must be from"),
    ({"offset": str(-(2**62) - 1)}, "'offset' must be from"),
    ({"limit": str(2**40)}, "'limit' must be from 0 to 67108864"),
    ({"limit": "\u0661"}, "'limit' must be an integer"),
])
async def test_log_paging_is_bounded(jp_fetch: Any, query: dict[str, str], words: str) -> None:
    code, message = await error_of(jp_fetch, "jobs", "job-x", "log", params=query)
    assert code == 400 and words in message, message


@pytest.mark.parametrize(("body", "words"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"a": "' + "x" * (2 << 20) + '"}', "larger than 1,048,576 bytes"),
    ('{"attempt": 99999999999999999999999999}', "'attempt' must be an integer from 1"),
    ('{"attempt": -1}', "'attempt' must be an integer from 1"),
])
async def test_bodies_are_bounded(jp_fetch: Any, make_project: Callable[..., Project],
                                  body: str, words: str) -> None:
    make_project("one")
    code, message = await error_of(jp_fetch, "projects", "1", "bakes", "b", "cancel",
                                   method="POST", body=body)
    assert code == 400 and words in message, message
    code, message = await error_of(jp_fetch, "projects", "1", "jobs", "j", "start",
                                   method="POST", body=body)
    assert code in (400, 404) and "hunter2" not in message


def _link_out(project: Project, name: str, tmp_path: Path) -> None:
    secret = tmp_path / f"secret-{name}"
    secret.write_text(SECRET)
    link = project.root / ".neuro" / name
    link.unlink(missing_ok=True)
    link.symlink_to(secret)


async def test_workflow_files_linked_out_of_the_project_are_refused_unread(
        jp_fetch: Any, make_project: Callable[..., Project], project_pk_of: Any,
        tmp_path: Path) -> None:
    project = make_project("linked", {"live.yml": "kind: live\njobs:\n  a:\n    bash: echo\n",
                                      "b.yml": "kind: batch\ntasks:\n  - bash: echo\n"})
    pk = str(await project_pk_of(project))
    _link_out(project, "live.yml", tmp_path)
    jobs = await get_json(jp_fetch, "projects", pk, "jobs")
    assert jobs["warning"].startswith(".neuro/live.yml is a symlink to a file outside the "
                                      "project: refused")
    code, message = await error_of(jp_fetch, "projects", pk, "jobs", "a", "start",
                                   method="POST", body="{}")
    assert code == 400 and message.startswith(".neuro/live.yml is a symlink"), message
    _link_out(project, "project.yml", tmp_path)
    for parts in (("jobs",), ("bakes",), ("jobs", "a", "start")):
        method = "POST" if parts[-1] == "start" else "GET"
        code, message = await error_of(jp_fetch, "projects", pk, *parts, method=method,
                                       body="{}" if method == "POST" else None)
        assert code == 400, message
        assert message.startswith(".neuro/project.yml is a symlink to a file outside the "
                                  "project: refused"), message
        assert "hunter2" not in message and "broken" not in message
    listed = json.dumps(await get_json(jp_fetch, "projects"))
    assert "hunter2" not in listed
