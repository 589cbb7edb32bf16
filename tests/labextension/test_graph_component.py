"""The graph component's logic with node's test runner, each file bundled by the labextension's
esbuild: labextension/test/graph.test.ts (colours and contrast, status summaries, collapsing, graph.json
answers, the kernel's task changes, the ranker for big graphs)
and graph_view.test.ts (the view's parts: viewport, search, spatial grid, labels, collapsed
groups, selection, the scene)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

LABEXT = Path(__file__).resolve().parents[2] / "labextension"


@pytest.mark.parametrize(("name", "tests"), [("graph", 7), ("graph_view", 8)])
def test_graph_component_logic(tmp_path: Path, name: str, tests: int) -> None:
    esbuild = LABEXT / "node_modules" / ".bin" / "esbuild"
    node = shutil.which("node")
    if node is None or not esbuild.exists():
        pytest.fail("node and the labextension's node_modules are needed (pip install -e . makes them)")
    bundle = tmp_path / f"{name}.test.mjs"
    subprocess.run(
        [str(esbuild), str(LABEXT / "test" / f"{name}.test.ts"), "--bundle", "--platform=node",
         "--format=esm", f"--outfile={bundle}", "--log-level=error"],
        check=True, timeout=120,
    )
    run = subprocess.run([node, "--test", str(bundle)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and f"# pass {tests}" in run.stdout, run.stdout
