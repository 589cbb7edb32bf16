"""Project environments: what an unchanged ``build`` costs, and what running in an environment
adds to a job's start.

In the same invocation, after one real build (from PyPI, through uv's cache):

- **no-op build**: ``request_builds(project, train)`` on the built image (reads the
  Dockerfile and requirements.txt, hashes them, finds the environment built, starts nothing),
  against uv's own no-op check of the same environment (``uv pip install -r ...`` when
  everything is installed), and the CLI (``neuro-jupyter build train``, a new Python process)
  against ``neuro-jupyter ps`` (the same start-up: Python, imports, the project's live.yml);
- **job start**: ``run_job`` → the job's process running and recorded, for a job whose image
  is the project image (its environment is looked up, ``VIRTUAL_ENV``/``PATH`` set) and for the
  same job with a registry image, interleaved round by round.

Run: ``.venv/bin/python bench/envs.py [--rounds 20]``; it needs PyPI for the first build.
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
images:
  train:
    ref: image:bench:v1
    context: ${{ flow.workspace }}/
    dockerfile: ${{ flow.workspace }}/Dockerfile
jobs:
  in_env:
    image: ${{ images.train.ref }}
    multi: true
    cmd: sleep 30
  plain:
    image: ubuntu:22.04
    multi: true
    cmd: sleep 30
"""
DOCKERFILE = "FROM python:3.11-slim\nCOPY requirements.txt /tmp/r.txt\nRUN pip install -r /tmp/r.txt\n"


def ms(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
    return f"median {statistics.median(values) * 1000:8.1f} ms   p90 {p90 * 1000:8.1f} ms"


def timed(func: object, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        func()  # type: ignore[operator]
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="nj-bench-envs-"))
    os.environ["NEURO_JUPYTER_HOME"] = str(workdir / "home")
    os.environ["NEURO_JUPYTER_ENVS"] = str(workdir / "envs")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(workdir / "rt")
    os.environ["JUPYTER_DATA_DIR"] = str(workdir / "jupyter")
    root = workdir / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "live.yml").write_text(LIVE)
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "requirements.txt").write_text("humanize\n")

    from neuro_jupyter.core.envs import BuildRequest, get_build, request_builds
    from neuro_jupyter.core.envs.installer import find_installer
    from neuro_jupyter.core.live import get_job, kill_job, run_job
    from neuro_jupyter.core.project import open_project

    project = open_project(root)
    t0 = time.perf_counter()
    [start] = request_builds(project, BuildRequest("train", kernel=False))
    assert start.build is not None
    while (record := get_build(start.build.build_id)).active:
        time.sleep(0.05)
    first = time.perf_counter() - t0
    assert record.status == "succeeded", record.reason
    env = Path(record.env_path)

    noop = timed(lambda: request_builds(project, BuildRequest("train", kernel=False)), args.rounds)
    installer = find_installer()
    reqs = env / ".neuro-jupyter" / "requirements.txt"
    uv_noop = timed(lambda: subprocess.run(
        installer.install(env, reqs, None, None, ("ipykernel",)), capture_output=True, check=True),
        max(3, args.rounds // 4))
    cli = [str(Path(sys.executable).parent / "neuro-jupyter"), "--project", str(root)]
    cli_build, cli_ps = [], []
    for _ in range(max(5, args.rounds // 2)):  # interleaved: the machine's load hits both
        cli_build += timed(lambda: subprocess.run([*cli, "build", "train", "--no-kernel"],
                                                  capture_output=True, check=True), 1)
        cli_ps += timed(lambda: subprocess.run([*cli, "ps"], capture_output=True, check=True), 1)

    def start_latency(job: str, suffix: str) -> float:
        t0 = time.perf_counter()
        result = run_job(project, job, suffix=suffix)
        while not ((r := get_job(result.record.raw_id)).status == "running" and r.pid):
            time.sleep(0.001)
        return time.perf_counter() - t0

    start_latency("in_env", "warm-1")
    start_latency("plain", "warm-2")
    with_env, without = [], []
    for i in range(args.rounds):  # interleaved: the machine's load hits both alike
        with_env.append(start_latency("in_env", f"e{i}"))
        without.append(start_latency("plain", f"p{i}"))
        if i % 5 == 4:
            kill_job(project, "ALL", grace=2)
    kill_job(project, "ALL", grace=2)

    print(f"rounds: {args.rounds}   python {sys.version.split()[0]}   cpus {os.cpu_count()}   "
          f"installer {installer.label}")
    print(f"first build (uv cache warm)         {first:8.2f} s")
    print(f"no-op build, in process             {ms(noop)}")
    print(f"  uv's own no-op install check      {ms(uv_noop)}")
    print(f"  ratio                             {statistics.median(noop) / statistics.median(uv_noop):.2f}x")
    print(f"neuro-jupyter build (no-op, CLI)    {ms(cli_build)}")
    print(f"  neuro-jupyter ps (CLI)            {ms(cli_ps)}")
    print(f"  ratio                             {statistics.median(cli_build) / statistics.median(cli_ps):.2f}x")
    print(f"job start, image's environment      {ms(with_env)}")
    print(f"job start, registry image           {ms(without)}")
    added = statistics.median(with_env) - statistics.median(without)
    print(f"  added by the environment          {added * 1000:+.1f} ms "
          f"({statistics.median(with_env) / statistics.median(without):.2f}x)")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
