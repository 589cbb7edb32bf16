"""The notebook jobs panel's kernel side: what it gives its browser side at first, and its
answers to the browser's requests (used when the server has no REST API), which must be the
REST API's JSON. The browser side itself is tested in tests/browser/test_browser_jobs.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_until

from neuro_jupyter.core.live import get_job, kill_job, run_job
from neuro_jupyter.core.project import Project, open_project
from neuro_jupyter.core.store.projects import project_pk
from neuro_jupyter.widgets import jobs_panel
from neuro_jupyter.widgets.jobs_panel import JobsPanel

LIVE_YML = """\
kind: live
title: Panel <b>tests</b>
jobs:
  sleeper:
    image: x
    title: Sleeps <i>long</i>
    cmd: sleep 60
  worker:
    image: x
    multi: true
    params:
      lr: "0.1"
      name: ~
    bash: echo "lr=${{ params.lr }} name=${{ params.name }} args=${{ multi.args }}"; sleep 60
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    (tmp_path / "rt").mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "rt"))
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "live.yml").write_text(LIVE_YML)
    project = open_project(root)
    yield project
    kill_job(project, "ALL", grace=1)


@pytest.fixture
def panel(project: Project) -> Iterator[JobsPanel]:
    widget = JobsPanel(project)
    yield widget
    widget.close()


def rows(panel: JobsPanel) -> dict[str, dict[str, Any]]:
    return {row["label"]: row for row in panel.handle({"op": "jobs"})["ok"]["jobs"]}


def test_first_paint_data(panel: JobsPanel, project: Project) -> None:
    assert panel.project_pk == project_pk(project)
    assert panel.project_name == "Panel <b>tests</b>"  # live.yml's title: the project's name
    assert panel.project_root == str(project.root)
    listed = {row["job_id"]: row for row in panel.snapshot["jobs"]}
    assert listed["sleeper"]["title"] == "Sleeps <i>long</i>"
    assert listed["worker"]["title"] == ""  # no title: views show the id, not "live.worker"
    assert listed["worker"]["multi"] is True
    assert listed["worker"]["params"] == {"lr": "0.1", "name": None}
    assert "sleeper" in repr(panel) and "JOB" in repr(panel)  # a front end without widgets


def test_multi_job_instances_with_suffix_params_and_args(panel: JobsPanel) -> None:
    first = panel.handle({"op": "start", "job_id": "worker", "params": {"name": "a"}})["ok"]
    assert first["status"] == "running" and len(first["suffix"]) == 10  # a random suffix
    second = panel.handle({
        "op": "start", "job_id": "worker", "suffix": "big-lr",
        "params": {"lr": "0.9", "name": "b"}, "args": ["--epochs", "2 3"],
    })["ok"]
    assert second["suffix"] == "big-lr" and second["label"] == "worker big-lr"
    listed = rows(panel)
    assert {f"worker {first['suffix']}", "worker big-lr"} <= set(listed)
    assert "worker" not in listed  # the never-run row is gone once an instance ran
    log = wait_until(lambda: panel.handle(
        {"op": "log", "raw_id": second["raw_id"], "offset": -1000, "limit": 1000})["ok"]["text"])
    assert log.strip() == "lr=0.9 name=b args=--epochs '2 3'"  # multi.args is shell-quoted
    missing = panel.handle({"op": "start", "job_id": "worker"})
    assert missing["status"] == 400 and "name" in missing["error"]


def test_errors_are_answers_not_exceptions(panel: JobsPanel, project: Project, tmp_path: Path) -> None:
    unknown = panel.handle({"op": "start", "job_id": "nope"})
    assert unknown["status"] == 404 and "sleeper, worker" in unknown["error"]
    bad = panel.handle({"op": "start", "job_id": "worker", "suffix": "../x"})
    assert bad["status"] == 400 and "Invalid suffix" in bad["error"]
    assert panel.handle({"op": "explode"})["status"] == 404
    # a run of another project is not this panel's to show
    other_root = tmp_path / "other"
    (other_root / ".neuro").mkdir(parents=True)
    (other_root / ".neuro" / "live.yml").write_text("kind: live\njobs:\n  quick:\n    cmd: 'true'\n")
    other = open_project(other_root)
    foreign = run_job(other, "quick", detach=True).record
    answer = panel.handle({"op": "job", "raw_id": foreign.raw_id})
    assert answer["status"] == 404 and "not of project" in answer["error"]


def test_requests_over_the_comm_get_answers_with_their_id(
    panel: JobsPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(panel, "send", lambda content, buffers=None: sent.append(content))
    panel._on_msg(panel, {"id": 7, "op": "start", "job_id": "sleeper"}, [])
    panel._on_msg(panel, {"no": "id"}, [])  # not a request of ours: ignored
    assert len(sent) == 1 and sent[0]["id"] == 7 and sent[0]["ok"]["job_id"] == "sleeper"
    panel._on_msg(panel, {"id": 8, "op": "kill", "job_id": "sleeper"}, [])
    assert sent[1]["id"] == 8 and sent[1]["ok"]["messages"][0].startswith("Stopping job sleeper")
    wait_until(lambda: not get_job(sent[0]["ok"]["raw_id"]).active)


def test_a_broken_live_yml_still_lists_the_runs(project: Project) -> None:
    run_job(project, "sleeper", detach=True)
    live = project.root / ".neuro" / "live.yml"
    live.write_text(live.read_text() + "  bad:\n    comand: x\n")
    panel = JobsPanel(project)
    try:
        assert [r["job_id"] for r in panel.snapshot["jobs"]] == ["sleeper"]
        assert "comand" in panel.snapshot["warning"]
    finally:
        panel.close()


def test_an_unbuilt_front_end_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the bundle (a checkout whose labextension was never built) the panel shows a
    message saying so, instead of failing at import."""
    monkeypatch.setattr(jobs_panel, "STATIC", tmp_path)
    assert jobs_panel._asset("jobs_panel.js", jobs_panel._MISSING) == jobs_panel._MISSING
    (tmp_path / "jobs_panel.js").write_text("export default {}")
    assert jobs_panel._asset("jobs_panel.js", jobs_panel._MISSING) == tmp_path / "jobs_panel.js"
