"""Instructions the bake executor runs for one bake, counted by callgrind: a figure that a
loaded machine does not move (wall times on this shared 2-core machine move by ±30 % and
more), for comparing two versions of the executor's hot path.

The bake (a DAG of ``true`` tasks, as in ``bake_dag.py``) is recorded through the core API,
then its executor runs under ``valgrind --tool=callgrind`` (``python -m
neuro_jupyter.core.bake.executor BAKE 1``, planning from the recorded snapshot). The tasks
run natively (callgrind follows forks, not execs); each process of the executor (its keeper
and the executor itself) writes its own count. Needs valgrind.

Run: ``.venv/bin/python bench/bake_executor_instructions.py [--tasks 1000] [--shape chain]``;
compare two trees by running it with ``PYTHONPATH`` pointing at the other one.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bake_dag import dag, workflow


def count(path: Path) -> int:
    """The total of instructions (Ir) in a callgrind output file."""
    text = path.read_text(errors="replace")
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    return int(found[1]) if found else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--shape", default="chain", choices=("chain", "wide", "layered"))
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        print("valgrind is needed (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="nj-bench-cg-") as tmp:
        work = Path(tmp)
        os.environ["NEURO_JUPYTER_HOME"] = str(work / "home")
        root = work / "proj"
        (root / ".neuro").mkdir(parents=True)
        (root / ".neuro" / "flow.yml").write_text(workflow(dag(args.shape, args.tasks)))

        from neuro_jupyter.core.project import open_project
        from neuro_jupyter.core.store import bakes, open_store
        from neuro_jupyter.core.store.projects import project_pk
        from neuro_jupyter.core.workflow import plan_batch

        project = open_project(root)
        plan = plan_batch(project, "flow")
        store = open_store()
        bake = bakes.create_bake(store, project_pk=project_pk(project, store), batch="flow",
                                 name=None, tags=(), params={}, config_files=plan.config_files)
        out = work / "cg"
        out.mkdir()
        started = time.monotonic()
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--trace-children=no",
             f"--callgrind-out-file={out}/callgrind.%p", sys.executable, "-m",
             "neuro_jupyter.core.bake.executor", bake.bake_id, "1"],
            cwd=root, capture_output=True, text=True,
        )
        seconds = time.monotonic() - started
        result = bakes.get_attempt(store, bake.bake_id, 1).result
        counts = sorted((count(path) for path in out.iterdir()), reverse=True)
        import neuro_jupyter

        print(f"tree: {Path(neuro_jupyter.__file__).parent.parent}")
        print(f"{args.shape} {args.tasks} tasks: attempt {result} (exit {done.returncode}), "
              f"{seconds:.0f} s under callgrind")
        print("instructions per process: " + ", ".join(f"{c:,}" for c in counts))
        print(f"total: {sum(counts):,}  per task: {sum(counts) // max(1, args.tasks):,}")
    return 0 if result == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
