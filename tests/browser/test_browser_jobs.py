"""Live jobs in a real JupyterLab under a JupyterHub-style base URL (``/user/alice/``), driven
through Debian's chromium with Playwright, on a project made from the bundled template:

- the sidebar: the project's name, neutral "not run" jobs, titles; a multi job (``jupyter``)
  started twice from "New instance" with progress until it runs; its web page opened through
  the server's proxy under the base URL;
- JupyterLab's Running panel listing the jobs and stopping one; the command palette stopping
  another;
- the notebook jobs panel (``%neuro_panel``) still following and acting after a kernel
  restart, and, on a server without neuro-jupyter's extension, saying it is disconnected.

Screenshots of every step are kept in ``test-artifacts/browser/jobs-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_browser import lab_page, run_first_cell, running_lab, shot, write_notebook

from neuro_jupyter.core.live import get_job, job_status, kill_job, run_job
from neuro_jupyter.core.project import Project

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BASE = "/user/alice/"
PANEL_CELL = "%load_ext neuro_jupyter\n%cd neuro-tutorial\n%neuro_panel"
NEURO_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="neuro-jupyter-sidebar"]'
RUNNING_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="jp-running-sessions"]'
JUPYTER_START = 90_000  # ms a JupyterLab job may take to answer on a loaded machine


@pytest.fixture
def tutorial(tmp_path: Path) -> Iterator[Project]:
    """A project made from the bundled template, as ``%neuro_init`` makes it."""
    from neuro_jupyter.core.project.scaffold import init_project

    work = tmp_path / "work"
    work.mkdir()
    project = init_project("Neuro Tutorial", output_dir=work, no_input=True)
    yield project
    kill_job(project, "ALL", grace=2)


def test_multi_job_instances_running_panel_and_links_under_a_hub_base_url(
    tmp_path: Path, tutorial: Project
) -> None:
    from playwright.sync_api import expect

    with running_lab(tmp_path, tutorial.root.parent, base_url=BASE) as lab, lab_page(lab) as page:
        assert lab.endswith("/user/alice")
        sidebar = page.locator("#neuro-jupyter-sidebar")
        page.locator(NEURO_TAB).click()
        sidebar.locator(".nj-project", has_text="Neuro Tutorial").click()  # its name, not the slug

        # jobs that never ran look neutral; titles are the jobs' own or their actions' names
        tensorboard = sidebar.locator('.nj-job[data-job-id="tensorboard"]')
        tensorboard.locator('.nj-badge[data-status="never"]').wait_for()
        assert tensorboard.locator(".nj-badge").inner_text() == "not run"
        assert tensorboard.locator(".nj-sub").inner_text() == "TensorBoard"
        assert "live.tensorboard" not in sidebar.inner_text()
        assert sidebar.locator(".nj-status-unknown").count() == 0
        shot(page, "jobs-01-template-project")

        # a first jupyter instance, with a suffix of ours, from "New instance"
        group = sidebar.locator('.nj-job-group[data-job-id="jupyter"]')
        no_instances = group.locator(".nj-no-instances")
        no_instances.wait_for()
        group.locator("button.nj-new").click()
        group.locator('input[name="suffix"]').fill("first")
        shot(page, "jobs-02-new-instance-form")
        group.locator("button.nj-submit").click()
        progress = group.locator(".nj-message-progress")
        progress.wait_for()  # shown from the click until the server answers (it waits ~4 s),
        # then while the instance is pending, when it does not run within those 4 s
        assert re.match(r"(Starting jupyter first|jupyter first is pending \(waiting to run\))…",
                        progress.inner_text())
        assert no_instances.count() == 0
        shot(page, "jobs-03-starting")
        first = group.locator('.nj-job[data-suffix="first"]')
        first.locator('.nj-badge[data-status="running"]').wait_for(timeout=JUPYTER_START)
        assert "jupyter first is running" in first.locator(".nj-message-note").inner_text()
        assert progress.count() == 0  # the progress is gone once it runs

        # another instance, with a suffix the server picks
        group.locator("button.nj-new").click()
        group.locator("button.nj-submit").click()
        running = group.locator('.nj-instances .nj-job .nj-badge[data-status="running"]')
        expect(running).to_have_count(2, timeout=JUPYTER_START)
        second = group.locator('.nj-instances .nj-job:not([data-suffix="first"])')
        suffix = second.get_attribute("data-suffix")
        assert suffix and len(suffix) == 10
        shot(page, "jobs-04-two-instances")

        # its web page, through the server's proxy under the base URL
        with page.context.expect_page() as opened:
            second.locator("button.nj-open").click()
        web = opened.value
        web.wait_for_load_state()
        assert web.url.startswith(f"{lab}/proxy/absolute/")
        expect(web).to_have_title("JupyterLab", timeout=30_000)
        web.wait_for_selector("#jp-main-dock-panel", timeout=60_000)  # the job's own Lab
        shot(web, "jobs-05-instance-web-page")
        web.close()

        # the Running panel lists both instances (and the project); stop one from there
        page.locator(RUNNING_TAB).click()
        title = page.locator(".lm-AccordionPanel-title", has_text="Neu.ro jobs")
        assert title.count() == 1
        items = page.locator(".jp-RunningSessions-item.nj-running-job")
        expect(items).to_have_count(2, timeout=15_000)
        project_item = page.locator(".nj-running-project")
        assert project_item.locator(":scope > .jp-RunningSessions-itemLabel").inner_text() == (
            "Neuro Tutorial")
        labels = sorted(items.locator(".jp-RunningSessions-itemLabel").all_inner_texts())
        assert labels == sorted(["jupyter first", f"jupyter {suffix}"])
        shot(page, "jobs-06-running-panel")
        item = items.filter(has_text="jupyter first")
        item.locator(":scope > .jp-RunningSessions-itemLabel").hover()  # shows its button
        item.locator(":scope > .jp-RunningSessions-itemShutdown").click()
        expect(items).to_have_count(1, timeout=30_000)
        assert get_job(job_status(tutorial, "jupyter", "first").raw_id).status == "cancelled"
        shot(page, "jobs-07-stopped-from-running-panel")

        # the sidebar shows it (its poll); the palette stops the other one
        page.locator(NEURO_TAB).click()
        first.locator('.nj-badge[data-status="cancelled"]').wait_for()
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".lm-CommandPalette")
        palette.locator("input").fill("Neu.ro")
        labels = palette.locator(".lm-CommandPalette-itemLabel").all_inner_texts()
        for wanted in ("Neu.ro: Open the Projects Panel", "Neu.ro: Start a Live Job…",
                       "Neu.ro: Stop a Running Job…", "Neu.ro: Open a Running Job's Web Page…",
                       "Neu.ro: Refresh"):
            assert wanted in labels
        shot(page, "jobs-08-palette")
        palette.locator(".lm-CommandPalette-item", has_text="Stop a Running Job").click()
        dialog = page.locator(".jp-Dialog")
        dialog.locator("select").select_option(label=f"jupyter {suffix} (running) — Neuro Tutorial")
        dialog.locator("button.jp-mod-accept").click()
        group.locator(f'.nj-job[data-suffix="{suffix}"] .nj-badge[data-status="cancelled"]').wait_for(
            timeout=30_000)
        page.locator(RUNNING_TAB).click()
        expect(items).to_have_count(0, timeout=15_000)
        shot(page, "jobs-09-stopped-from-palette")
        assert page.errors == []


def panel_page(page: Any) -> Any:
    """Run the notebook's ``%neuro_panel`` cell; the panel once it knows where it reads from."""
    run_first_cell(page)
    panel = page.locator(".nj-jobs-panel")
    panel.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('.nj-jobs-panel')?.dataset.source !== 'connecting'"
    )
    return panel


