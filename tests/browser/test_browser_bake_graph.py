"""The notebook's bake view (the graph component) in a real JupyterLab, driven through Debian's
chromium with Playwright: a live bake and a 1,000-task bake drawn, zoomed, searched, clicked,
their logs opened and closed; then a kernel restart in the middle of a bake, with the server
extension (the old view keeps following) and without it (the old view says it is
disconnected), and a new ``%neuro_inspect`` attaching. Screenshots of each state go to
``test-artifacts/browser/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lab_browser import (
    ARTIFACTS,
    chromium,
    open_notebook,
    run_all_cells,
    running_lab,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BATCH = """kind: batch
tasks:
  - id: prepare
    bash: echo "<script>window.pwned = 1</script> prepared"
  - id: train
    bash: while [ ! -e {gate} ]; do sleep 0.05; done; echo trained
"""
BIG_CELL = """\
from neuro_jupyter.core.project import find_project
from neuro_jupyter.core.store import bakes as rows, open_store
from neuro_jupyter.core.store.projects import project_pk
from neuro_jupyter.widgets.bake_view import BakeView

store = open_store()
big = rows.create_bake(store, project_pk=project_pk(find_project(), store), batch="big",
                       name="big", tags=(), params={}, config_files={})
rows.put_tasks(store, [rows.TaskRecord(
    big.bake_id, 1, f"fit_{i}", "succeeded" if i % 3 else "failed",
    needs={f"fit_{i - 1}": "completed"} if i % 100 else {}, matrix_group=f"g{i // 100}", seq=i)
    for i in range(1000)])
rows.update_attempt(store, big.bake_id, 1, result="failed", finished_at=1.0)
BakeView(find_project(), "big")"""

VIEW = '.nj-graph-details[data-bake-name="{}"]'
GRAPH = "document.querySelector('{}').querySelector('.nj-graph-view')"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def graph_js(name: str) -> str:
    return GRAPH.format(VIEW.format(name))


def node_point(page: Any, name: str, task: str) -> dict[str, float]:
    """Where a task's node is on the screen (client coordinates)."""
    point = page.evaluate(f"id => {graph_js(name)}.njGraph.clientPointOf(id)", task)
    assert point is not None, task
    return point


def node_fill(page: Any, name: str, task: str) -> list[int]:
    """The colour painted at the middle of a task's node on the canvas."""
    return page.evaluate(
        f"""id => {{
            const view = {graph_js(name)};
            const p = view.njGraph.clientPointOf(id);
            const canvas = view.querySelector('canvas.nj-graph-canvas');
            const r = canvas.getBoundingClientRect();
            const dpr = window.devicePixelRatio || 1;
            const d = canvas.getContext('2d').getImageData(
                Math.round((p.x - r.left) * dpr), Math.round((p.y - r.top) * dpr), 1, 1).data;
            return [d[0], d[1], d[2]];
        }}""",
        task,
    )


def wait_fill(page: Any, name: str, task: str, rgb: tuple[int, int, int]) -> None:
    page.wait_for_function(
        f"""([id, rgb]) => {{
            const details = document.querySelector('{VIEW.format(name)}');
            const view = details && details.querySelector('.nj-graph-view');
            const p = view && view.njGraph.clientPointOf(id);
            if (!p) return false;
            const canvas = view.querySelector('canvas.nj-graph-canvas');
            const r = canvas.getBoundingClientRect();
            const dpr = window.devicePixelRatio || 1;
            const d = canvas.getContext('2d').getImageData(
                Math.round((p.x - r.left) * dpr), Math.round((p.y - r.top) * dpr), 1, 1).data;
            return d[0] === rgb[0] && d[1] === rgb[1] && d[2] === rgb[2];
        }}""",
        arg=[task, list(rgb)],
    )


SKYBLUE = (135, 206, 235)
LIMEGREEN = (50, 205, 50)
STEELBLUE = (70, 130, 180)
ORANGERED = (255, 69, 0)


