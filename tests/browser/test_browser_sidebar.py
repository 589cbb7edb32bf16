"""The Neuro sidebar in a real JupyterLab, driven through Debian's chromium with Playwright.

Set-up goes through the core API (a project, a finished job, a finished bake); the test then
clicks project → job (start, stop, open) → bake (graph, task log) like a user, and keeps a
screenshot of every step in ``test-artifacts/browser/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bake_workflows import TRAINING_WITH_REPORT
from lab_browser import free_port, lab_page, running_lab, shot

from neuro_jupyter.core.project import Project, open_project
from neuro_jupyter.core.store.jobs import JobRecord, insert_job
from neuro_jupyter.core.store.projects import project_pk

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = """kind: live
title: Demo jobs
jobs:
  hello:
    image: ubuntu
    title: Says <b>hello</b>
    bash: echo "<script>alert('hello')</script> from a job"
  sleeper:
    image: ubuntu
    title: Sleeps a minute
    bash: |
      echo "<img src=x onerror=alert(1)> sleeping"
      sleep 60
  web:
    image: neuromation/base
    title: A web UI
    http_port: {port}
    browse: true
    detach: true
    cmd: python -m http.server {port} --bind 127.0.0.1
  remote:
    title: Ran on a Ray cluster
    cmd: echo remote
