"""Where a bake task's time goes: an attempt run in this process (the executor's own code,
``executor.execute``), each part's CPU per task, and how many tasks run at each moment.

The DAG is ``bake_cli.py``'s (``--shape random2``: layers of 10, each task needs 2 random tasks
of the layer before; ``bash: true`` or ``cmd: true``; ``max_parallel: 2``; cache off). Printed
for each run:

- the scheduling thread's CPU per task, split by part (each part's ``time.thread_time``
  without the parts it calls that are listed too): the task's evaluation in the workflow
  language, its mapping to a process (paths, env), starting it, recording its start and end,
  the store writes (``put_tasks``: batched every 50 ms), waiting, ...;
- the launcher threads' CPU per task (``launcher.py``: the spawn, following the output and
  the exit);
- from the first spawn to the last exit, how long 0, 1 and 2 tasks ran (a task runs from its
  spawn call to its exit, as its launcher thread sees them): time with one task running while
  two may is a slot waiting for the scheduler;
- the same attempt's wall time against the minimal runner (``dag_peers.run_minimal``: graphlib
  + 2 threads + ``subprocess.run``) in this process, interleaved, and both processes' CPU.

The wrappers cost a little themselves (≈1 µs a call); the parts are for comparing, the totals
come from the unwrapped runs. Run: ``.venv/bin/python bench/bake_profile.py [--tasks 1000]
[--kind bash] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bake_cli
import dag_peers

PARTS: dict[str, tuple[str, str]] = {  # label → (module path, attribute)
    "evaluate (workflow)": ("neuro_jupyter.core.workflow.batch:Level", "task"),
    "map to a process": ("neuro_jupyter.core.backends.local:LocalBackend", "process_spec"),
    "start (caller's thread)": ("neuro_jupyter.core.backends.local:LocalBackend", "start"),
    "successor handed over": ("neuro_jupyter.core.backends.local:LocalBackend", "start_after"),
    "prepare ahead (rest)": ("neuro_jupyter.core.bake.runner:BakeRunner", "_prepare_ahead"),
    "assign successors (rest)": ("neuro_jupyter.core.bake.runner:BakeRunner",
                                 "_assign_successors"),
    "schedule (rest)": ("neuro_jupyter.core.bake.runner:BakeRunner", "_schedule"),
    "record start": ("neuro_jupyter.core.bake.runner:BakeRunner", "_started"),
    "reap and record end": ("neuro_jupyter.core.bake.runner:BakeRunner", "_reap"),
    "store writes": ("neuro_jupyter.core.store.bakes", "put_tasks"),
    "flush (rest)": ("neuro_jupyter.core.bake.runner:BakeRunner", "_flush"),
    "wait: epoll": ("neuro_jupyter.core.bake.runner:Readable", "select"),
    "wait (rest)": ("neuro_jupyter.core.bake.runner:BakeRunner", "_wait"),
    "log lines": ("neuro_jupyter.core.bake.executor", "_echo"),
}
LAUNCHER = {
    "spawn (libc posix_spawn)": ("neuro_jupyter.core.backends.local.spawn:LibcSpawn",
                                 "__call__"),
    "follow output and exit": ("neuro_jupyter.core.backends.local.launcher", "_follow"),
    "launcher task (rest)": ("neuro_jupyter.core.backends.local.launcher", "_run"),
}


class Meter:
    """Self CPU (``thread_time``) per wrapped function, per thread kind."""

    def __init__(self) -> None:
        self.cpu: collections.Counter[str] = collections.Counter()
        self.local = threading.local()
        self.lock = threading.Lock()

    def wrap(self, where: str, name: str, label: str) -> None:
        import importlib

        module_name, _, owner = where.partition(":")
        target: Any = importlib.import_module(module_name)
        if owner:
            target = getattr(target, owner)
        function = getattr(target, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            stack = self.local.__dict__.setdefault("stack", [])
            stack.append(0)
            started = time.thread_time_ns()
            try:
                return function(*args, **kwargs)
            finally:
                spent = time.thread_time_ns() - started
                inner = stack.pop()
                if stack:
                    stack[-1] += spent
                with self.lock:
                    self.cpu[label] += spent - inner

        setattr(target, name, wrapped)


class Concurrency:
    """When tasks run: spawn call → exit, as the launcher threads and the runner see them."""

    def __init__(self) -> None:
        self.events: list[tuple[float, int]] = []
        from neuro_jupyter.core.backends.local import child, launcher, spawn

        def around(owner: Any, name: str, before: int, after: int) -> None:
            function = getattr(owner, name)

            def wrapped(*args: Any, **kwargs: Any) -> Any:
                if before:
                    self.events.append((time.perf_counter(), before))
                result = function(*args, **kwargs)
                if after:
                    self.events.append((time.perf_counter(), after))
                return result

            setattr(owner, name, wrapped)

        around(spawn.LibcSpawn, "__call__", 1, 0)
        around(child, "_spawn", 1, 0)
        around(launcher.LaunchedChild, "_exit_info", -1, 0)
        around(child.ChildExecution, "_exit_info", -1, 0)

    def profile(self) -> dict[int, float]:
        """Seconds with 0, 1, 2 (or more) tasks running."""
        events = sorted(self.events)
        spent = {0: 0.0, 1: 0.0, 2: 0.0}
        running, last = 0, events[0][0] if events else 0.0
        for moment, change in events:
            spent[min(running, 2)] += moment - last
            last, running = moment, running + change
        return spent


def run_attempt(project: Any, batch: str) -> tuple[float, float]:
    """One attempt in this process: (wall seconds, process CPU seconds)."""
    from neuro_jupyter.core.bake import executor
    from neuro_jupyter.core.store import bakes as rows
    from neuro_jupyter.core.store import open_store
    from neuro_jupyter.core.store.projects import project_pk
    from neuro_jupyter.core.workflow import plan_batch

    store = open_store()
    plan = plan_batch(project, batch)
    bake = rows.create_bake(store, project_pk=project_pk(project, store), batch=batch,
                            name=None, tags=(), params={}, config_files=dict(plan.config_files))
    prepared = executor.Prepared(Path(project.root), plan, dict(plan.config_files))
    wall, cpu = time.perf_counter(), time.process_time()
    result, _ = executor.execute(bake.bake_id, 1, prepared)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    executor._LINES.clear()
    if result != "succeeded":
        raise SystemExit(f"the attempt {result}")
    return wall, cpu


def timed(call: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--kind", default="bash", choices=("bash", "cmd"))
    parser.add_argument("--shape", default="random2")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nj-bench-profile-"))
    os.environ["NEURO_JUPYTER_HOME"] = str(folder / "home")
    deps = bake_cli.dag(args.shape, args.tasks)
    bake_cli.make_project(folder / "project", deps, args.kind)
    os.chdir(folder / "project")
    from neuro_jupyter.core.project import open_project

    project = open_project(folder / "project")
    command = dag_peers.command("true", args.kind == "bash")
    n = args.tasks
    plain: dict[str, list[tuple[float, float]]] = {"bake": [], "minimal": []}
    for _ in range(args.runs):  # unwrapped, interleaved with the minimal runner
        plain["bake"].append(run_attempt(project, "dag"))
        plain["minimal"].append(timed(lambda: dag_peers.run_minimal(deps, command, 2)))
    print(f"{args.shape} {n} {args.kind}: true, max_parallel 2, {args.runs} interleaved runs,"
          f" load {os.getloadavg()[0]:.1f}")
    for name, values in plain.items():
        print(f"  {name:8s} wall {statistics.median(v[0] for v in values):.2f} s"
              f" ({min(v[0] for v in values):.2f}–{max(v[0] for v in values):.2f}),"
              f" process CPU {statistics.median(v[1] for v in values) / n * 1e6:.0f} µs per task")
    concurrency = Concurrency()  # light hooks: a run of its own, before the parts' wrappers
    wall, cpu = run_attempt(project, "dag")
    spent = concurrency.profile()
    print(f"  a run with spawns and exits timed: wall {wall:.2f} s; tasks running, seconds: "
          + ", ".join(f"{k}{'+' if k == 2 else ''}: {v:.2f}" for k, v in spent.items()))
    meter = Meter()
    for label, (where, name) in {**PARTS, **LAUNCHER}.items():
        meter.wrap(where, name, label)
    wall, cpu = run_attempt(project, "dag")
    print(f"  a run with its parts timed: wall {wall:.2f} s, process CPU {cpu / n * 1e6:.0f} µs"
          " per task")
    for title, labels in (("scheduling thread", PARTS), ("launcher threads", LAUNCHER)):
        total = sum(meter.cpu[label] for label in labels) / n / 1000
        print(f"  {title}, µs of CPU per task ({total:.0f} in all):")
        for label in labels:
            print(f"    {label:28s} {meter.cpu[label] / n / 1000:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
