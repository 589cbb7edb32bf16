"""The example notebooks run top to bottom in a real kernel, with no cell error."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def execute(path: Path, workdir: Path, timeout: int = 240) -> Any:
    """Run a copy of ``path`` in ``workdir`` with this Python's kernel; return the notebook."""
    import nbformat
    from nbclient import NotebookClient

    copy = workdir / path.name
    if copy.resolve() != path.resolve():
        shutil.copy(path, copy)
    notebook = nbformat.read(copy, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", allow_errors=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()  # the kernel inherits NEURO_JUPYTER_HOME from the test's environment
    return notebook


def outputs_text(cell: Any) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


def all_text(notebook: Any) -> str:
    return "\n".join(outputs_text(cell) for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.slow
def test_tour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_cluster: str) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the tour's temporary workspace lands here
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster)  # the Ray section's cluster
    notebook = execute(REPO / "notebooks" / "tour.ipynb", tmp_path)
    text = all_text(notebook)

    assert "Created project neuro_tutorial in" in text
    assert "HELP.md" in text and "live.yml" in text and "train.py" in text
    assert "already exists and is not empty" in text
    errors = [line for cell in notebook.cells for output in cell.get("outputs", [])
              if output.get("name") == "stderr" for line in output["text"].splitlines()
              if line.startswith("Error:")]
    # friendly errors do not stop a notebook: only the tour's deliberate re-init may print one
    assert len(errors) == 1 and "already exists and is not empty" in errors[0], errors
    from neuro_jupyter.core.store.projects import list_projects

    roots = [record.root for record in list_projects()]  # the kernel wrote to the test's home
    tour = [root for root in roots if root.name == "neuro-tutorial"]
    assert len(tour) == 1 and tmp_path.resolve() in tour[0].parents
    assert str(tour[0]) in text
    # the environment section: built (with its kernel, in the session's JUPYTER_DATA_DIR),
    # then up to date; the jobs below run in it
    assert "Image train: environment ready: " in text
    assert "Image train: environment up to date" in text
    # the Live jobs section (engineer L): train ran to the end, two multitrain suffixes, kill ALL
    assert "Job train started: job-" in text and "::set-output name=accuracy::" in text
    assert "Job multitrain fast started" in text and "Job multitrain careful started" in text
    assert "Job tensorboard started" in text and "(not used locally)" in text
    assert "Killed job tensorboard" in text
    # the Bakes section: both bakes succeeded, the views are widgets, the magics printed
    assert "tour-training succeeded" in text and "tour-cell succeeded" in text
    assert "Task shout_2 succeeded\nhello notebook\nhello notebook" in text
    views = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) >= 4
    # a notebook as a bake task: the sample bake's report, then nbrun on its own
    assert "Task report succeeded\nExecuted notebook: results/bakes/" in text
    assert "outputs: {'best_run': 'lr-" in text
    plots = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
             if "image/svg+xml" in o.get("data", {})]
    assert len(plots) == 1 and "<polyline" in plots[0]["data"]["image/svg+xml"]
    assert "[nbrun] cell 4/12: injected parameters: metric = 'test/loss'" in text
    assert "[nbrun] ran 7 code cells in" in text
    # the Ray section: a multi job and a bake on the session's Ray head
    assert "Job multitrain on-ray started: job-" in text
    assert re.search(rf"Backend:\s+ray \({re.escape(ray_cluster)}\)", text)
    assert "tour-ray succeeded" in text and "3 squared is 9, on " in text


@pytest.mark.slow
def test_generated_demo_notebook_trains(tmp_path: Path) -> None:
    from neuro_jupyter.core.project.scaffold import init_project

    project = init_project("Demo", output_dir=tmp_path, no_input=True)
    notebooks = project.root / "notebooks"

    notebook = execute(notebooks / "demo.ipynb", notebooks)

    assert "'accuracy'" in all_text(notebook)
    metrics = json.loads((project.root / "results" / "notebook" / "metrics.json").read_text())
    assert metrics["epochs"] == 10


def test_notebooks_are_valid_json_without_outputs() -> None:
    """Example notebooks are committed clean (no outputs), so diffs stay readable."""
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["nbformat"] == 4, path
        for cell in data["cells"]:
            assert not cell.get("outputs"), f"{path.name}: a cell has outputs"
