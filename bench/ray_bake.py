"""A 100-task bake on Ray against the same 100 entrypoints submitted straight through the Jobs API.

Both run on one Ray head this script starts on 127.0.0.1 (``tests/_support/ray_head.py``) and
stops at the end, interleaved in the same invocation:

- **neuro-jupyter**: ``start_bake`` of a batch of N independent ``true`` tasks with
  ``max_parallel: P`` and the ray backend, until the attempt's final state is in the store
  (planning, recording, the detached executor, one project upload, N submissions, polling,
  copying each task's log, the store writes);
- **Jobs API**: a minimal client, ``ThreadPoolExecutor(P)``; each thread submits
  ``true`` with the same uploaded working_dir and polls ``get_job_status`` every 0.25 s until
  it ends (the same parallelism: submitting all N at once would start N job supervisors).

Run: ``.venv/bin/python bench/ray_bake.py [--tasks 100] [--parallel 10] [--repeat 2]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "_support"))
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # loopback only (recipes.md)
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"


def workflow(n: int, parallel: int) -> str:
    lines = ["kind: batch", "defaults:", f"  max_parallel: {parallel}",
             "  cache:", "    strategy: none", "tasks:"]  # every run runs every task
    for i in range(n):
        lines += [f"  - id: t{i}", "    needs: []", "    cmd: 'true'"]  # independent tasks
    return "\n".join(lines) + "\n"


def run_bake(folder: Path, address: str) -> float:
    from neuro_jupyter.core.bake import start_bake
    from neuro_jupyter.core.project import open_project
    from neuro_jupyter.core.store import bakes as rows
    from neuro_jupyter.core.store import open_store

    project = open_project(folder)
    store = open_store()
    started = time.perf_counter()
    bake = start_bake(project, "many", backend="ray", ray_address=address)
    while True:
        attempt = rows.get_attempt(store, bake.bake_id, 1)
        if attempt.finished:
            elapsed = time.perf_counter() - started
            break
        time.sleep(0.05)
    tasks = rows.list_tasks(store, bake.bake_id, 1)
    bad = [t for t in tasks if t.status != "succeeded"]
    assert not bad, (attempt.result, attempt.reason, bad[:1])
    return elapsed


def run_direct(folder: Path, address: str, n: int, parallel: int) -> float:
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(address)
    env = {"working_dir": str(folder), "excludes": [".git"]}
    client._upload_working_dir_if_needed(env)  # once, as the bake does

    def one(_: int) -> str:
        job = client.submit_job(entrypoint="true", submission_id=f"direct-{uuid.uuid4()}",
                                runtime_env=dict(env))
        while True:
            status = str(client.get_job_status(job))
            if status.endswith(("SUCCEEDED", "FAILED", "STOPPED")):
                return status
            time.sleep(0.25)

    started = time.perf_counter()
    with cf.ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(one, range(n)))
    elapsed = time.perf_counter() - started
    assert all(r.endswith("SUCCEEDED") for r in results), results[:3]
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from ray_head import start_head

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the head (finally)

    os.environ["NEURO_JUPYTER_HOME"] = tempfile.mkdtemp(prefix="nj-bench-ray-home-")
    folder = Path(tempfile.mkdtemp(prefix="nj-bench-ray-"))
    (folder / ".neuro").mkdir()
    (folder / ".neuro" / "many.yml").write_text(workflow(args.tasks, args.parallel))
    head = start_head(num_cpus=4)
    try:
        print(f"Ray head {head.address}; {args.tasks} tasks of `true`, parallelism "
              f"{args.parallel}, {args.repeat} interleaved runs each", flush=True)
        direct, bake = [], []
        for _ in range(args.repeat):
            direct.append(run_direct(folder, head.address, args.tasks, args.parallel))
            print(f"  Jobs API      {direct[-1]:7.2f} s", flush=True)
            bake.append(run_bake(folder, head.address))
            print(f"  neuro-jupyter {bake[-1]:7.2f} s", flush=True)
    finally:
        head.stop()
    best_direct, best_bake = min(direct), min(bake)
    print(f"best: Jobs API {best_direct:.2f} s, neuro-jupyter {best_bake:.2f} s, "
          f"ratio {best_bake / best_direct:.2f}x (per task: {best_direct / args.tasks * 1000:.0f} "
          f"vs {best_bake / args.tasks * 1000:.0f} ms of wall time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
