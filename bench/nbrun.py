"""What ``neuro-jupyter nbrun`` adds to running code: a one-cell notebook against ``python -c``
of the same code, in the same invocation and interleaved.

For each round:

- **python -c**: a new Python running the cell's code (the baseline: what a task that runs a
  script pays);
- **nbrun**: ``neuro-jupyter nbrun`` on the notebook (a new Python for the command, reading and
  validating the notebook, starting an ipykernel kernel, running the cell, writing the executed
  copy, shutting the kernel down);
- **nbconvert --execute**: ``jupyter nbconvert --to notebook --execute`` on the same notebook,
  the usual way to do this, for reference.

The cell's code is ``print(sum(range(10**6)))``. Each command runs in a fresh folder outside any
project; ``nbrun``'s stages (start to first progress line, kernel start, the cell, writing and
shutting down) come from a separate traced round. Run:
``.venv/bin/python bench/nbrun.py [--rounds 10]``.
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

CODE = "print(sum(range(10**6)))"


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall time of a command that must succeed."""
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def stages(argv: list[str], cwd: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    """When each progress line of one nbrun appeared, from the start."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = [(line.strip()[:60], time.perf_counter() - t0) for line in proc.stdout]
    proc.wait()
    seen.append(("(exited)", time.perf_counter() - t0))
    return seen


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    work = Path(tempfile.mkdtemp(prefix="nj-bench-nbrun-"))
    nb = new_notebook(cells=[new_code_cell(CODE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    notebook = work / "one.ipynb"
    nbformat.write(nb, notebook)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NEURO_JUPYTER_", "VIRTUAL_ENV"))}
    env["NEURO_JUPYTER_HOME"] = str(work / "home")
    env["JUPYTER_RUNTIME_DIR"] = str(work / "runtime")
    bindir = Path(sys.executable).parent
    nbrun = [str(bindir / "neuro-jupyter"), "nbrun", str(notebook), "-o", str(work / "out.ipynb")]
    nbconvert = [str(bindir / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                 str(notebook), "--output", str(work / "converted.ipynb")]
    python = [sys.executable, "-c", CODE]
    commands = {"python -c": python, "nbrun": nbrun, "nbconvert --execute": nbconvert}
    for argv in commands.values():  # warm the file cache
        timed(argv, work, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, argv in commands.items():
            times[name].append(timed(argv, work, env))
    traced = stages(nbrun, work, env)
    shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(times["python -c"])
    print(f"rounds: {args.rounds} (interleaved)   python {sys.version.split()[0]}   "
          f"cpus {os.cpu_count()}   load {os.getloadavg()[0]:.2f}")
    print(f"{'command':22} {'median s':>9} {'min s':>7} {'max s':>7} {'added s':>8} {'÷ python -c':>12}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:22} {median:9.3f} {min(values):7.3f} {max(values):7.3f} "
              f"{median - base:8.3f} {median / base:12.1f}")
    print("\nnbrun, one traced round (seconds from the start):")
    for text, at in traced:
        print(f"  {at:6.3f}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
