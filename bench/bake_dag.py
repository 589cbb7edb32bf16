"""Bake overhead: DAGs of ``true`` tasks at parallelism 2, against make -j2 and a minimal runner.

Shapes: ``chain`` (each task needs the previous one), ``wide`` (independent tasks) and
``layered`` (layers of 10, each task needs the whole previous layer), at 100, 500 and 1000
tasks. For each, in the same invocation:

- neuro-jupyter: the whole bake through the core API, from ``start_bake`` (planning the YAML,
  recording the bake, starting the detached executor) to the attempt's final state in the store;
- ``make -j2`` on a Makefile with the same DAG (one ``true`` per target);
- a minimal Python runner: graphlib + ThreadPoolExecutor(2) + subprocess.run.

Run: ``.venv/bin/python bench/bake_dag.py [--sizes 100,500,1000] [--write-readme]``.

``--base DIR`` (a ``git worktree`` of another commit) adds that code's bake to every round,
interleaved: each code runs in a worker process of its own (its package first on
``PYTHONPATH``, its own state folder), which starts one bake after the other as this bench
always did (from its second bake on, executors come from its fork server).

Each bake starts a new executor process, which imports the package: like a ``pip install``
(which byte-compiles what it installs), the bench first writes the package's bytecode cache
when it is missing, e.g. under ``PYTHONDONTWRITEBYTECODE=1``, where every executor would
otherwise compile the package's modules again (``--no-compile`` measures that case).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import graphlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

SHAPES = ("chain", "wide", "layered")
LAYER = 10


def dag(shape: str, n: int) -> dict[str, list[str]]:
    """Task id -> the ids it needs."""
    ids = [f"t{i}" for i in range(n)]
    if shape == "chain":
        return {t: ([ids[i - 1]] if i else []) for i, t in enumerate(ids)}
    if shape == "wide":
        return {t: [] for t in ids}
    deps: dict[str, list[str]] = {}
    for i, t in enumerate(ids):
        layer = i // LAYER
        deps[t] = ids[(layer - 1) * LAYER: layer * LAYER] if layer else []
    return deps


def workflow(deps: dict[str, list[str]]) -> str:
    lines = ["kind: batch", "defaults:", "  max_parallel: 2", "tasks:"]
    for task, needs in deps.items():
        lines.append(f"  - id: {task}")
        lines.append(f"    needs: [{', '.join(needs)}]")
        lines.append("    cmd: 'true'")
    return "\n".join(lines) + "\n"


def makefile(deps: dict[str, list[str]]) -> str:
    lines = [".PHONY: all " + " ".join(deps), "all: " + " ".join(deps)]
    for task, needs in deps.items():
        lines.append(f"{task}: {' '.join(needs)}")
        lines.append("\t@true")
    return "\n".join(lines) + "\n"


def run_make(folder: Path, deps: dict[str, list[str]]) -> float:
    (folder / "Makefile").write_text(makefile(deps))
    started = time.perf_counter()
    subprocess.run(["make", "-s", "-j2", "-C", str(folder), "all"], check=True)
    return time.perf_counter() - started


def run_python(deps: dict[str, list[str]]) -> float:
    """The minimal runner: start ready tasks on 2 threads, in topological order."""
    started = time.perf_counter()
    sorter = graphlib.TopologicalSorter(deps)
    sorter.prepare()
    with cf.ThreadPoolExecutor(2) as pool:
        running: dict[cf.Future[object], str] = {}
        while sorter.is_active():
            for task in sorter.get_ready():
                running[pool.submit(subprocess.run, ["true"], check=True)] = task
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in done:
                future.result()
                sorter.done(running.pop(future))
    return time.perf_counter() - started


def run_bake(folder: Path, deps: dict[str, list[str]]) -> tuple[float, float]:
    from neuro_jupyter.core.bake import start_bake
    from neuro_jupyter.core.project import open_project
    from neuro_jupyter.core.store import bakes as rows
    from neuro_jupyter.core.store import open_store

    neuro = folder / ".neuro"
    neuro.mkdir(parents=True, exist_ok=True)
    (neuro / "dag.yml").write_text(workflow(deps))
    project = open_project(folder)
    store = open_store()
    started = time.perf_counter()
    bake = start_bake(project, "dag")
    while True:
        row = store.query_one(
            "SELECT finished_at, result FROM attempts WHERE bake_id = ? AND number = 1",
            (bake.bake_id,),
        )
        if row is not None and row[0] is not None:
            elapsed = time.perf_counter() - started
            break
        time.sleep(0.005)  # the end is seen within 5 ms
    tasks = rows.list_tasks(store, bake.bake_id, 1)
    assert len(tasks) == len(deps) and all(t.status == "succeeded" for t in tasks), row[1]
    # the executor's steady state: first task started → last task finished
    span = max(t.finished_at or 0.0 for t in tasks) - min(t.started_at or 0.0 for t in tasks)
    return elapsed, span


def compile_package(base: str | None = None) -> None:
    """Write the package's bytecode cache, as installing it does (a no-op when up to date)."""
    import compileall

    import neuro_jupyter

    compileall.compile_dir(str(Path(neuro_jupyter.__file__).parent), quiet=1)
    if base:
        compileall.compile_dir(str(Path(base) / "neuro_jupyter"), quiet=1)


