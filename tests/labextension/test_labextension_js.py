"""The labextension's own JavaScript tests (``labextension/test/*.test.mjs``, Node's test
runner): the browser-side logic the sidebar and the notebook panel share, with a controlled
clock and server, which a browser test cannot time."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


def test_javascript_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: it builds the labextension and runs its tests")
    if not (LABEXTENSION / "node_modules" / "esbuild").is_dir():
        pytest.fail("labextension/node_modules is missing: build the labextension (jlpm install)")
    tests = sorted(str(p.relative_to(LABEXTENSION)) for p in (LABEXTENSION / "test").glob("*.test.mjs"))
    assert tests, "no JavaScript tests found"
    done = subprocess.run([node, "--test", *tests], cwd=LABEXTENSION, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
