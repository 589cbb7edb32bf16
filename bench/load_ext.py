"""How much time ``%load_ext neuro_jupyter`` adds to a running IPython shell.

Each run is a fresh Python process that starts an IPython shell (timed: the second baseline),
then times ``%load_ext`` of a trivial extension (the baseline: what any ``%load_ext`` costs)
and of ``neuro_jupyter``. The figure is the median over the runs of (neuro_jupyter − trivial),
also given as a share of starting the shell itself.

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
t_start = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
t_shell = time.perf_counter() - t_start
shell.run_line_magic("load_ext", "nj_bench_trivial_ext")  # warm the extension machinery once
t0 = time.perf_counter()
shell.run_line_magic("load_ext", "nj_bench_trivial_ext2")
t1 = time.perf_counter()
shell.run_line_magic("load_ext", "neuro_jupyter")
t2 = time.perf_counter()
assert "neuro_init" in shell.magics_manager.magics["line"], "magics not registered"
print(json.dumps({"baseline": t1 - t0, "neuro_jupyter": t2 - t1, "shell": t_shell,
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


KERNEL_CODE = r"""
import json, time
ip = get_ipython()
t0 = time.perf_counter(); ip.run_line_magic("load_ext", "nj_bench_trivial_ext"); t1 = time.perf_counter()
ip.run_line_magic("load_ext", "neuro_jupyter"); t2 = time.perf_counter()
print(json.dumps({"baseline": t1 - t0, "neuro_jupyter": t2 - t1}))
"""


def kernel_run(ext_dir: Path) -> dict[str, float]:
    """The same two %load_ext timings inside a fresh ipykernel (what a notebook runs)."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(
        kernel_name="python3", env={**_env(), "PYTHONPATH": str(ext_dir)},
        stderr=subprocess.DEVNULL,
    )
    try:
        lines: list[str] = []
        client.execute_interactive(
            KERNEL_CODE, timeout=60,
            output_hook=lambda msg: lines.append(msg["content"].get("text", ""))
            if msg["msg_type"] == "stream" else None,
        )
        return json.loads("".join(lines).strip().splitlines()[-1])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


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
    parser.add_argument("--kernels", type=int, default=5, help="fresh ipykernels to time (0: none)")
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
        shell = statistics.median(float(r["shell"]) for r in runs)  # type: ignore[arg-type]
        print(f"%load_ext, median of {args.runs} fresh shells:")
        print(f"  starting the IPython shell:    {shell * 1000:8.2f} ms")
        print(f"  %load_ext trivial extension:   {base * 1000:8.2f} ms")
        print(f"  %load_ext neuro_jupyter:       {ours * 1000:8.2f} ms")
        print(f"  added by neuro_jupyter:        {added * 1000:8.2f} ms  (target < 100 ms; "
              f"{added / shell:.1%} of the shell's start)")
        if args.kernels:
            kernels = [kernel_run(ext_dir) for _ in range(args.kernels)]
            k_added = statistics.median(k["neuro_jupyter"] - k["baseline"] for k in kernels)
            print(f"  in a fresh ipykernel (median of {args.kernels}): added "
                  f"{k_added * 1000:.2f} ms")
        heavy = runs[-1]["heavy"]
        print(f"  heavy modules loaded: {', '.join(heavy) if heavy else 'none'}")  # type: ignore[arg-type]
        if args.importtime:
            print("slowest imports during %load_ext neuro_jupyter (cumulative):")
            for micros, name in importtime(ext_dir):
                print(f"  {micros / 1000:8.1f} ms  {name}")


if __name__ == "__main__":
    main()
