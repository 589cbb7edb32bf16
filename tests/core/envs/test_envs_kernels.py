"""A project environment as a Jupyter kernel: registered by build, listed by Jupyter, running
a notebook cell that imports from the environment, and following a rebuilt environment.
Kernels go to the session's JUPYTER_DATA_DIR (tests/conftest.py), never the user's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from env_projects import env_project, finished

from neuro_jupyter.core.envs import BuildRequest, request_builds
from neuro_jupyter.core.envs.kernels import kernel_spec
from neuro_jupyter.core.envs.registry import env_path

pytestmark = pytest.mark.slow


def kernelspecs() -> dict[str, dict[str, object]]:
    out = subprocess.run([sys.executable, "-m", "jupyter", "kernelspec", "list", "--json"],
                         capture_output=True, text=True, check=True, timeout=60)
    specs: dict[str, dict[str, object]] = json.loads(out.stdout)["kernelspecs"]
    return specs


def test_build_registers_a_kernel_that_runs_the_environment(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    assert "jupyter-data" in os.environ["JUPYTER_DATA_DIR"]  # the session's, not the user's
    project = env_project(tmp_path / "kernel-proj", "humanize\n")
    start = request_builds(project, BuildRequest("train"))[0]
    record = finished(start.build.build_id)
    assert record.status == "succeeded", record.reason
    specs = kernelspecs()
    assert "kernel-proj" in specs
    spec = specs["kernel-proj"]["spec"]
    assert spec["display_name"] == "Python (kernel-proj)"  # type: ignore[index]
    python = env_path(record.env_key) / "bin" / "python"
    assert spec["argv"][0] == str(python)  # type: ignore[index]
    assert str(specs["kernel-proj"]["resource_dir"]).startswith(os.environ["JUPYTER_DATA_DIR"])

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys, humanize\nprint(humanize.intcomma(1234567), sys.prefix)")])
    NotebookClient(notebook, kernel_name="kernel-proj", timeout=120).execute()
    text = notebook.cells[0].outputs[0]["text"]
    assert text.split() == ["1,234,567", str(env_path(record.env_key))]

    # unchanged, with its kernel: up to date at once
    assert request_builds(project, BuildRequest("train"))[0].up_to_date

    # changed requirements, built for a job (no kernel asked): our kernel follows the new env
    (project.root / "requirements.txt").write_text("humanize\ninflection\n")
    changed = request_builds(project, BuildRequest("train", kernel=False))[0]
    rebuilt = finished(changed.build.build_id)
    assert rebuilt.env_key != record.env_key
    assert kernel_spec("kernel-proj")["argv"][0] == str(env_path(rebuilt.env_key) / "bin" / "python")
    assert "Kernel kernel-proj (Python (kernel-proj)) now runs this environment" in Path(
        rebuilt.log_path).read_text()


def test_a_kernel_of_the_same_name_that_is_not_ours_is_never_taken_over(tmp_path: Path) -> None:
    """Two projects in folders of the same name (or the user's own kernel of that name): the
    second project's kernel gets a name of its own, and the first kernel is left alone."""
    from neuro_jupyter.core.envs.kernels import kernel_name, kernels_dir, mark

    first, second = tmp_path / "a" / "twin-proj", tmp_path / "b" / "twin-proj"
    assert kernel_name(first, "train", True) == "twin-proj"  # no such kernel yet
    folder = kernels_dir() / "twin-proj"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps(
        {"argv": ["/some/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "Python (twin-proj)", "language": "python"}))
    try:
        # the user's own kernel: neither project takes it
        taken = {kernel_name(first, "train", True), kernel_name(second, "train", True)}
        assert "twin-proj" not in taken and len(taken) == 2
        assert all(name.startswith("twin-proj-") for name in taken)
        # registered by us for the first project: its name for the first, not the second
        mark("twin-proj", first, "train")
        assert kernel_name(first, "train", True) == "twin-proj"
        assert kernel_name(second, "train", True) in taken  # the same name as before, stable
        assert kernel_name(first, "other", False) == "twin-proj-other"
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