def make_project(tmp_path: Path, cells: list[str]) -> tuple[Path, Path]:
    root = tmp_path / "nb"
    (root / ".neuro").mkdir(parents=True)
    gate = tmp_path / "gate"
    (root / ".neuro" / "demo.yml").write_text(BATCH.format(gate=gate))
    write_notebook(root / "bake.ipynb", *cells)
    return root, gate


def run_bake_notebook(browser: Any, url: str) -> tuple[Any, list[str]]:
    """A page with bake.ipynb open and its cells run; the page's errors, gathered as they come."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_notebook(page, url, "bake.ipynb")
    run_all_cells(page)
    return page, errors


def test_bake_views_draw_zoom_find_and_show_logs(tmp_path: Path) -> None:
    root, gate = make_project(tmp_path, [
        "%load_ext neuro_jupyter", "%bake demo --name in-lab", BIG_CELL,
    ])
    with running_lab(tmp_path, root) as url, chromium() as browser:
        page, errors = run_bake_notebook(browser, url)

        # a live bake: drawn by the graph component, following the store by itself
        small = page.locator(VIEW.format("in-lab"))
        small.locator('.nj-graph-view[data-layout="ready"][data-nodes="2"]').wait_for()
        wait_fill(page, "in-lab", "prepare", LIMEGREEN)
        wait_fill(page, "in-lab", "train", STEELBLUE)  # running
        small.locator('.nj-graph-connection[data-state="server"]').wait_for()  # via REST
        assert small.locator(".nj-graph-legend .nj-graph-badge").count() == 8
        assert small.locator(".nj-graph-progress-text").inner_text().startswith("1/2 finished")
        shot(page, "graph-01-live-bake")
        gate.touch()
        wait_fill(page, "in-lab", "train", LIMEGREEN)
        small.locator('.nj-graph-header .nj-graph-badge[data-status="succeeded"]').wait_for()
        assert small.locator(".nj-graph-progress-text").inner_text() == "2/2 finished"
        assert small.locator('.nj-graph-task[data-task-id="train"] .nj-graph-badge').inner_text() == (
            "succeeded")

        # click a node: it is selected, its log opens (as text); Close closes it
        point = node_point(page, "in-lab", "prepare")
        page.mouse.click(point["x"], point["y"])
        small.locator('.nj-graph-view[data-selected="prepare"]').wait_for()
        page.locator(VIEW.format("in-lab") + '[data-log-loaded="prepare"]').wait_for()
        log = small.locator(".nj-graph-log-panel pre.nj-graph-log")
        assert log.inner_text().strip() == "<script>window.pwned = 1</script> prepared"
        assert small.locator(".nj-graph-log-title").inner_text() == "Log of prepare"
        assert small.locator(".nj-graph-log-header").inner_text() == (
            "Attempt #1 succeeded\nTask prepare succeeded")
        assert small.locator("script").count() == 0
        assert page.evaluate("() => window.pwned === undefined")
        assert small.locator('.nj-graph-task.nj-graph-row-selected[data-task-id="prepare"]').count() == 1
        shot(page, "graph-02-log-open")
        small.locator("button.nj-graph-log-close").click()
        small.locator(".nj-graph-log-panel").wait_for(state="hidden")
        assert small.locator('.nj-graph-view[data-selected=""]').count() == 1
        shot(page, "graph-03-log-closed")

        # a 1,000-task bake: its 10 matrix groups start collapsed, with readable labels
        big = page.locator(VIEW.format("big"))
        big.scroll_into_view_if_needed()
        graph = big.locator(".nj-graph-view")
        big.locator('.nj-graph-view[data-layout="ready"][data-nodes="10"]').wait_for()
        assert big.locator(".nj-graph-progress-text").inner_text().startswith("1000/1000 finished")
        wait_fill(page, "big", "fit_0", ORANGERED)  # a group with a failed task: failed
        shot(page, "graph-04-thousand-collapsed")

        # zoom: the + button and the mouse wheel
        zoom = float(graph.get_attribute("data-zoom"))
        big.locator("button.nj-graph-zoom-in").click()
        page.wait_for_function(f"() => +{graph_js('big')}.dataset.zoom > {zoom}")
        box = big.locator("canvas.nj-graph-canvas").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        zoom = float(graph.get_attribute("data-zoom"))
        page.mouse.wheel(0, 400)  # down: out
        page.wait_for_function(f"() => +{graph_js('big')}.dataset.zoom < {zoom}")

        # find a task by id: its group opens, it is selected and centred; a click on it
        # opens its log, a second click closes it
        search = big.locator("input.nj-graph-search")
        search.fill("fit_437")
        search.press("Enter")
        big.locator('.nj-graph-view[data-selected="fit_437"][data-layout="ready"][data-nodes="109"]').wait_for()
        big.locator(".nj-graph-log-title", has_text="Log of fit_437").wait_for()
        assert big.locator(".nj-graph-log-title").inner_text() == (
            "Log of fit_437 — in fit (matrix, 100)")
        big.locator("button.nj-graph-log-close").click()
        big.locator(".nj-graph-log-panel").wait_for(state="hidden")
        shot(page, "graph-05-thousand-found")
        point = node_point(page, "big", "fit_437")
        page.mouse.click(point["x"], point["y"])
        big.locator('.nj-graph-view[data-selected="fit_437"]').wait_for()
        page.locator(VIEW.format("big") + '[data-log-loaded="fit_437"]').wait_for()
        assert big.locator(".nj-graph-log-header").inner_text() == (
            "Attempt #1 failed\nTask fit_437 succeeded")
        assert big.locator(".nj-graph-minimap").is_visible()  # the graph is larger than the view
        shot(page, "graph-06-thousand-task-log")
        page.mouse.click(point["x"], point["y"])
        big.locator(".nj-graph-log-panel").wait_for(state="hidden")

        # a collapsed group: selected, its summary; Expand draws its tasks
        big.locator("button.nj-graph-collapse-all").click()
        big.locator('.nj-graph-view[data-layout="ready"][data-nodes="10"]').wait_for()
        big.locator("button.nj-graph-fit").click()
        point = node_point(page, "big", "fit_250")
        page.mouse.click(point["x"], point["y"])
        big.locator('.nj-graph-view[data-selected="g2"]').wait_for()
        assert big.locator(".nj-graph-log-title").inner_text() == "fit (matrix, 100)"
        shot(page, "graph-07-group-selected")
        assert errors == []


def restart_kernel(page: Any) -> None:
    """Kernel → Restart Kernel…, then Restart in the dialog, as a user does."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Restart Kernel…").first.click()
    page.locator(".jp-Dialog button", has_text="Restart").click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def run_new_cell(page: Any, code: str) -> None:
    """Add a cell at the end of the notebook and run it."""
    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")


