"""A task's executed notebook as an HTML page in a real browser: it shows the outputs and no
script in them (or in the page itself) runs."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from lab_browser import ARTIFACTS, TOKEN, chromium, running_lab
from notebook_files import notebook_bake

from neuro_jupyter.core.project import open_project

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_notebook_page_shows_outputs_and_runs_no_script(tmp_path: Path) -> None:
    root = tmp_path / "served" / "proj"
    (root / ".neuro").mkdir(parents=True)
    project = open_project(root)
    bake = notebook_bake(project)
    with running_lab(tmp_path, tmp_path / "served") as url:
        with urllib.request.urlopen(f"{url}/neuro-jupyter/api/projects?token={TOKEN}") as answer:
            pk = next(p["pk"] for p in json.load(answer)["projects"] if p["root"] == str(root))
        with urllib.request.urlopen(
                f"{url}/neuro-jupyter/api/projects/{pk}/bakes/{bake.bake_id}?token={TOKEN}") as answer:
            task = next(t for t in json.load(answer)["tasks"] if t["full_id"] == "report")
        assert task["notebook"]["lab_url"] == f"/lab/tree/proj/{task['notebook']['path']}"
        with chromium() as browser:
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(f"{url}{task['notebook']['html_url']}&token={TOKEN}", wait_until="load")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "notebook-page.png"), full_page=True)
            assert page.get_by_text("accuracy 0.93").count() >= 1
            assert not page.title().startswith("pwned") and dialogs == []
            assert page.locator("img[src='x']").count() == 1  # the markup is there, inert
