"""A task's executed notebook through the REST API: the ``notebook`` field of task objects and
the HTML page, served so that nothing in the notebook can run or reach outside the project."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from notebook_files import notebook_bake

from neuro_jupyter.core.project import Project, open_project

from .conftest import API, error_of, get_json


async def test_task_objects_link_their_executed_notebook(
    jp_fetch: Any, jp_root_dir: Path, jp_base_url: str,
    project_pk_of: Callable[[Project], Awaitable[int]],
) -> None:
    root = jp_root_dir / "served"  # inside the server's folder: JupyterLab can open it
    (root / ".neuro").mkdir(parents=True)
    project = open_project(root)
    bake = notebook_bake(project)
    pk = await project_pk_of(project)
    state = await get_json(jp_fetch, "projects", str(pk), "bakes", "reported")
    notebooks = {task["full_id"]: task["notebook"] for task in state["tasks"]}

    path = f"results/bakes/{bake.bake_id}/1/report.ipynb"
    assert notebooks == {
        "report": {
            "path": path,
            "lab_url": f"{jp_base_url}lab/tree/served/{path}",
            "html_url": f"{jp_base_url}{API}/projects/{pk}/bakes/{quote(bake.bake_id)}/tasks/"
                        "report/notebook.html?attempt=1",
        },
        "plain": None, "escape": None, "gone": None,
    }


async def test_the_html_page_runs_no_script(
    jp_fetch: Any, make_project: Callable[..., Project],
    project_pk_of: Callable[[Project], Awaitable[int]],
) -> None:
    project = make_project("outside")
    bake = notebook_bake(project)
    pk = str(await project_pk_of(project))
    state = await get_json(jp_fetch, "projects", pk, "bakes", bake.bake_id)
    report = next(task for task in state["tasks"] if task["full_id"] == "report")
    assert report["notebook"]["lab_url"] is None  # Lab cannot open it: the HTML page can

    page = await jp_fetch(API, "projects", pk, "bakes", bake.bake_id, "tasks", "report",
                          "notebook.html", params={"attempt": "1"})
    assert page.code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script-src" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    body = page.body.decode()
    assert "accuracy 0.93" in body and "<html" in body


async def test_no_notebook_or_one_outside_the_project_is_not_served(
    jp_fetch: Any, make_project: Callable[..., Project],
    project_pk_of: Callable[[Project], Awaitable[int]],
) -> None:
    project = make_project("guarded")
    bake = notebook_bake(project)
    pk = str(await project_pk_of(project))
    base = ("projects", pk, "bakes", bake.bake_id, "tasks")
    for task, message in (("plain", "wrote no executed notebook"),
                          ("escape", "wrote no executed notebook in the project"),
                          ("gone", "is not in the project on this machine")):
        code, text = await error_of(jp_fetch, *base, task, "notebook.html")
        assert code == 404 and message in text, text
    code, text = await error_of(jp_fetch, *base, "nope", "notebook.html")
    assert code == 404 and "Unknown task 'nope'" in text and "report" in text

    (project.root / f"results/bakes/{bake.bake_id}/1/report.ipynb").write_text("{}")
    code, text = await error_of(jp_fetch, *base, "report", "notebook.html")
    assert code == 400 and "is not a valid notebook (nbformat): Notebook could not be " \
                           "converted" in text
