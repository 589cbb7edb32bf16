"""``neuro-jupyter build``: neuro-flow's verb, building a project image's environment with the
installer's own output; unknown images and images without a context are clear errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from env_projects import env_project

from neuro_jupyter.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture
def project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEURO_JUPYTER_ENVS", str(tmp_path / "envs"))  # really built here
    return env_project(tmp_path / "proj", "humanize\n").root


def test_build_streams_the_installer_then_is_up_to_date(
    project_root: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--project", str(project_root), "build", "ALL", "--no-kernel"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Image train: building its environment (build-")  # not hub: no context
    assert "+ humanize==" in out and "Environment ready:" in out  # uv's own lines, then ours
    assert main(["--project", str(project_root), "build", "train", "--no-kernel"]) == 0
    assert "Image train: environment up to date" in capsys.readouterr().out


@pytest.mark.parametrize("image, code, words", [
    ("nope", 1, "Unknown image 'nope' in project proj. Valid images: hub, train"),
    ("hub", 2, "Image's context part is not set: image hub has no local environment"),
])
def test_bad_images_say_why(project_root: Path, capsys: pytest.CaptureFixture[str], image: str,
                            code: int, words: str) -> None:
    assert main(["--project", str(project_root), "build", image]) == code
    assert words in capsys.readouterr().err


def test_a_failing_requirement_fails_the_command(
    project_root: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    missing = f"neuro-jupyter-no-such-package-{uuid.uuid4().hex[:8]}"
    (project_root / "requirements.txt").write_text(f"{missing}\n")
    assert main(["--project", str(project_root), "build", "-F", "train", "--no-kernel"]) == 1
    captured = capsys.readouterr()
    assert missing in captured.out  # the installer's output
    assert captured.err.startswith("Error: building the environment of image train failed")
    assert missing in captured.err
