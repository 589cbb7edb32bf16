"""The bake graph in a real browser: the notebook's bake view on synthetic 1,000- and
10,000-task bakes recorded in the store, in JupyterLab, driven by Debian's chromium.

For each bake (``matrix``: matrix groups of 100, which start collapsed; ``flat``: no groups, so
every task is laid out) it measures, in the page:

- **first paint**: from Shift+Enter on the cell that shows the view to the graph's first paint
  (kernel, comm, widget, layout in the worker, canvas), and from the widget's ``render`` to it;
- **status updates**: the bench writes status changes into the store (as an executor does);
  the view reads them through the REST API (polling). Per update: from the answer's last
  byte to the repaint (parse, table, recolour, paint: the view's own cost), and from the
  store write to the repaint (adds the poll's wait);
- **long tasks** on the main thread (PerformanceObserver ``longtask``, ≥ 50 ms) from the
  first paint on: how many, how many over 100 ms, the longest;
- **round trips**: the page's own (a MessageChannel ping every 50 ms: how long the main
  thread takes to answer) and the server's (``GET /api/status``), p95, while updates flow;
- ``--expand``: the time to lay out and paint every group expanded (10,000 nodes: dagre in
  the worker) and the page's ping p95 meanwhile.

Run: ``.venv/bin/python bench/browser_bake_graph.py [--sizes 1000,10000] [--shapes
matrix,flat] [--updates 10] [--expand]``. Needs /usr/bin/chromium and the built labextension.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "_support"))

INSTRUMENT = """
(() => {
  const m = window.__nj = { longtasks: [], pings: [], paints: [], updates: [], server: [],
                            renderAt: null };
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) m.longtasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  document.addEventListener('nj-graph-paint', e => m.paints.push(
      [e.detail.started, e.detail.ended, e.detail.nodes]), true);
  document.addEventListener('nj-graph-update', e => {
    m.updates.push(e.detail.at);
    if (m.renderAt === null) m.renderAt = e.detail.at;
  }, true);
  const channel = new MessageChannel();
  let sent = 0;
  channel.port1.onmessage = () => { m.pings.push([sent, performance.now() - sent]); };
  setInterval(() => { sent = performance.now(); channel.port2.postMessage(0); }, 50);
})();
"""


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def make_bake(project: Any, shape: str, size: int) -> tuple[str, list[str]]:
    """Record a running bake of ``size`` tasks; its name and task ids."""
    from neuro_jupyter.core.store import bakes as rows
    from neuro_jupyter.core.store import open_store
    from neuro_jupyter.core.store.projects import project_pk

    store = open_store()
    name = f"{shape}-{size}"
    bake = rows.create_bake(store, project_pk=project_pk(project, store), batch=shape, name=name,
                            tags=(), params={}, config_files={})
    rng = random.Random(size)
    tasks = [rows.TaskRecord(bake.bake_id, 1, "prepare", "succeeded", seq=0)]
    for i in range(size - 1):
        if shape == "matrix":  # groups of 100: 10 chains of 10 tasks each
            group, k = divmod(i, 100)
            needs = [f"fit_{i - 10}"] if k >= 10 else ["prepare"]
            matrix = f"g{group}"
        else:  # layers of random width; each task needs one or two of the previous layer
            needs = ["prepare"] if i < 20 else [f"fit_{rng.randrange(max(0, i - 60), i - 10)}"]
            if i >= 20 and rng.random() < 0.3:
                needs.append(f"fit_{rng.randrange(max(0, i - 60), i - 10)}")
            matrix = None
        status = "succeeded" if i < size * 0.3 else "running" if i < size * 0.35 else "pending"
        tasks.append(rows.TaskRecord(bake.bake_id, 1, f"fit_{i}", status,
                                     needs={n: "completed" for n in needs}, matrix_group=matrix,
                                     seq=i + 1, started_at=time.time() if status != "pending"
                                     else None))
    rows.put_tasks(store, tasks)
    rows.update_attempt(store, bake.bake_id, 1, result="running")
    return name, [t.full_id for t in tasks]


def write_updates(bake_name: str, project: Any, ids: list[str], step: int) -> float:
    """Move 20 tasks on (pending → running → succeeded), as an executor's round does."""
    from neuro_jupyter.core.bake import resolve_bake
    from neuro_jupyter.core.store import bakes as rows
    from neuro_jupyter.core.store import open_store

    store = open_store()
    bake = resolve_bake(project, bake_name)
    current = {t.full_id: t for t in rows.list_tasks(store, bake.bake_id, 1)}
    start = int(len(ids) * 0.35) + step * 20
    changed = []
    for fid in ids[start:start + 20]:
        t = current[fid]
        changed.append(rows.TaskRecord(t.bake_id, 1, fid, "running", needs=t.needs,
                                       matrix_group=t.matrix_group, seq=t.seq,
                                       started_at=time.time()))
    for fid in ids[start - 100:start - 80]:
        t = current[fid]
        changed.append(rows.TaskRecord(t.bake_id, 1, fid, "succeeded", needs=t.needs,
                                       matrix_group=t.matrix_group, seq=t.seq,
                                       started_at=t.started_at, finished_at=time.time()))
    with store.tx():
        rows.put_tasks(store, changed)
    return time.time() * 1000


