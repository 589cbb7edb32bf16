"""Load + evaluate a batch flow of 1000 task entries (every 50th one a 4x4 matrix).

Measured in one invocation, each the median of ``--repeat`` runs:

- ``plan``: read, validate (keys, types, expression syntax and contexts), plan the graph
  (ids, default needs, matrix expansion, cycle check) with ``plan_batch``;
- ``evaluate``: ``task()`` for every node (argv, env, volumes, tags, caching key), with the
  needs' results, as a bake does over its run;
- ``check``: ``check_paths`` (static validation, as ``neuro-jupyter check``);
- baselines on the same file: ``yaml.safe_load`` (pure-Python PyYAML, what most tools use)
  and ``yaml.load(CSafeLoader)`` (libyaml).

Run: ``.venv/bin/python bench/workflow_load.py [--tasks 1000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

HEAD = """\
kind: batch
params:
  epochs: 3
defaults:
  env:
    SEED: "1"
  volumes:
    - storage:data:/data:ro
volumes:
  results:
    remote: storage:${{ flow.project_id }}/results
    mount: /results
images:
  py:
    ref: python:3.11
mixins:
  base:
    image: ${{ images.py.ref }}
    env:
      MIXED: "yes"
tasks:
"""

PLAIN = """\
  - id: t{i}
    mixins: [base]
    volumes:
      - ${{{{ volumes.results.ref_rw }}}}
    env:
      N: "{i}"{prev_env}
    bash: |
      echo "::set-output name=value::{i}"
      python train.py --epochs ${{{{ params.epochs }}}} --id {i}
"""

MATRIX = """\
  - id: m{i}_${{{{ matrix.ORDINAL }}}}
    strategy:
      matrix:
        lr: [0.1, 0.01, 0.001, 0.0001]
        bs: [16, 32, 64, 128]
    cmd: python sweep.py --lr ${{{{ matrix.lr }}}} --bs ${{{{ matrix.bs }}}} --n ${{{{ matrix.ORDINAL }}}}
"""


def make_flow(n: int) -> str:
    parts = [HEAD]
    for i in range(n):
        if i % 50 == 49:
            parts.append(MATRIX.format(i=i))
        else:
            prev_env = (f"\n      PREV: ${{{{ needs.t{i - 1}.outputs.value }}}}"
                        if i % 50 != 0 else "")
            parts.append(PLAIN.format(i=i, prev_env=prev_env))
    return "".join(parts)


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NEURO_JUPYTER_HOME"] = str(Path(tmp) / "home")
        from neuro_jupyter.core.project import Project
        from neuro_jupyter.core.workflow import check_paths, plan_batch
        from neuro_jupyter.core.workflow.expr import _EXPR_CACHE
        from neuro_jupyter.core.workflow.model import DepResult
        from neuro_jupyter.core.workflow.template import _TEMPLATE_CACHE

        root = Path(tmp) / "proj"
        (root / ".neuro").mkdir(parents=True)
        text = make_flow(args.tasks)
        path = root / ".neuro" / "big.yml"
        path.write_text(text)
        project = Project(root=root, id="bench", name="bench")

        def cold_caches() -> None:
            _EXPR_CACHE.clear()
            _TEMPLATE_CACHE.clear()

        def plan() -> object:
            cold_caches()
            return plan_batch(project, "big")

        plan_obj = plan_batch(project, "big")
        graph = plan_obj.root  # type: ignore[attr-defined]
        nodes = list(graph.nodes.values())
        results = {n.id: DepResult("succeeded", {"value": "1"}) for n in nodes}

        def evaluate() -> object:
            for node in nodes:
                graph.task(node.id, {k: results[k] for k in node.needs})
            return None

        def check() -> object:
            cold_caches()
            errors = check_paths([path])
            assert not errors, errors[:3]
            return errors

        def both() -> object:
            p = plan()
            g = p.root  # type: ignore[attr-defined]
            for node in g.nodes.values():
                g.task(node.id, {k: results[k] for k in node.needs})
            return None

        t_safe = median_time(lambda: yaml.safe_load(text), args.repeat)
        t_c = median_time(lambda: yaml.load(text, Loader=yaml.CSafeLoader), args.repeat)
        t_plan = median_time(plan, args.repeat)
        t_eval = median_time(evaluate, args.repeat)
        t_both = median_time(both, args.repeat)
        t_check = median_time(check, args.repeat)

    print(f"batch flow: {args.tasks} task entries -> {len(nodes)} nodes "
          f"({sum(1 for n in nodes if n.matrix)} matrix instances), {len(text) // 1024} KiB; "
          f"median of {args.repeat} runs, Python {sys.version.split()[0]}")
    rows = [
        ("yaml.safe_load (baseline)", t_safe),
        ("yaml.load CSafeLoader", t_c),
        ("plan_batch (load+validate+plan)", t_plan),
        ("task() for every node", t_eval),
        ("plan + evaluate every node", t_both),
        ("check_paths (static check)", t_check),
    ]
    for name, t in rows:
        print(f"  {name:34s} {t * 1000:8.1f} ms   {t / t_safe:5.2f}x safe_load")
    return 0


if __name__ == "__main__":
    sys.exit(main())