"""


@pytest.fixture
def demo_project(tmp_path: Path) -> Iterator[Project]:
    """A project with a finished job (``hello``) and a finished, failed bake."""
    from neuro_jupyter.core.bake import start_bake, watch_bake
    from neuro_jupyter.core.live import get_job, kill_job, run_job

    root = tmp_path / "work" / "demo"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "project.yml").write_text("id: demo\nproject_name: Demo <i>project</i>\n")
    (root / ".neuro" / "live.yml").write_text(LIVE.format(port=free_port()))
    (root / ".neuro" / "training.yml").write_text(TRAINING_WITH_REPORT)
    project = open_project(root)
    hello = run_job(project, "hello", detach=True).record
    deadline = time.monotonic() + 30
    while get_job(hello.raw_id).active and time.monotonic() < deadline:
        time.sleep(0.05)
    bake = start_bake(project, "training", name="first-training")
    state = list(watch_bake(project, bake, interval=0.05))[-1]
    assert state.attempt.result == "failed"
    now = time.time()  # a finished run on a Ray cluster (the Ray tests run real ones)
    insert_job(JobRecord(raw_id="job-on-ray", project_pk=project_pk(project), job_id="remote",
                         backend="ray@http://127.0.0.1:8265", status="succeeded", exit_code=0,
                         created_at=now - 2, started_at=now - 1, finished_at=now))
    yield project
    kill_job(project, "ALL", grace=2)


@pytest.fixture
def lab(tmp_path: Path, demo_project: Project) -> Iterator[str]:
    """JupyterLab serving the folder that holds the demo project."""
    with running_lab(tmp_path, demo_project.root.parent) as url:
        yield url


@pytest.fixture
def page(lab: str) -> Iterator[Any]:
    with lab_page(lab) as page:
        yield page


def test_sidebar_projects_jobs_and_bakes(page: Any, lab: str, demo_project: Project) -> None:
    sidebar = page.locator("#neuro-jupyter-sidebar")

    # Projects
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="neuro-jupyter-sidebar"]').click()
    project_item = sidebar.locator(".nj-project", has_text="Demo <i>project</i>")
    project_item.wait_for()
    shot(page, "01-projects")

    # A project: live jobs and bakes with status badges
    project_item.click()
    hello = sidebar.locator('.nj-job[data-job-id="hello"]')
    hello.locator('.nj-badge[data-status="succeeded"]').wait_for()
    bake_item = sidebar.locator(".nj-bake", has_text="first-training")
    bake_item.locator('.nj-badge[data-status="failed"]').wait_for()
    never = sidebar.locator('.nj-job[data-job-id="sleeper"] .nj-badge')
    assert (never.inner_text(), never.get_attribute("data-status")) == ("not run", "never")
    assert sidebar.locator(".nj-job", has_text="Says <b>hello</b>").count() == 1
    tag = sidebar.locator('.nj-job[data-job-id="remote"] .nj-backend')
    assert tag.inner_text() == "ray" and tag.get_attribute("title") == "ray (http://127.0.0.1:8265)"
    assert hello.locator(".nj-backend").count() == 0  # local runs carry no tag
    colour = hello.locator(".nj-badge").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(50, 205, 50)"  # limegreen
    shot(page, "02-project")

    # The view follows changes made elsewhere (here: a kill from the core API) by polling
    from neuro_jupyter.core.live import kill_job, run_job

    run_job(demo_project, "sleeper", detach=True)
    sleeper_badge = sidebar.locator('.nj-job[data-job-id="sleeper"] .nj-badge')
    sidebar.locator('.nj-job[data-job-id="sleeper"] .nj-badge[data-status="running"]').wait_for()
    kill_job(demo_project, "sleeper", grace=2)
    sidebar.locator('.nj-job[data-job-id="sleeper"] .nj-badge[data-status="cancelled"]').wait_for()
    assert sleeper_badge.inner_text() == "cancelled"

    # A finished job: its log is shown as text, never as HTML
    hello.click()
    log = sidebar.locator(".nj-job-view .nj-log")
    page.wait_for_function(
        "() => document.querySelector('#neuro-jupyter-sidebar .nj-log')?.textContent.includes('from a job')"
    )
    assert log.inner_text().strip() == "<script>alert('hello')</script> from a job"
    assert sidebar.locator("script").count() == 0
    assert sidebar.locator("h3").first.inner_text() == "Says <b>hello</b>"
    shot(page, "03-job-finished")

    # Start and stop a job from the UI
    sidebar.locator(".nj-crumb-project").click()
    sidebar.locator('.nj-job[data-job-id="sleeper"]').click()
    start = sidebar.locator("button.nj-start")
    start.wait_for()
    start.click()
    sidebar.locator('.nj-job-view .nj-badge[data-status="running"]').wait_for()
    page.wait_for_function(
        "() => document.querySelector('#neuro-jupyter-sidebar .nj-log')?.textContent.includes('sleeping')"
    )
    assert sidebar.locator(".nj-log").inner_text().startswith("<img src=x onerror=alert(1)>")
    assert sidebar.locator("img").count() == 0
    shot(page, "04-job-running")
    sidebar.locator("button.nj-stop").click()
    sidebar.locator('.nj-job-view .nj-badge[data-status="cancelled"]').wait_for()
    shot(page, "05-job-stopped")

    # Open a job's web UI through the proxy in a new tab
    sidebar.locator(".nj-crumb-project").click()
    sidebar.locator('.nj-job[data-job-id="web"]').click()
    sidebar.locator("button.nj-start").click()
    open_button = sidebar.locator("button.nj-open")
    open_button.wait_for()
    with page.context.expect_page() as opened:
        open_button.click()
    web = opened.value
    web.wait_for_load_state()
    assert "/proxy/" in web.url
    assert web.url.startswith(lab)
    deadline = time.monotonic() + 20
    while "Directory listing" not in web.content() and time.monotonic() < deadline:
        time.sleep(0.3)
        web.reload()
    assert "Directory listing" in web.content()
    web.close()
    sidebar.locator("button.nj-stop").click()
    sidebar.locator('.nj-job-view .nj-badge[data-status="cancelled"]').wait_for()

    # A broken live.yml: the recorded runs stay listed, the file's error above them as text
    live_yml = demo_project.root / ".neuro" / "live.yml"
    sound = live_yml.read_text()
    live_yml.write_text("kind: live\njobs:\n  <b>bad</b>: [\n")
    sidebar.locator(".nj-crumb-project").click()
    warning = sidebar.locator(".nj-project-view .nj-jobs-warning")
    warning.wait_for()
    assert "live.yml:4:" in warning.inner_text() and "only jobs that ran" in warning.inner_text()
    assert sidebar.locator(".nj-project-view b").count() == 0
    hello.locator('.nj-badge[data-status="succeeded"]').wait_for()
    shot(page, "05b-broken-live-yml")
    live_yml.write_text(sound)
    warning.wait_for(state="detached")

    # A bake: the graph component (the notebook's too), the tasks table, a task's log
    sidebar.locator(".nj-crumb-project").click()
    sidebar.locator(".nj-bake", has_text="first-training").click()
    sidebar.locator('.nj-graph-view[data-layout="ready"][data-nodes="3"]').wait_for()
    rows = sidebar.locator(".nj-graph-task")
    assert rows.count() == 3
    statuses = {
        rows.nth(i).get_attribute("data-task-id"): rows.nth(i).locator(".nj-graph-badge").inner_text()
        for i in range(3)
    }
    assert statuses == {"prepare": "succeeded", "train": "failed", "report": "skipped"} or (
        statuses["prepare"] == "succeeded" and statuses["train"] == "failed"
    )
    sidebar.locator('.nj-graph-task[data-task-id="prepare"]').click()
    sidebar.locator('.nj-graph-details[data-log-loaded="prepare"]').wait_for()
    assert sidebar.locator(".nj-graph-log-panel pre.nj-graph-log").inner_text().strip() == (
        "<script>prepared</script>"
    )
    assert sidebar.locator("script").count() == 0
    assert sidebar.locator(".nj-graph-log-header").inner_text() == (  # as `show` prints
        "Attempt #1 failed\nTask prepare succeeded"
    )
    assert sidebar.locator('.nj-graph-view[data-selected="prepare"]').count() == 1
    shot(page, "06-bake")

    # Restart the failed bake from the UI: attempt #2 appears and runs to its end
    sidebar.locator("button.nj-restart").click()
    sidebar.locator('.nj-attempt[data-attempt="2"]').wait_for()
    sidebar.locator('.nj-attempt.nj-selected[data-attempt="2"] .nj-badge[data-status="failed"]').wait_for()
    sidebar.locator('.nj-attempt[data-attempt="1"]').click()
    sidebar.locator('.nj-attempt.nj-selected[data-attempt="1"]').wait_for()
    shot(page, "07-bake-restarted")

    # Command palette entries
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette")
    palette.locator("input").fill("Neu.ro")
    palette.locator(".lm-CommandPalette-item", has_text="Open the Projects Panel").wait_for()
    labels = palette.locator(".lm-CommandPalette-itemLabel").all_inner_texts()
    assert "Neu.ro: Restart the Selected Bake" in labels
    assert "Neu.ro: Start a Live Job…" in labels
    shot(page, "08-palette")
    page.keyboard.press("Escape")

    # Polling: runs while the sidebar shows, stands by in a hidden browser tab or when closed
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/neuro-jupyter/api/" in r.url else None)

    def quiet_window(tries: int = 3) -> bool:
        """Whether a 4 s window (longer than the 3 s poll interval) passes with no API call."""
        for _ in range(tries):
            api_calls.clear()
            page.wait_for_timeout(4_000)
            if not api_calls:
                return True
        return False

    assert not quiet_window(tries=1)
    page.evaluate(  # the tab goes to the background; the poll lingers one tick, then stands by
        "() => { Object.defineProperty(document, 'visibilityState',"
        " {value: 'hidden', configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    assert quiet_window()
    page.evaluate(
        "() => { delete document.visibilityState;"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    assert not quiet_window(tries=1)
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="neuro-jupyter-sidebar"]').click()
    assert not sidebar.is_visible()
    assert quiet_window()

    assert page.errors == []


def test_bake_graph_is_drawn_in_the_browser_without_graphviz(
    tmp_path: Path, demo_project: Project
) -> None:
    fake_bin = tmp_path / "no-graphviz"
    fake_bin.mkdir()
    dot = fake_bin / "dot"
    dot.write_text("#!/bin/sh\necho 'dot: not really installed' >&2\nexit 1\n")
    dot.chmod(0o755)
    with running_lab(tmp_path, demo_project.root.parent, path_first=fake_bin) as url, \
            lab_page(url) as page:
        sidebar = page.locator("#neuro-jupyter-sidebar")
        page.locator('.jp-SideBar .lm-TabBar-tab[data-id="neuro-jupyter-sidebar"]').click()
        sidebar.locator(".nj-project").first.click()
        sidebar.locator(".nj-bake", has_text="first-training").click()
        sidebar.locator('.nj-graph-view[data-layout="ready"][data-nodes="3"]').wait_for()
        # the node of `prepare` is painted limegreen on the canvas; a click on it opens its log
        graph = "document.querySelector('#neuro-jupyter-sidebar .nj-graph-view')"
        point = page.evaluate(f"() => {graph}.njGraph.clientPointOf('prepare')")
        fill = page.evaluate(f"""([x, y]) => {{
            const canvas = {graph}.querySelector('canvas.nj-graph-canvas');
            const r = canvas.getBoundingClientRect();
            const dpr = window.devicePixelRatio || 1;
            return [...canvas.getContext('2d').getImageData(
                Math.round((x - r.left) * dpr), Math.round((y - r.top) * dpr), 1, 1).data].slice(0, 3);
        }}""", [point["x"], point["y"]])
        assert fill == [50, 205, 50]  # limegreen
        page.mouse.click(point["x"], point["y"])
        sidebar.locator('.nj-graph-details[data-log-loaded="prepare"]').wait_for()
        assert sidebar.locator(".nj-graph-log-panel pre.nj-graph-log").inner_text().strip() == (
            "<script>prepared</script>"
        )
        shot(page, "09-bake-without-graphviz")
        sidebar.locator("button.nj-graph-log-close").click()
        sidebar.locator(".nj-graph-log-panel").wait_for(state="hidden")
        assert page.errors == []
