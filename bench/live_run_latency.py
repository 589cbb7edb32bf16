"""Live-job start latency: from ``run_job`` to the job's process running and recorded.

For each round, in the same invocation:

- neuro-jupyter: ``core.live.run_job`` on a ``cmd: sleep 30`` job (evaluating live.yml, choosing
  the local mapping, inserting the record, starting the supervisor, which starts the job and
  records it running); the time until the store shows ``running`` with the job's pid;
- the same, split: evaluation only (``resolve_live_job``) and supervisor start to "running";
- baseline: a bare ``subprocess.Popen(["sleep", "30"])`` (returns once the child has exec'd).

Run: ``.venv/bin/python bench/live_run_latency.py [--rounds 20]``. Jobs are killed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIVE = """\
kind: live
jobs:
  sleeper:
    image: ubuntu:22.04
    multi: true
    cmd: sleep 30
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="nj-bench-live-"))
    os.environ["NEURO_JUPYTER_HOME"] = str(workdir / "home")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(workdir / "rt")
    root = workdir / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "live.yml").write_text(LIVE)

    from neuro_jupyter.core.live import get_job, kill_job, run_job
    from neuro_jupyter.core.project import open_project
    from neuro_jupyter.core.workflow import resolve_live_job

    project = open_project(root)
    run_job(project, "sleeper", suffix="warmup")  # imports, store creation, presets file
    full, evaluate, bare = [], [], []
    for i in range(args.rounds):
        t0 = time.perf_counter()
        popen = subprocess.Popen(["sleep", "30"])
        bare.append(time.perf_counter() - t0)
        popen.kill()
        popen.wait()

        t0 = time.perf_counter()
        resolve_live_job(project, "sleeper", suffix=f"e{i}")
        evaluate.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        result = run_job(project, "sleeper", suffix=f"r{i}")
        while True:
            record = get_job(result.record.raw_id)
            if record.status == "running" and record.pid:
                break
            time.sleep(0.001)
        full.append(time.perf_counter() - t0)
    kill_job(project, "ALL", grace=2)

    def ms(values: list[float]) -> str:
        values = sorted(values)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        return f"median {statistics.median(values) * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms"

    print(f"rounds: {args.rounds}   python {sys.version.split()[0]}   cpus {os.cpu_count()}")
    print(f"run_job -> running+recorded  {ms(full)}")
    print(f"  of which live.yml eval     {ms(evaluate)}")
    print(f"bare subprocess.Popen        {ms(bare)}")
    print(f"ratio (median run / median Popen): {statistics.median(full) / statistics.median(bare):.0f}x")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