@pytest.mark.parametrize("server_extension", [True, False], ids=["rest", "no-server-extension"])
def test_bake_view_outlives_a_kernel_restart(tmp_path: Path, server_extension: bool) -> None:
    root, gate = make_project(tmp_path, ["%load_ext neuro_jupyter", "%bake demo --name long"])
    args = [] if server_extension else ["--ServerApp.jpserver_extensions=neuro_jupyter=False"]
    tag = "rest" if server_extension else "kernel"
    with running_lab(tmp_path, root, extra_args=args) as url, chromium() as browser:
        page, errors = run_bake_notebook(browser, url)
        old = page.locator(VIEW.format("long")).first
        wait_fill(page, "long", "train", STEELBLUE)
        source = "server" if server_extension else "kernel"
        old.locator(f'.nj-graph-connection[data-state="{source}"]').wait_for()
        shot(page, f"graph-restart-{tag}-1-running")

        restart_kernel(page)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
        if server_extension:
            # the old view reads the store through the server: it follows the bake to its end
            gate.touch()
            wait_fill(page, "long", "train", LIMEGREEN)
            old.locator('.nj-graph-header .nj-graph-badge[data-status="succeeded"]').wait_for()
            assert old.get_attribute("data-connection") == "server"
        else:
            # no server extension: the old view says plainly that it stopped, and how to
            # re-attach, instead of a frozen "running"
            old.locator('.nj-graph-connection[data-state="disconnected"]').wait_for()
            text = old.locator(".nj-graph-connection").inner_text()
            assert "Disconnected" in text and "%neuro_inspect long" in text
            badge = old.locator(".nj-graph-header .nj-graph-badge")
            assert badge.inner_text() == "disconnected (was running)"
            gate.touch()
        shot(page, f"graph-restart-{tag}-2-after-restart")

        # a new %neuro_inspect in the new kernel attaches to the same bake
        run_new_cell(page, "%load_ext neuro_jupyter\n%neuro_inspect long")
        page.wait_for_function(
            f"() => document.querySelectorAll('{VIEW.format('long')}').length === 2")
        new = page.locator(VIEW.format("long")).nth(1)
        new.locator('.nj-graph-header .nj-graph-badge[data-status="succeeded"]').wait_for()
        new.scroll_into_view_if_needed()
        shot(page, f"graph-restart-{tag}-3-reattached")
        assert errors == []


