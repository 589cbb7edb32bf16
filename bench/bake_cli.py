"""Bakes as users run them: ``neuro-jupyter bake`` as a whole process and ``%bake`` in a live
kernel, against dask and a minimal runner on the same DAG, interleaved in one invocation.

The DAG (``--shape random2``, the default): layers of 10 tasks, each task needing 2 random
tasks of the layer before (seeded), ``max_parallel: 2``, cache off (``strategy: none``), every
task ``bash: true`` (``--kinds bash``) or ``cmd: true`` (``--kinds cmd``). Runners, each a
whole process timed from its start to its end (a kernel's from the cell's request to the
attempt's end in the store, seen within 5 ms):

- ``cli``: ``neuro-jupyter bake dag`` in the project folder, following the bake to its end;
- ``kernel-cold``: ``%bake dag`` in a new ipykernel kernel (its first bake: the executor is
  started with ``python -m``, no fork server yet); the kernel's start and ``%load_ext`` are
  not timed;
- ``kernel-warm``: ``%bake dag`` in one kernel kept for the whole invocation, after two bakes
  that start its fork server;
- ``dask``: ``bench/dag_peers.py dask``: dask's threaded scheduler, 2 workers, each task
  ``subprocess.run(["bash", "-c", cmd])``, in a Python of its own that has dask (made once
  with ``python -m venv`` + ``pip install dask`` under ``~/.cache``, or ``--dask-python``):
  dask is not a dependency of neuro-jupyter;
- ``minimal``: ``bench/dag_peers.py minimal``: graphlib + 2 threads + the same call.

``--base DIR`` adds ``cli@base`` (and ``kernel-warm@base``), the same runners on the code in
DIR (a ``git worktree`` of another commit, put first on ``PYTHONPATH``): A/B in one
invocation, so the machine's load hits both.

Each round runs every runner once, in a rotating order; ``--runs`` rounds. Printed: per
runner, the median and the spread (min–max) of the wall times, the median of its per-round
ratios to ``dask`` and to ``minimal`` (each ratio taken within one round) and their spread;
for the bake runners the phases read from the store (start → first task, the tasks, last
task → attempt's end → process end); CPU of the whole process tree (the bench is a child
subreaper, so an executor that outlives its CLI is reaped here); the load average at each
round. Run:

``.venv/bin/python bench/bake_cli.py [--tasks 1000] [--kinds bash,cmd] [--runs 5]
[--runners cli,kernel-warm,kernel-cold,dask,minimal] [--base /tmp/i18-base] [--write-readme]``
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LAYER = 10
PARALLEL = 2
DASK_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "neuro-jupyter-bench" / "dask"
RUNNERS = ("cli", "kernel-warm", "kernel-cold", "dask", "minimal")
PR_SET_CHILD_SUBREAPER = 36


# --- the DAG ---------------------------------------------------------------------------------

def dag(shape: str, n: int, seed: int = 18) -> dict[str, list[str]]:
    """Task id → the ids it needs. ``random2``: layers of 10, each task needs 2 random tasks
    of the layer before; ``layered``: the whole layer before; ``wide``: nothing; ``chain``:
    the task before."""
    rng = random.Random(seed)
    ids = [f"t{i}" for i in range(n)]
    deps: dict[str, list[str]] = {}
    for i, task in enumerate(ids):
        layer = i // LAYER
        before = ids[(layer - 1) * LAYER: layer * LAYER] if layer else []
        if shape == "random2":
            deps[task] = sorted(rng.sample(before, 2)) if before else []
        elif shape == "layered":
            deps[task] = before
        elif shape == "wide":
            deps[task] = []
        elif shape == "chain":
            deps[task] = [ids[i - 1]] if i else []
        else:
            raise SystemExit(f"unknown shape {shape!r}")
    return deps


def workflow(deps: dict[str, list[str]], kind: str, cmd: str = "true",
             parallel: int = PARALLEL) -> str:
    """The batch workflow of the DAG: ``kind: 'cmd'`` per task, cache off."""
    lines = ["kind: batch", "defaults:", f"  max_parallel: {parallel}", "  cache:",
             "    strategy: none", "tasks:"]
    for task, needs in deps.items():
        lines += [f"  - id: {task}", f"    needs: [{', '.join(needs)}]", f"    {kind}: '{cmd}'"]
    return "\n".join(lines) + "\n"


def make_project(folder: Path, deps: dict[str, list[str]], kind: str, cmd: str = "true",
                 parallel: int = PARALLEL) -> None:
    """A project folder with ``.neuro/dag.yml`` and ``dag.json`` (the peers' input)."""
    (folder / ".neuro").mkdir(parents=True, exist_ok=True)
    (folder / ".neuro" / "dag.yml").write_text(workflow(deps, kind, cmd, parallel))
    (folder / "dag.json").write_text(json.dumps({"tasks": deps, "cmd": cmd, "shell": kind == "bash",
                                                  "parallel": parallel}))


# --- processes -------------------------------------------------------------------------------

def become_subreaper() -> None:
    """Orphans of our children (an executor that outlives its CLI) are reparented to us."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def cpu_of(usage: Any) -> float:
    return float(usage.ru_utime + usage.ru_stime)


def run_tree(argv: Sequence[str], cwd: Path, env: dict[str, str],
             keep: set[int] | None = None) -> tuple[float, float]:
    """Run a command to its end; (wall seconds, CPU seconds of its whole tree). Orphans it
    left (reparented to this subreaper) are waited for and counted, except ``keep`` pids."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return wall, cpu_of(usage) + reap_orphans(keep or set())


def reap_orphans(keep: set[int], timeout: float = 30.0) -> float:
    """Wait for our children other than ``keep`` (orphans reparented to us); their CPU."""
    cpu = 0.0
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return cpu
        if info is None:
            if not _children(keep):
                return cpu
            time.sleep(0.005)
            continue
        if info.si_pid in keep:
            return cpu  # a kernel ended: not ours to reap here
        _, _, usage = os.wait4(info.si_pid, 0)
        cpu += cpu_of(usage)
    return cpu


def _children(keep: set[int]) -> list[int]:
    """Our live children other than ``keep``."""
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in keep:
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me:
            found.append(int(entry.name))
    return found


# --- the bake's own phases -------------------------------------------------------------------

@dataclass
class Phases:
    """From the store: start → attempt created → first task → last task → attempt end."""

    to_attempt: float
    to_first: float
    tasks: float
    to_end: float


def phases(home: Path, started_at: float) -> Phases:
    """The phases of the newest bake in the store at ``home`` (``started_at``: time.time())."""
    db = sqlite3.connect(home / "state.db")
    try:
        bake_id, = db.execute("SELECT bake_id FROM bakes ORDER BY created_at DESC LIMIT 1").fetchone()
        created, finished = db.execute(
            "SELECT created_at, finished_at FROM attempts WHERE bake_id = ? AND number = 1",
            (bake_id,)).fetchone()
        first, last, bad = db.execute(
            "SELECT MIN(started_at), MAX(finished_at), SUM(status != 'succeeded') FROM tasks"
            " WHERE bake_id = ? AND attempt = 1", (bake_id,)).fetchone()
    finally:
        db.close()
    if bad:
        raise SystemExit(f"bake {bake_id}: {bad} tasks did not succeed")
    return Phases(created - started_at, first - created, last - first, finished - last)


def attempt_end(home: Path, after: float, timeout: float = 600.0) -> float:
    """Wait for a bake created after ``after`` (time.time()) to end; its end as time.time()."""
    end = time.monotonic() + timeout
    db = sqlite3.connect(home / "state.db", timeout=30)
    try:
        while time.monotonic() < end:
            row = db.execute(
                "SELECT a.finished_at FROM bakes b JOIN attempts a ON a.bake_id = b.bake_id"
                " WHERE b.created_at > ? ORDER BY b.created_at DESC LIMIT 1", (after,)).fetchone()
            if row is not None and row[0] is not None:
                return float(row[0])
            time.sleep(0.005)
    finally:
        db.close()
    raise SystemExit("the bake did not end in time")


# --- runners ---------------------------------------------------------------------------------

@dataclass
class Result:
    wall: float
    cpu: float | None = None
    phases: Phases | None = None
    load: float = 0.0


@dataclass
class Context:
    project: Path
    home: Path
    env: dict[str, str]
    dask_python: str
    kernels: dict[str, Any] = field(default_factory=dict)


def home_of(base: str | None, ctx: Context) -> Path:
    """The state folder of the code under test, or of ``base`` (whose store schema may be
    older: each has its own)."""
    return ctx.home.with_name("home-base") if base else ctx.home


def env_for(base: str | None, ctx: Context) -> dict[str, str]:
    env = {**ctx.env, "NEURO_JUPYTER_HOME": str(home_of(base, ctx))}
    if base:
        env["PYTHONPATH"] = base + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_cli(ctx: Context, base: str | None = None) -> Result:
    script = Path(sys.executable).with_name("neuro-jupyter")
    started = time.time()
    wall, cpu = run_tree([str(script), "bake", "dag"], ctx.project, env_for(base, ctx),
                         keep=_kernel_pids(ctx))
    return Result(wall, cpu, phases(home_of(base, ctx), started))


def run_peer(ctx: Context, which: str) -> Result:
    python = ctx.dask_python if which == "dask" else sys.executable
    wall, cpu = run_tree([python, str(HERE / "dag_peers.py"), which, str(ctx.project / "dag.json")],
                         ctx.project, ctx.env, keep=_kernel_pids(ctx))
    return Result(wall, cpu)


class Kernel:
    """An ipykernel kernel in the project folder with neuro_jupyter loaded."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(
            kernel_name="python3", env=env, cwd=str(cwd), stderr=subprocess.DEVNULL)
        self.run("%load_ext neuro_jupyter")

    @property
    def pid(self) -> int:
        return int(self.manager.provisioner.pid)

    def run(self, code: str) -> None:
        reply = self.client.execute_interactive(code, timeout=600, output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            raise SystemExit(f"{code!r} failed in the kernel: {reply['content']}")

    def bake(self, home: Path) -> tuple[float, float]:
        """``%bake dag``; (wall from the request to the attempt's end, time.time() at start)."""
        started_at = time.time()
        self.run("%bake dag")
        return attempt_end(home, started_at - 1e-3) - started_at, started_at

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def _kernel_pids(ctx: Context) -> set[int]:
    return {kernel.pid for kernel in ctx.kernels.values()}


def run_kernel(ctx: Context, warm: bool, base: str | None = None) -> Result:
    key = f"warm@{base}" if warm else "cold"
    kernel = ctx.kernels.get(key) if warm else None
    if kernel is None:
        kernel = Kernel(env_for(base, ctx), ctx.project)
        ctx.kernels[key] = kernel
        if warm:
            for _ in range(2):  # the second bake starts the fork server, the third uses it
                kernel.bake(home_of(base, ctx))
            time.sleep(1.0)  # the server has imported what executors need
    try:
        wall, started_at = kernel.bake(home_of(base, ctx))
        return Result(wall, None, phases(home_of(base, ctx), started_at))
    finally:
        if not warm:
            ctx.kernels.pop(key).close()


def runners(names: Sequence[str], base: str | None) -> dict[str, Callable[[Context], Result]]:
    table: dict[str, Callable[[Context], Result]] = {
        "cli": run_cli,
        "kernel-warm": lambda ctx: run_kernel(ctx, warm=True),
        "kernel-cold": lambda ctx: run_kernel(ctx, warm=False),
        "dask": lambda ctx: run_peer(ctx, "dask"),
        "minimal": lambda ctx: run_peer(ctx, "minimal"),
    }
    chosen = {name: table[name] for name in names}
    if base:
        if "cli" in names:
            chosen["cli@base"] = lambda ctx: run_cli(ctx, base)
        if "kernel-warm" in names:
            chosen["kernel-warm@base"] = lambda ctx: run_kernel(ctx, warm=True, base=base)
    return chosen


# --- the peers' Python -----------------------------------------------------------------------

def dask_python(given: str | None) -> str:
    """A Python with dask: ``given``, else a venv made once for this bench."""
    if given:
        return given
    python = DASK_VENV / "bin" / "python"
    if not python.exists():
        print(f"making {DASK_VENV} with dask (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(DASK_VENV)], check=True)
    if subprocess.run([str(python), "-c", "import dask"], capture_output=True).returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "dask"], check=True)
    return str(python)


def compile_package(base: str | None) -> None:
    """Write the bytecode caches, as installing does (this machine may set
    PYTHONDONTWRITEBYTECODE, so every process would compile the package again)."""
    import compileall

    import neuro_jupyter

    for root in filter(None, (str(Path(neuro_jupyter.__file__).parent),
                              base and str(Path(base) / "neuro_jupyter"))):
        compileall.compile_dir(root, quiet=1)


# --- the report ------------------------------------------------------------------------------

def spread(values: Sequence[float], digits: int = 2) -> str:
    """``median (min–max)``."""
    return (f"{statistics.median(values):.{digits}f} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})")


def report(kind: str, n: int, results: dict[str, list[Result]]) -> list[list[str]]:
    """Rows of the table of one kind of task."""
    rows = []
    for name, runs in results.items():
        ratios: dict[str, list[float]] = {}
        for peer in ("dask", "minimal"):
            if peer in results and name != peer:
                ratios[peer] = [r.wall / p.wall for r, p in zip(runs, results[peer], strict=True)]
        cpu = [r.cpu for r in runs if r.cpu is not None]
        ph = [r.phases for r in runs if r.phases is not None]
        rows.append([
            kind, str(n), name, spread([r.wall for r in runs]),
            spread(ratios["dask"]) if "dask" in ratios else "",
            spread(ratios["minimal"]) if "minimal" in ratios else "",
            f"{statistics.median(cpu) / n * 1e3:.2f}" if cpu else "",
            (f"{statistics.median([p.to_attempt + p.to_first for p in ph]):.2f} / "
             f"{statistics.median([p.tasks for p in ph]):.2f} / "
             f"{statistics.median([p.to_end for p in ph]) * 1e3:.0f} ms") if ph else "",
            " ".join(f"{r.load:.1f}" for r in runs),
        ])
    return rows


HEADER = ["tasks", "n", "runner", "wall s, median (min–max)", "÷ dask", "÷ minimal",
          "CPU ms/task", "start→1st task / tasks / last→end", "load avg per run"]


def print_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_readme(text: str, runs: int) -> None:
    readme = HERE / "README.md"
    content = readme.read_text()
    start, end = "<!-- bake_cli:start -->", "<!-- bake_cli:end -->"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    block = (f"{start}\nMeasured {stamp} on {os.cpu_count()} cores (shared with other work), "
             f"{runs} interleaved rounds:\n\n{text}\n{end}")
    if start in content and end in content:
        content = content[: content.index(start)] + block + content[content.index(end) + len(end):]
    else:
        content += "\n" + block + "\n"
    readme.write_text(content)


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="nj-bench-cli-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--shape", default="random2", choices=("random2", "layered", "wide", "chain"))
    parser.add_argument("--kinds", default="bash,cmd")
    parser.add_argument("--runs", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--runners", default=",".join(RUNNERS))
    parser.add_argument("--base", default=None, help="another checkout to run as cli@base")
    parser.add_argument("--dask-python", default=None)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    names = [name for name in args.runners.split(",") if name]
    if args.base:
        args.base = str(Path(args.base).resolve())
    compile_package(args.base)
    become_subreaper()
    rows: list[list[str]] = []
    with workspace() as folder:
        ctx = Context(project=folder / "project", home=folder / "home", env={},
                      dask_python=dask_python(args.dask_python) if "dask" in names else "")
        ctx.env = {**os.environ, "NEURO_JUPYTER_HOME": str(ctx.home)}
        chosen = runners(names, args.base)
        try:
            for kind in args.kinds.split(","):
                make_project(ctx.project, dag(args.shape, args.tasks), kind)
                results: dict[str, list[Result]] = {name: [] for name in chosen}
                for round_ in range(args.runs):
                    order = list(chosen)
                    order = order[round_ % len(order):] + order[: round_ % len(order)]
                    for name in order:
                        result = chosen[name](ctx)
                        result.load = os.getloadavg()[0]
                        results[name].append(result)
                        print(f"{kind} round {round_ + 1} {name}: {result.wall:.2f} s"
                              f" (load {result.load:.1f})", flush=True)
                rows += report(kind, args.tasks, {n: results[n] for n in chosen})
        finally:
            for kernel in ctx.kernels.values():
                kernel.close()
    table = print_table(rows)
    print(table)
    if args.write_readme:
        write_readme(table, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
