"""The wheel is a working install: prebuilt labextension and server extension, no Node needed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run a command; its stdout and stderr, without colour codes (fail with them shown)."""
    proc = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=900, check=False
    )
    output = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{' '.join(argv)} failed:\n{output[-4000:]}"
    return output


@pytest.mark.slow
def test_wheel_installs_enabled_extensions(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VIRTUAL_ENV"))}
    env.update(
        CI="true",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)], env, tmp_path)
    wheels = list(dist.glob("neuro_jupyter-*-py3-none-any.whl"))
    assert len(wheels) == 1
    names = subprocess.run(
        [sys.executable, "-m", "zipfile", "-l", str(wheels[0])],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "data/share/jupyter/labextensions/neuro-jupyter/install.json" in names
    assert "data/share/jupyter/labextensions/neuro-jupyter/static/style.js" in names
    assert "data/etc/jupyter/jupyter_server_config.d/neuro_jupyter.json" in names
    # the notebook jobs panel's front end, bundled from the labextension's sources
    assert "neuro_jupyter/widgets/static/jobs_panel.js" in names
    assert "neuro_jupyter/widgets/static/jobs_panel.css" in names

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], env, tmp_path)
    bin_dir = venv / "bin"
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    # jupyterlab provides `jupyter labextension`; it is not a dependency of the package itself
    run([str(bin_dir / "pip"), "install", "-q", str(wheels[0]), "jupyterlab>=4.2,<5"], env, tmp_path)

    labext = run([str(bin_dir / "jupyter"), "labextension", "list"], env, tmp_path)
    assert re.search(r"neuro-jupyter v\S+ enabled OK \(python, neuro-jupyter\)", labext), labext
    assert str(venv / "share" / "jupyter" / "labextensions") in labext

    server = run([str(bin_dir / "jupyter"), "server", "extension", "list"], env, tmp_path)
    assert re.search(r"^\s*neuro_jupyter enabled\s*$", server, re.M), server
    assert re.search(r"neuro_jupyter \S+ OK", server), server

    handlers = run(
        [str(bin_dir / "python"), "-c",
         "from neuro_jupyter.server.handlers import ROUTES; print(len(ROUTES))"],
        env, tmp_path,
    )
    assert int(handlers.strip()) >= 11

    # the bundled project template ships in the wheel, dotfiles included (engineer F)
    home = tmp_path / "nj-home"
    env["NEURO_JUPYTER_HOME"] = str(home)
    run([str(bin_dir / "neuro-jupyter"), "init", "--name", "Wheel Check", "--no-input",
         "--output-dir", str(tmp_path / "projects")], env, tmp_path)
    made = tmp_path / "projects" / "wheel-check"
    for entry in (".neuro/live.yml", ".neuro/training.yml", ".gitignore", ".neuro.toml",
                  "HELP.md", "modules/train.py", "notebooks/demo.ipynb",
                  "notebooks/report.ipynb", "data/.gitkeep"):
        assert (made / entry).is_file(), entry

    # nbrun works from the wheel's own dependencies: nbformat, nbclient and a kernel of the
    # venv's Python (ipykernel); the report notebook stops at its first cell without results
    report = subprocess.run(
        [str(bin_dir / "neuro-jupyter"), "nbrun", "notebooks/report.ipynb"], env=env, cwd=made,
        capture_output=True, text=True, timeout=300, check=False)
    assert report.returncode == 1, report.stdout + report.stderr
    assert "No training runs in" in report.stdout and "bake `training` first" in report.stdout
    assert (made / "results" / "report.ipynb").is_file()
