"""The bake graph in a real browser: the notebook's bake view on synthetic 1,000- and
10,000-task bakes recorded in the store, in JupyterLab, driven by Debian's chromium.

For each bake (``matrix``: matrix groups of 100, which start collapsed; ``flat``: no groups, so
every task is laid out) it measures, in the page:

- **first paint**: from Shift+Enter on the cell that shows the view to the graph's first paint
  (kernel, comm, widget, layout in the worker, canvas), and the kernel's part of it (imports,
  reading the store, sending the state: the cell prints it);
- **status updates**: the bench writes status changes into the store (as an executor does: 20
  tasks start, 20 finish); the view reads them through the REST API (polling). Per update:
  from the answer's last byte to the paint that shows a task of it running (parse, table,
  recolour, paint: the view's own cost), and from the store write to that paint (adds the
  poll's wait);
- **long tasks** on the main thread (PerformanceObserver ``longtask``, ≥ 50 ms) from the
  first paint on: how many, how many over 100 ms, the longest;
- **round trips**: the page's own (a MessageChannel ping every 50 ms: how long the main
  thread takes to answer) and the server's (``GET /api/status``), p95, while updates flow;
- ``--expand``: expanding every group of a ``matrix`` bake (all its tasks laid out in the
  worker, then installed and painted), with the page's ping and long tasks meanwhile.

``--baseline FILE`` runs every case a second time with another build of the view's script
(``bake_view.js``, e.g. of an older commit), in the same Lab, interleaved, so that both see the
same machine. ``--throttle N`` slows the page's CPU N times (Chrome's CPU throttling; 1, the
default, is off). ``--profile DIR`` writes the main thread's CPU profiles (``.cpuprofile``,
for Chrome's DevTools) of each phase, ``--screenshots DIR`` pictures of the views. The load average is printed with every case: the figures
move with it on a shared machine.

Run: ``.venv/bin/python bench/browser_bake_graph.py [--cases matrix-1000,flat-1000,
matrix-10000] [--updates 10] [--expand] [--baseline OLD/bake_view.js] [--throttle 1]
[--profile DIR]``. Needs /usr/bin/chromium and the built labextension.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "_support"))

INSTRUMENT = """
(() => {
  performance.setResourceTimingBufferSize(100000);  // Lab alone fills the default 250
  const m = window.__nj = { longtasks: [], pings: [], paints: [], updates: [], server: [] };
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) m.longtasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  document.addEventListener('nj-graph-paint', e => m.paints.push(
      [e.detail.started, e.detail.ended, e.detail.nodes]), true);
  document.addEventListener('nj-graph-update', e => m.updates.push(e.detail.at), true);
  const channel = new MessageChannel();
  let sent = 0;
  channel.port1.onmessage = () => { m.pings.push([sent, performance.now() - sent]); };
  setInterval(() => { sent = performance.now(); channel.port2.postMessage(0); }, 50);
})();
"""

# the status a task shows on the screen: the view's own answer, or (an older build without
# it) its statuses once a paint followed them
PAINTED = """([id, n]) => {
    const g = document.querySelector('.nj-graph-view').njGraph;
    if (g.paintedStatus) return g.paintedStatus(id) === 'running';
    return window.__nj.paints.length > n && g._statuses[g.structure.ids.indexOf(id)] === 'running';
}"""

# the update that brought a change to the screen: the last paint before it was seen, the
# last data the view got before that paint, and the last REST answer before that data
UPDATE_TIMING = """seen => {
    const m = window.__nj;
    const paint = m.paints.filter(p => p[1] <= seen).pop();
    const update = m.updates.filter(u => u <= paint[0]).pop();
    const answer = performance.getEntriesByType('resource')
        .filter(e => e.name.includes('/graph.json') && e.responseEnd <= update).pop();
    return { paintEnd: paint[1], responseEnd: answer ? answer.responseEnd : null,
             origin: performance.timeOrigin };
}"""


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def make_bake(project: Any, shape: str, size: int, name: str) -> list[str]:
    """Record a running bake of ``size`` tasks; its task ids."""
    from neuro_jupyter.core.backends.local.procs import start_ticks
    from neuro_jupyter.core.store import bakes as rows
    from neuro_jupyter.core.store import open_store
    from neuro_jupyter.core.store.projects import project_pk

    store = open_store()
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
    # the bench stands for the bake's executor: without a live one, any reader closes the
    # attempt once it is a minute old (core.bake.liveness), and the view stops following it
    rows.update_attempt(store, bake.bake_id, 1, result="running", executor_pid=os.getpid(),
                        executor_start=str(start_ticks(os.getpid())))
    return [t.full_id for t in tasks]


def write_updates(bake_name: str, project: Any, ids: list[str], step: int) -> tuple[float, str]:
    """Move 20 tasks on (pending → running → succeeded), as an executor's round does; the time
    of the write (ms since the epoch) and a task that was pending and now runs."""
    from neuro_jupyter.core.bake import resolve_bake
    from neuro_jupyter.core.store import bakes as rows
    from neuro_jupyter.core.store import open_store

    store = open_store()
    bake = resolve_bake(project, bake_name)
    current = {t.full_id: t for t in rows.list_tasks(store, bake.bake_id, 1)}
    start = int(len(ids) * 0.35) + step * 20
    changed = []
    started = ""
    for fid in ids[start:start + 20]:
        t = current[fid]
        if t.status == "pending" and not started:
            started = fid
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
    return time.time() * 1000, started


@contextmanager
def profiling(cdp: Any, out: Path | None, label: str) -> Any:
    """Record the page's main thread as a CPU profile while the block runs (``out``: None,
    nothing is recorded)."""
    if out is None:
        yield
        return
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 250})
    cdp.send("Profiler.start")
    try:
        yield
    finally:
        profile = cdp.send("Profiler.stop")["profile"]
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{label}.cpuprofile").write_text(json.dumps(profile))


def measure(page: Any, cdp: Any, url: str, notebook: str, name: str, project: Any,
            ids: list[str], updates: int, expand: bool, profile: Path | None,
            label: str, shots: Path | None = None) -> dict[str, Any]:
    from lab_browser import open_notebook

    result: dict[str, Any] = {"load_before": load()}
    open_notebook(page, url, notebook)
    page.locator(".jp-Notebook .jp-Cell").first.click()
    with profiling(cdp, profile, f"{label}-first-paint"):
        started = page.evaluate("() => performance.now()")
        page.keyboard.press("Shift+Enter")
        view = page.locator(".nj-graph-view")
        view.locator("xpath=self::*[@data-layout='ready']").wait_for(timeout=300_000)
        page.wait_for_function("() => window.__nj.paints.some(p => p[2] > 0)", timeout=300_000)
    m = page.evaluate("() => window.__nj")
    first = next(p for p in m["paints"] if p[2] > 0)
    printed = page.locator(".jp-OutputArea-output pre", has_text="kernel ").first.inner_text()
    result.update(first_paint_ms=first[1] - started,
                  kernel_ms=float(printed.split()[1]), nodes=first[2],
                  layout_ms=float(view.get_attribute("data-layout-millis") or "nan"))
    page.wait_for_timeout(1500)  # the first REST answer replaces the kernel's snapshot
    screenshot(page, shots, f"{label}-first")
    t0 = page.evaluate("() => performance.now()")
    page.evaluate("""() => { window.__nj.serverTimer = setInterval(async () => {
        const t = performance.now(); await fetch('/api/status', {cache: 'no-store'});
        window.__nj.server.push(performance.now() - t); }, 200); }""")
    client: list[float] = []
    end_to_end: list[float] = []
    with profiling(cdp, profile, f"{label}-updates"):
        for step in range(updates):
            wrote, target = write_updates(name, project, ids, step)
            try:  # the view polls: wait for the paint that shows a task of the update running
                page.wait_for_function(PAINTED, arg=[target, len(page.evaluate(
                    "() => window.__nj.paints"))], timeout=60_000)
            except Exception as error:  # reported; the run goes on
                print(f"  update {step}: {target} not seen running on the screen within 60 s "
                      f"({error.__class__.__name__})", flush=True)
                continue
            timing = page.evaluate(UPDATE_TIMING, page.evaluate("() => performance.now()"))
            if timing["responseEnd"] is not None:
                client.append(timing["paintEnd"] - timing["responseEnd"])
            end_to_end.append(timing["origin"] + timing["paintEnd"] - wrote)
            page.wait_for_timeout(500)
    m = page.evaluate("() => { clearInterval(window.__nj.serverTimer); return window.__nj; }")
    after = [lt for lt in m["longtasks"] if lt[0] >= first[1]]
    result.update(
        updates_seen=f"{len(end_to_end)}/{updates}",
        update_client_ms=statistics.median(client) if client else float("nan"),
        update_client_max_ms=max(client) if client else float("nan"),
        update_e2e_ms=statistics.median(end_to_end) if end_to_end else float("nan"),
        longtasks=len(after), longtasks_over_100=sum(1 for lt in after if lt[1] > 100),
        longest_ms=max((lt[1] for lt in after), default=0.0),
        ping_p95_ms=p95([p[1] for p in m["pings"] if p[0] >= t0]),
        server_p95_ms=p95(m["server"]),
    )
    if expand:
        with profiling(cdp, profile, f"{label}-expand"):
            before = page.evaluate("() => performance.now()")
            page.locator("button.nj-graph-expand-all").click()
            page.wait_for_function(
                f"() => document.querySelector('.nj-graph-view').dataset.nodes === '{len(ids)}'"
                " && window.__nj.paints.some(p => p[2] === " + str(len(ids)) + ")",
                timeout=600_000)
            page.wait_for_timeout(2000)  # the overview's picture and what follows
        screenshot(page, shots, f"{label}-expanded")
        m = page.evaluate("() => window.__nj")
        paint = next(p for p in m["paints"] if p[2] == len(ids) and p[0] >= before)
        during = [lt for lt in m["longtasks"] if lt[0] >= before]
        result.update(
            expand_ms=paint[1] - before,
            expand_layout_ms=float(view.get_attribute("data-layout-millis") or "nan"),
            expand_ping_p95_ms=p95([p[1] for p in m["pings"] if p[0] >= before]),
            expand_longest_ms=max((lt[1] for lt in during), default=0.0),
            expand_over_100=sum(1 for lt in during if lt[1] > 100),
        )
    result["load_after"] = load()
    return result


def screenshot(page: Any, shots: Path | None, label: str) -> None:
    """Keep a picture of the view (``shots``: None, none is kept)."""
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
        page.locator(".nj-graph-details").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{label}.png"))


def stop_kernels(url: str) -> None:
    """Shut down every kernel of the server (a case's kernel must not poll during the next)."""
    from lab_browser import TOKEN

    headers = {"Authorization": f"token {TOKEN}"}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/api/kernels",
                                                       headers=headers)) as answer:
        kernels = json.load(answer)
    for kernel in kernels:
        request = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}", method="DELETE",
                                         headers=headers)
        urllib.request.urlopen(request).close()


