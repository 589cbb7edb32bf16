"""``%neuro_build`` through a real IPython shell: a live view of the recorded build, waited for
by default; errors are friendly."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from env_projects import env_project, finished, silent_index
from IPython.core.interactiveshell import InteractiveShell

from neuro_jupyter.core.envs import plan_image, start_build
from neuro_jupyter.widgets.build_view import BuildView

pytestmark = pytest.mark.slow


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    from neuro_jupyter.magics import envs as env_magics

    views: list[Any] = []
    monkeypatch.setattr(env_magics, "_display", views.append)
    return views


def test_neuro_build_shows_the_build_and_waits_for_it(
    ipython: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    shown: list[Any], capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NEURO_JUPYTER_ENVS", str(tmp_path / "envs"))
    root = env_project(tmp_path / "proj", "humanize\n").root
    ipython.run_line_magic("neuro_build", f"train --project {root} --no-kernel")
    out = capsys.readouterr().out
    assert out.startswith("Image train: building its environment (build-")
    assert "Image train: environment ready: " in out
    [view] = shown
    assert isinstance(view, BuildView) and view.build.status == "succeeded"
    assert view.bar.value == view.bar.max and view.bar.bar_style == "success"
    assert view.cancel.disabled and "humanize" in view.log_view.value and "succeeded" in view.header.value

    ipython.run_line_magic("neuro_build", f"train --project {root} --no-kernel")
    assert "environment up to date" in capsys.readouterr().out and len(shown) == 1

    ipython.run_line_magic("neuro_build", f"nope --project {root}")
    assert "Error: Unknown image 'nope'" in capsys.readouterr().err


def test_the_view_follows_a_build_from_the_event_loop_and_shows_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEURO_JUPYTER_ENVS", str(tmp_path / "envs"))
    missing = f"neuro-jupyter-no-such-package-{uuid.uuid4().hex[:8]}"
    project = env_project(tmp_path / "proj", f"{missing}\n")
    record, _ = start_build(plan_image(project, "train"))

    async def follow() -> BuildView:
        view = BuildView(record, interval=0.05)
        view.follow()
        while view.active:
            await asyncio.sleep(0.05)
        return view

    view = asyncio.run(follow())
    assert view.build.status == "failed" and view.bar.bar_style == "danger"
    assert missing in view.step.value and missing in view.log_view.value


def test_cancel_in_the_view_stops_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURO_JUPYTER_ENVS", str(tmp_path / "envs"))
    with silent_index() as index:
        project = env_project(tmp_path / "proj", f"--index-url {index}\nhumanize\n")
        record, _ = start_build(plan_image(project, "train"))
        view = BuildView(record)
        while view.build.phase != "installing":
            view.refresh()
        assert "installing the requirements" in view.step.value and not view.cancel.disabled
        view.cancel.click()
    assert finished(record.build_id).status == "cancelled"
    assert view.build.status == "cancelled" and view.cancel.disabled
