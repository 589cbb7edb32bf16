"""The bake benches' peers: run a DAG of shell commands with dask or with a minimal runner.

``python bench/dag_peers.py minimal|dask DAG.json`` runs every task of ``DAG.json``
(``{"tasks": {id: [needed ids]}, "cmd": "true", "shell": true, "parallel": 2}``) as
``subprocess.run(["bash", "-c", cmd])`` (with ``"shell": false``, the command's own words, as
a ``cmd:`` task runs), ``parallel`` at a time, and exits 0 when all succeeded. Both are whole
processes, like ``neuro-jupyter bake``:

- ``minimal``: ``graphlib`` + ``ThreadPoolExecutor(parallel)``, the least a Python runner does;
- ``dask``: dask's threaded scheduler with ``parallel`` workers, on a graph of
  ``dask.delayed`` calls (dask is not a dependency of neuro-jupyter: ``bake_cli.py`` runs this
  with a Python of its own that has it, see ``--dask-python``).

Only the standard library (and dask) here: this file runs under other Pythons.
"""

from __future__ import annotations

import concurrent.futures as cf
import graphlib
import json
import shlex
import subprocess
import sys
from typing import Any


def run_task(argv: list[str], *needed: Any) -> int:
    """One task; fails the run on a non-zero exit."""
    subprocess.run(argv, check=True)
    return 0


def command(cmd: str, shell: bool) -> list[str]:
    """``bash -c cmd`` for a ``bash:`` task, the words of ``cmd`` for a ``cmd:`` one."""
    return ["bash", "-c", cmd] if shell else shlex.split(cmd)


def run_minimal(tasks: dict[str, list[str]], cmd: list[str], parallel: int) -> None:
    """Start ready tasks on ``parallel`` threads, in topological order."""
    sorter = graphlib.TopologicalSorter(tasks)
    sorter.prepare()
    with cf.ThreadPoolExecutor(parallel) as pool:
        running: dict[cf.Future[int], str] = {}
        while sorter.is_active():
            for task in sorter.get_ready():
                running[pool.submit(run_task, cmd)] = task
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in done:
                future.result()
                sorter.done(running.pop(future))


def run_dask(tasks: dict[str, list[str]], cmd: list[str], parallel: int) -> None:
    """dask's threaded scheduler with ``parallel`` workers on the same graph."""
    import dask

    made: dict[str, Any] = {}
    for task in graphlib.TopologicalSorter(tasks).static_order():
        made[task] = dask.delayed(run_task, pure=False)(
            cmd, *(made[need] for need in tasks[task]), dask_key_name=task
        )
    dask.compute(*made.values(), scheduler="threads", num_workers=parallel)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("minimal", "dask"):
        print("usage: dag_peers.py minimal|dask DAG.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as file:
        dag = json.load(file)
    runner = run_minimal if argv[0] == "minimal" else run_dask
    runner(dag["tasks"], command(dag["cmd"], dag.get("shell", True)), int(dag["parallel"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