def cell(name: str, esm: Path | None) -> str:
    """The notebook cell that shows the bake's view (with another script if ``esm``), and
    prints how long the kernel took (imports, reading the store, sending the state)."""
    code = ("import time\n"
            "_started = time.perf_counter()\n"
            "from neuro_jupyter.core.project import find_project\n"
            "from neuro_jupyter.widgets.bake_view import BakeView\n")
    if esm is not None:
        css = esm.with_suffix(".css")
        code += ("from pathlib import Path\n"
                 "class BakeView(BakeView):\n"
                 f"    _esm = Path({str(esm)!r}).read_text()\n"
                 f"    _css = Path({str(css)!r}).read_text()\n")
    return code + (f"view = BakeView(find_project(), {name!r})\n"
                   "print(f'kernel {1000 * (time.perf_counter() - _started):.0f} ms')\n"
                   "view")


def fmt(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, float) and value >= 100 else (
        f"{value:.1f}" if isinstance(value, float) else str(value))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="matrix-1000,flat-1000,matrix-10000",
                        help="bakes as SHAPE-TASKS (flat-10000 is not a default: dagre needs "
                             "minutes and gigabytes for 10,000 ungrouped tasks)")
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--expand", action="store_true", help="also expand every group")
    parser.add_argument("--baseline", type=Path, help="another bake_view.js to compare with")
    parser.add_argument("--throttle", type=float, default=1.0,
                        help="slow the page's CPU this many times (1: off)")
    parser.add_argument("--profile", type=Path, help="write CPU profiles of each phase here")
    parser.add_argument("--screenshots", type=Path, help="keep pictures of the views here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nj-bench-graph-"))
    os.environ["NEURO_JUPYTER_HOME"] = str(work / "home")
    from lab_browser import chromium, running_lab, write_notebook

    from neuro_jupyter.core.project import open_project

    root = work / "project"
    (root / ".neuro").mkdir(parents=True)
    project = open_project(root)
    variants: list[tuple[str, Path | None]] = [("after", None)]
    if args.baseline is not None:
        variants.insert(0, ("before", args.baseline.resolve()))
    cases = [(case.split("-")[0], int(case.split("-")[1])) for case in args.cases.split(",")]
    made = {}
    for shape, size in cases:
        for variant, esm in variants:
            bake_name = f"{variant}-{shape}-{size}"  # a bake of its own: fresh statuses
            ids = make_bake(project, shape, size, bake_name)
            made[(shape, size, variant)] = (bake_name, ids)
            write_notebook(root / f"{bake_name}.ipynb", cell(bake_name, esm))
    warm_ids = make_bake(project, "matrix", 100, "warm-up")
    write_notebook(root / "warm-up.ipynb", cell("warm-up", None))
    print(f"load average at the start: {load()}; CPU throttling: "
          f"{'off' if args.throttle == 1 else f'{args.throttle:g}x'}", flush=True)
    rows = []
    with running_lab(work, root) as url, chromium() as browser:
        # a first view, not measured: the first case would pay for cold caches (Lab's
        # scripts, the kernel's imports from disk)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(INSTRUMENT)
        warm = context.new_page()
        measure(warm, None, url, "warm-up.ipynb", "warm-up", project, warm_ids, 0,
                False, None, "warm-up")
        context.close()
        stop_kernels(url)
        for shape, size in cases:
            for variant, _ in variants:
                name, ids = made[(shape, size, variant)]
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.add_init_script(INSTRUMENT)
                page = context.new_page()
                page.set_default_timeout(300_000)
                cdp = context.new_cdp_session(page)
                if args.throttle != 1:
                    cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.throttle})
                result = measure(page, cdp, url, f"{name}.ipynb", name, project, ids,
                                 args.updates, args.expand and shape == "matrix", args.profile,
                                 name, args.screenshots)
                rows.append((variant, shape, size, result))
                print(variant, shape, size, {k: fmt(v) for k, v in result.items()}, flush=True)
                context.close()
                stop_kernels(url)
    print()
    print("| build | bake | tasks | nodes drawn | first paint ms (in the kernel) | layout ms "
          "| update in the page ms median / max | store → screen ms | updates seen "
          "| long tasks after first paint (>100 ms) | longest ms | page ping p95 ms "
          "| server p95 ms | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for variant, shape, size, r in rows:
        print(f"| {variant} | {shape} | {size:,} | {r['nodes']:,} | {fmt(r['first_paint_ms'])} "
              f"({fmt(r['kernel_ms'])}) | {fmt(r['layout_ms'])} "
              f"| {fmt(r['update_client_ms'])} / {fmt(r['update_client_max_ms'])} "
              f"| {fmt(r['update_e2e_ms'])} | {r['updates_seen']} "
              f"| {r['longtasks']} ({r['longtasks_over_100']}) | {fmt(r['longest_ms'])} "
              f"| {fmt(r['ping_p95_ms'])} | {fmt(r['server_p95_ms'])} "
              f"| {r['load_before']} → {r['load_after']} |")
    if args.expand:
        print()
        print("| build | bake | tasks | expand all: click → painted ms | layout in the worker ms "
              "| page ping p95 ms meanwhile | long tasks > 100 ms | longest task ms |")
        print("|---|---|---|---|---|---|---|---|")
        for variant, shape, size, r in rows:
            if "expand_ms" in r:
                print(f"| {variant} | {shape} | {size:,} | {fmt(r['expand_ms'])} "
                      f"| {fmt(r['expand_layout_ms'])} | {fmt(r['expand_ping_p95_ms'])} "
                      f"| {r['expand_over_100']} | {fmt(r['expand_longest_ms'])} |")


if __name__ == "__main__":
    main()