def restart_kernel(page: Any) -> None:
    """Restart the notebook's kernel from the Kernel menu, as a user does."""
    page.locator(".lm-MenuBar-item", has_text="Kernel").click()
    page.locator('.lm-Menu-item[data-command="kernelmenu:restart"]').click()
    page.locator(".jp-Dialog button.jp-mod-accept").click()
    page.wait_for_selector(".jp-Dialog", state="detached")


def test_notebook_panel_follows_the_server_after_a_kernel_restart(
    tmp_path: Path, tutorial: Project
) -> None:
    write_notebook(tutorial.root.parent / "panel.ipynb", PANEL_CELL)
    with running_lab(tmp_path, tutorial.root.parent, base_url=BASE) as lab, \
            lab_page(lab, path="panel.ipynb") as page:
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        panel = panel_page(page)
        assert panel.get_attribute("data-source") == "server"
        assert panel.locator(".nj-title").inner_text() == "Live jobs of Neuro Tutorial"
        browser_row = panel.locator('.nj-job[data-job-id="filebrowser"]')
        browser_row.locator('.nj-badge[data-status="never"]').wait_for()
        shot(page, "jobs-10-notebook-panel")

        restart_kernel(page)
        page.locator(".nj-source", has_text="kernel that showed this panel is gone").wait_for()
        # its buttons still act, through the server
        browser_row.locator("button.nj-start").click()
        browser_row.locator('.nj-badge[data-status="running"]').wait_for(timeout=JUPYTER_START)
        assert browser_row.locator(".nj-message-note").inner_text().startswith(
            "filebrowser is running")
        record = job_status(tutorial, "filebrowser")
        assert record.status == "running"
        browser_row.click()  # its details, with the link under the base URL
        url = panel.locator(".nj-job-view .nj-url")
        url.wait_for()
        assert url.inner_text().startswith(f"{BASE}proxy/{record.http_port}/?token=")
        shot(page, "jobs-11-panel-after-kernel-restart")
        # and it follows what happens elsewhere (here: a kill from the core API)
        kill_job(tutorial, "filebrowser", grace=2)
        browser_row.locator('.nj-badge[data-status="cancelled"]').wait_for()
        assert panel.locator(".nj-message").count() == 0  # "is running" is stale: gone
        run_job(tutorial, "train", detach=True)
        train_row = panel.locator('.nj-job[data-job-id="train"]')
        train_row.locator('.nj-badge:not([data-status="never"])').wait_for()  # it ran (~2 s)
        assert train_row.get_attribute("title") == "train"
        shot(page, "jobs-12-panel-follows-the-store")
        assert not [text for text in console if "Cannot send" in text]
        assert page.errors == []