class Worker:
    """``run_bake`` in a process of its own, on the code in ``base`` (None: this checkout)."""

    def __init__(self, base: str | None, home: Path) -> None:
        env = {**os.environ, "NEURO_JUPYTER_HOME": str(home)}
        if base:
            env["PYTHONPATH"] = base + (os.pathsep + env["PYTHONPATH"]
                                        if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=env, cwd=str(Path(__file__).parent),
        )

    def bake(self, folder: Path, deps: dict[str, list[str]]) -> tuple[float, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"folder": str(folder), "deps": deps}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("a bench worker died")
        whole, span = json.loads(line)
        return float(whole), float(span)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def worker() -> int:
    """Serve ``Worker.bake`` requests on stdin until it ends."""
    for line in sys.stdin:
        request = json.loads(line)
        result = run_bake(Path(request["folder"]), request["deps"])
        print(json.dumps(result), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,1000")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each method, interleaved; the best is reported")
    parser.add_argument("--write-readme", action="store_true",
                        help="replace the results table in bench/README.md")
    parser.add_argument("--no-compile", action="store_true",
                        help="do not write the package's bytecode cache first")
    parser.add_argument("--base", default=None,
                        help="another checkout whose bakes run interleaved with these")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker()
    if not args.no_compile:
        compile_package(args.base)
    if shutil.which("make") is None:
        print("make is not installed", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="nj-bench-home-"))
    os.environ["NEURO_JUPYTER_HOME"] = str(home)  # a fresh store: no cache hits, no history
    workers = {"nj": Worker(None, home / "this")}
    if args.base:
        workers["base"] = Worker(str(Path(args.base).resolve()), home / "base")
    try:
        rows_out = []
        header: tuple[str, ...] = ("shape", "tasks", "neuro-jupyter s", "of which tasks s",
                                   "make -j2 s", "python s", "÷ make", "÷ python")
        if args.base:
            header += ("base s", "base: of which tasks s", "÷ base (median of rounds)")
        print("  ".join(f"{h:>16}" for h in header))
        for shape in args.shapes.split(","):
            for n in (int(x) for x in args.sizes.split(",")):
                deps = dag(shape, n)
                times: dict[str, list[float]] = {
                    "nj": [], "span": [], "make": [], "py": [], "base": [], "base_span": []}
                for _ in range(args.repeat):  # interleaved, so load changes hit every method
                    with tempfile.TemporaryDirectory(prefix=f"nj-bench-{shape}-{n}-") as tmp:
                        folder = Path(tmp)
                        for name, work in workers.items():
                            whole, span = work.bake(folder / name, deps)
                            times[name].append(whole)
                            times["span" if name == "nj" else "base_span"].append(span)
                        times["make"].append(run_make(folder, deps))
                        times["py"].append(run_python(deps))
                nj, mk, py = min(times["nj"]), min(times["make"]), min(times["py"])
                span = times["span"][times["nj"].index(nj)]
                row: tuple[str, ...] = (shape, str(n), f"{nj:.2f}", f"{span:.2f}", f"{mk:.2f}",
                                        f"{py:.2f}", f"{nj / mk:.2f}", f"{nj / py:.2f}")
                if args.base:
                    base = min(times["base"])
                    ratios = sorted(a / b for a, b in zip(times["nj"], times["base"], strict=True))
                    row += (f"{base:.2f}", f"{times['base_span'][times['base'].index(base)]:.2f}",
                            f"{ratios[len(ratios) // 2]:.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f})")
                rows_out.append(row)
                print("  ".join(f"{c:>16}" for c in row), flush=True)
    finally:
        for work in workers.values():
            work.close()
        shutil.rmtree(home, ignore_errors=True)
    if args.write_readme:
        write_readme(header, rows_out, args.repeat)
    return 0


def write_readme(header: Sequence[str], rows_out: Sequence[Sequence[str]], repeat: int) -> None:
    readme = Path(__file__).with_name("README.md")
    text = readme.read_text() if readme.exists() else ""
    start, end = "<!-- bake_dag:start -->", "<!-- bake_dag:end -->"
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(row) + " |" for row in rows_out]
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    block = (f"{start}\nMeasured {stamp} on {os.cpu_count()} cores (shared with other work), "
             f"best of {repeat} interleaved runs each, seconds:\n\n") + "\n".join(table) + f"\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    readme.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
