"""How much time ``%load_ext neuro_jupyter`` adds to a running IPython shell.

Each run is a fresh Python process that starts an IPython shell, then times ``%load_ext`` of a
trivial extension (the baseline: what any ``%load_ext`` costs) and of ``neuro_jupyter``. The
figure is the median over the runs of (neuro_jupyter − baseline), with the ratio of the medians.

    .venv/bin/python bench/load_ext.py [--runs 15] [--importtime]

``--importtime`` also prints the heaviest modules imported by ``%load_ext neuro_jupyter``
(from ``python -X importtime``), to find what to make lazy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "nj_bench_trivial_ext")  # warm the extension machinery once
t0 = time.perf_counter()
shell.run_line_magic("load_ext", "nj_bench_trivial_ext2")
t1 = time.perf_counter()
shell.run_line_magic("load_ext", "neuro_jupyter")
t2 = time.perf_counter()
assert "neuro_init" in shell.magics_manager.magics["line"], "magics not registered"
print(json.dumps({"baseline": t1 - t0, "neuro_jupyter": t2 - t1,
                  "heavy": sorted(m for m in ("nbformat", "ray", "graphviz", "cookiecutter",
                                              "jinja2", "tornado", "ipywidgets", "yaml")
                                  if m in sys.modules)}))
"""

TRIVIAL = "def load_ipython_extension(ipython):\n    pass\n"


def one_run(ext_dir: Path) -> dict[str, object]:
    env_path = str(ext_dir)
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True,
        env={**_env(), "PYTHONPATH": env_path},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.setdefault("NEURO_JUPYTER_HOME", tempfile.mkdtemp(prefix="nj-bench-home-"))
    return env


def importtime(ext_dir: Path, top: int = 15) -> list[tuple[int, str]]:
    """The slowest imports (cumulative µs) done by %load_ext neuro_jupyter after a shell starts."""
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "import sys; sys.stderr.write('--- load_ext ---\\n')\n"
        "shell.run_line_magic('load_ext', 'neuro_jupyter')\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
        check=True, env={**_env(), "PYTHONPATH": str(ext_dir)},
    )
    after = done.stderr.split("--- load_ext ---", 1)[-1]
    rows = []
    for line in after.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            if cumulative.isdigit():
                rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ext_dir = Path(tmp)
        (ext_dir / "nj_bench_trivial_ext.py").write_text(TRIVIAL)
        (ext_dir / "nj_bench_trivial_ext2.py").write_text(TRIVIAL)
        runs = [one_run(ext_dir) for _ in range(args.runs)]
        base = statistics.median(float(r["baseline"]) for r in runs)  # type: ignore[arg-type]
        ours = statistics.median(float(r["neuro_jupyter"]) for r in runs)  # type: ignore[arg-type]
        added = statistics.median(
            float(r["neuro_jupyter"]) - float(r["baseline"]) for r in runs  # type: ignore[arg-type]
        )
        print(f"%load_ext, median of {args.runs} fresh shells:")
        print(f"  trivial extension (baseline): {base * 1000:8.2f} ms")
        print(f"  neuro_jupyter:                {ours * 1000:8.2f} ms")
        print(f"  added by neuro_jupyter:       {added * 1000:8.2f} ms  (target < 100 ms; "
              f"{ours / base:.0f}x the baseline)")
        heavy = runs[-1]["heavy"]
        print(f"  heavy modules loaded: {', '.join(heavy) if heavy else 'none'}")  # type: ignore[arg-type]
        if args.importtime:
            print("slowest imports during %load_ext neuro_jupyter (cumulative):")
            for micros, name in importtime(ext_dir):
                print(f"  {micros / 1000:8.1f} ms  {name}")


if __name__ == "__main__":
    main()