def wait_update(page: Any, task: str, paints_before: int) -> None:
    """Wait for a repaint that shows ``task`` running."""
    page.wait_for_function(
        """([id, n]) => {
            const g = document.querySelector('.nj-graph-view').njGraph;
            const i = g.structure.ids.indexOf(id);
            return window.__nj.paints.length > n && g._statuses[i] === 'running';
        }""", arg=[task, paints_before], timeout=60_000)


def measure(page: Any, url: str, name: str, project: Any, ids: list[str], updates: int,
            expand: bool) -> dict[str, Any]:
    from lab_browser import open_notebook

    open_notebook(page, url, f"{name}.ipynb")
    page.locator(".jp-Notebook .jp-Cell").first.click()
    started = page.evaluate("() => performance.now()")
    page.keyboard.press("Shift+Enter")
    view = page.locator(".nj-graph-view")
    view.locator("xpath=self::*[@data-layout='ready']").wait_for(timeout=300_000)
    page.wait_for_function("() => window.__nj.paints.some(p => p[2] > 0)", timeout=300_000)
    m = page.evaluate("() => window.__nj")
    first = next(p for p in m["paints"] if p[2] > 0)
    result: dict[str, Any] = {
        "first_paint_ms": first[1] - started,
        "nodes": first[2],
        "layout_ms": float(view.get_attribute("data-layout-millis") or "nan"),
    }
    page.wait_for_timeout(1500)  # the first REST answer replaces the kernel's snapshot
    t0 = page.evaluate("() => performance.now()")
    page.evaluate("""() => { window.__nj.serverTimer = setInterval(async () => {
        const t = performance.now(); await fetch('/api/status', {cache: 'no-store'});
        window.__nj.server.push(performance.now() - t); }, 200); }""")
    client: list[float] = []
    end_to_end: list[float] = []
    for step in range(updates):
        before = page.evaluate("() => window.__nj.paints.length")
        wrote = write_updates(name, project, ids, step)
        # the view polls; wait for the repaint that shows the change (a task now running)
        target = ids[int(len(ids) * 0.35) + step * 20]
        try:
            wait_update(page, target, before)
        except Exception as error:  # reported; the run goes on
            print(f"  update {step}: not seen on the screen within 60 s ({error.__class__.__name__})")
            continue
        page.wait_for_timeout(50)
        timing = page.evaluate("""() => {
            const res = performance.getEntriesByType('resource')
                .filter(e => e.name.includes('/graph.json'));
            const last = res[res.length - 1];
            const paint = window.__nj.paints.find(p => p[0] >= last.responseEnd);
            return { responseEnd: last.responseEnd, paintEnd: paint ? paint[1] : null,
                     origin: performance.timeOrigin };
        }""")
        if timing["paintEnd"] is not None:
            client.append(timing["paintEnd"] - timing["responseEnd"])
            end_to_end.append(timing["origin"] + timing["paintEnd"] - wrote)
        page.wait_for_timeout(500)
    m = page.evaluate("() => { clearInterval(window.__nj.serverTimer); return window.__nj; }")
    after = [lt for lt in m["longtasks"] if lt[0] >= t0]
    result.update(
        update_client_ms=statistics.median(client) if client else float("nan"),
        update_client_max_ms=max(client) if client else float("nan"),
        update_e2e_ms=statistics.median(end_to_end) if end_to_end else float("nan"),
        longtasks=len(after), longtasks_over_100=sum(1 for lt in after if lt[1] > 100),
        longest_ms=max((lt[1] for lt in after), default=0.0),
        ping_p95_ms=p95([p[1] for p in m["pings"] if p[0] >= t0]),
        server_p95_ms=p95(m["server"]),
        all_longtasks_over_100=sum(1 for lt in m["longtasks"] if lt[1] > 100),
    )
    if expand:
        before = page.evaluate("() => performance.now()")
        page.locator("button.nj-graph-expand-all").click()
        page.wait_for_function(
            f"() => document.querySelector('.nj-graph-view').dataset.nodes === '{len(ids)}'",
            timeout=600_000)
        m = page.evaluate("() => window.__nj")
        paint = next(p for p in m["paints"] if p[2] == len(ids) and p[0] >= before)
        result.update(
            expand_ms=paint[1] - before,
            expand_ping_p95_ms=p95([p[1] for p in m["pings"] if p[0] >= before]),
            expand_longest_ms=max((lt[1] for lt in m["longtasks"] if lt[0] >= before),
                                  default=0.0),
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--shapes", default="matrix,flat")
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--expand", action="store_true", help="also expand every group")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nj-bench-graph-"))
    os.environ["NEURO_JUPYTER_HOME"] = str(work / "home")
    from lab_browser import chromium, running_lab, write_notebook

    from neuro_jupyter.core.project import open_project

    root = work / "project"
    (root / ".neuro").mkdir(parents=True)
    project = open_project(root)
    cases = [(shape, int(size)) for size in args.sizes.split(",")
             for shape in args.shapes.split(",")]
    made = {}
    for shape, size in cases:
        name, ids = make_bake(project, shape, size)
        made[name] = ids
        write_notebook(root / f"{name}.ipynb", [
            "from neuro_jupyter.core.project import find_project\n"
            "from neuro_jupyter.widgets.bake_view import BakeView\n"
            f"BakeView(find_project(), {name!r})"])
    rows = []
    with running_lab(work, root) as url, chromium() as browser:
        for shape, size in cases:
            name = f"{shape}-{size}"
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(INSTRUMENT)
            page = context.new_page()
            page.set_default_timeout(300_000)
            result = measure(page, url, name, project, made[name], args.updates,
                             args.expand and shape == "matrix")
            rows.append((shape, size, result))
            print(shape, size, {k: round(v, 1) if isinstance(v, float) else v
                                for k, v in result.items()}, flush=True)
            context.close()
    print()
    print("| bake | tasks | nodes drawn | first paint ms | layout ms "
          "| update (client) ms median / max | store→screen ms | long tasks (>100 ms) "
          "| longest ms | page ping p95 ms | server p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for shape, size, r in rows:
        print(f"| {shape} | {size} | {r['nodes']} | {r['first_paint_ms']:.0f} "
              f"| {r['layout_ms']:.0f} "
              f"| {r['update_client_ms']:.0f} / {r['update_client_max_ms']:.0f} "
              f"| {r['update_e2e_ms']:.0f} | {r['longtasks']} ({r['longtasks_over_100']}) "
              f"| {r['longest_ms']:.0f} | {r['ping_p95_ms']:.1f} | {r['server_p95_ms']:.1f} |")
    if args.expand:
        print()
        print("| bake | tasks | expand all: layout + paint ms | page ping p95 ms meanwhile "
              "| longest task ms |")
        print("|---|---|---|---|---|")
        for shape, size, r in rows:
            if "expand_ms" in r:
                print(f"| {shape} | {size} | {r['expand_ms']:.0f} | {r['expand_ping_p95_ms']:.1f} "
                      f"| {r['expand_longest_ms']:.0f} |")


if __name__ == "__main__":
    main()
