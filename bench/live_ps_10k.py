"""``ps`` with 10,000 finished jobs in the store: it pages, so it stays interactive.

Two shapes, each with 10,000 finished runs:

- ``history``: 10,000 runs of the same job (ps shows one row per job: the latest run);
- ``suffixes``: 10,000 runs of a multi job, each with its own suffix (10,000 ps rows).

For each: the first page (50 rows, as ``%neuro_ps``/``neuro-jupyter ps`` show it), a page deep
in the list, the same rendered to text and HTML, and, as the baseline, reading every row without
paging. Run: ``.venv/bin/python bench/live_ps_10k.py [--jobs 10000]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

LIVE = """\
kind: live
jobs:
  train:
    image: x
    cmd: "true"
  multitrain:
    image: x
    multi: true
    cmd: "true"
  jupyter:
    image: x
    cmd: "true"
"""


def timed(func: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="nj-bench-ps-"))
    os.environ["NEURO_JUPYTER_HOME"] = str(workdir / "home")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(workdir / "rt")

    from neuro_jupyter.core.live import list_jobs, ps_html, ps_page, ps_text
    from neuro_jupyter.core.project import open_project
    from neuro_jupyter.core.store import open_store
    from neuro_jupyter.core.store.projects import project_pk

    print(f"finished jobs per shape: {args.jobs}   python {sys.version.split()[0]}")
    for shape in ("history", "suffixes"):
        root = workdir / shape
        (root / ".neuro").mkdir(parents=True)
        (root / ".neuro" / "live.yml").write_text(LIVE)
        project = open_project(root)
        pk = project_pk(project)
        now = time.time()
        rows = []
        for i in range(args.jobs):
            job, suffix = ("train", "") if shape == "history" else ("multitrain", f"s{i:05d}")
            rows.append((f"job-{uuid.uuid4()}", pk, job, suffix, "succeeded", now - 3600 + i * 0.1,
                         now - 3600 + i * 0.1, now - 3500 + i * 0.1, "{}", "{}"))
        t0 = time.perf_counter()
        with open_store().tx() as conn:
            conn.executemany(
                "INSERT INTO jobs (raw_id, project_pk, job_id, suffix, status, created_at,"
                " started_at, finished_at, spec_json, meta_json) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        insert = time.perf_counter() - t0
        first = timed(partial(ps_page, project, limit=50))
        deep = timed(partial(ps_page, project, limit=50, offset=max(0, args.jobs - 100)))
        text = timed(lambda: ps_text(ps_page(project, limit=50).rows))  # noqa: B023
        html = timed(lambda: ps_html(ps_page(project, limit=50).rows))  # noqa: B023
        everything = timed(partial(list_jobs, project), repeat=3)
        total = ps_page(project, limit=1).total
        print(f"\n[{shape}] ps rows: {total}   bulk insert: {insert * 1000:.0f} ms")
        print(f"  first page (50 rows)         {first * 1000:8.1f} ms")
        print(f"  deep page (offset {max(0, args.jobs - 100):>5})      {deep * 1000:8.1f} ms")
        print(f"  first page -> text table     {text * 1000:8.1f} ms")
        print(f"  first page -> HTML table     {html * 1000:8.1f} ms")
        print(f"  baseline: every row unpaged  {everything * 1000:8.1f} ms"
              f"   ({everything / first:.0f}x the first page)")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