KERNEL_CELL = """\
from neuro_jupyter.core.project import find_project
from neuro_jupyter.widgets.bake_view import BakeView
view = BakeView(find_project(), "many", interval=0.2)
view"""


def test_kernel_sends_only_the_changed_tasks(tmp_path: Path) -> None:
    """Without the server extension the view follows the kernel, which sends the whole state
    once, then (until a quarter of the tasks changed) only the tasks that changed: a task
    that starts is recoloured on the screen from such a message."""
    import dataclasses
    import subprocess

    from neuro_jupyter.core.backends.local.procs import start_ticks
    from neuro_jupyter.core.project import open_project
    from neuro_jupyter.core.store import bakes as rows
    from neuro_jupyter.core.store import open_store
    from neuro_jupyter.core.store.projects import project_pk

    root = tmp_path / "nb"
    (root / ".neuro").mkdir(parents=True)
    store = open_store()
    bake = rows.create_bake(store, project_pk=project_pk(open_project(root), store),
                            batch="many", name="many", tags=(), params={}, config_files={})
    tasks = [rows.TaskRecord(bake.bake_id, 1, f"fit_{i}", "pending", seq=i) for i in range(40)]
    rows.put_tasks(store, tasks)
    # a stand-in for the bake's executor (else readers close the attempt after a minute)
    executor = subprocess.Popen(["sleep", "600"])
    rows.update_attempt(store, bake.bake_id, 1, result="running", executor_pid=executor.pid,
                        executor_start=str(start_ticks(executor.pid)))
    write_notebook(root / "bake.ipynb", KERNEL_CELL)
    args = ["--ServerApp.jpserver_extensions=neuro_jupyter=False"]
    try:
        with running_lab(tmp_path, root, extra_args=args) as url, chromium() as browser:
            page, errors = run_bake_notebook(browser, url)
            view = page.locator(VIEW.format("many"))
            view.locator('.nj-graph-view[data-layout="ready"][data-nodes="40"]').wait_for()
            view.locator('.nj-graph-connection[data-state="kernel"]').wait_for()
            wait_fill(page, "many", "fit_5", SKYBLUE)
            rows.put_tasks(store, [dataclasses.replace(tasks[5], status="running")])
            wait_fill(page, "many", "fit_5", STEELBLUE)
            assert view.locator(".nj-graph-progress-text").inner_text() == "0/40 finished · 1 running · 39 pending"
            shot(page, "graph-kernel-changes")
            # the kernel sent it as a message of the changed tasks; its whole state is the first
            run_new_cell(page, "print(view.state['snapshot'], view._changes['index'])")
            page.locator(".jp-OutputArea-output pre", has_text="1 [5]").wait_for()
            assert errors == []
    finally:
        executor.kill()
        executor.wait()