def test_notebook_panel_without_the_server_extension_says_it_is_disconnected(
    tmp_path: Path, tutorial: Project
) -> None:
    write_notebook(tutorial.root.parent / "panel.ipynb", PANEL_CELL)
    no_extension = ("--ServerApp.jpserver_extensions=neuro_jupyter=False",)
    with running_lab(tmp_path, tutorial.root.parent, base_url=BASE, extra_args=no_extension) \
            as lab, lab_page(lab, path="panel.ipynb") as page:
        panel = panel_page(page)
        assert panel.get_attribute("data-source") == "kernel"
        row = panel.locator('.nj-job[data-job-id="filebrowser"]')
        row.locator("button.nj-start").click()  # through the kernel
        row.locator('.nj-badge[data-status="running"]').wait_for(timeout=JUPYTER_START)
        shot(page, "jobs-13-panel-through-the-kernel")

        restart_kernel(page)
        banner = panel.locator(".nj-disconnected")
        banner.wait_for()
        assert "%neuro_panel" in banner.inner_text() and "again to re-attach" in banner.inner_text()
        assert panel.locator(".nj-source").inner_text() == "Disconnected"
        assert row.locator("button.nj-stop").is_disabled()  # no button that does nothing
        assert panel.locator("button:enabled").count() == 0
        shot(page, "jobs-14-panel-disconnected")
        assert job_status(tutorial, "filebrowser").status == "running"  # the job goes on
        assert page.errors == []
