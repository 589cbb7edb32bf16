"""The graph component's logic (colours and contrast, status summaries, collapsing) with node's
test runner: labextension/test/graph.test.ts, bundled by the labextension's esbuild."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

LABEXT = Path(__file__).resolve().parents[2] / "labextension"


def test_graph_component_logic(tmp_path: Path) -> None:
    esbuild = LABEXT / "node_modules" / ".bin" / "esbuild"
    node = shutil.which("node")
    if node is None or not esbuild.exists():
        pytest.fail("node and the labextension's node_modules are needed (pip install -e . makes them)")
    bundle = tmp_path / "graph.test.mjs"
    subprocess.run(
        [str(esbuild), str(LABEXT / "test" / "graph.test.ts"), "--bundle", "--platform=node",
         "--format=esm", f"--outfile={bundle}", "--log-level=error"],
        check=True, timeout=120,
    )
    run = subprocess.run([node, "--test", str(bundle)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 5" in run.stdout, run.stdout
