"""Integer and time settings have a meaningful range, checked in the file (``check``, every
load) and again once an expression gave the value; an out-of-range value is never replaced by
a default in silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuro_jupyter.core.errors import WorkflowError, WorkflowErrors
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.workflow import check_paths, plan_batch, resolve_live_job


def _project(tmp_path: Path, files: dict[str, str]) -> Project:
    root = tmp_path / "p"
    (root / ".neuro").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / ".neuro" / name).write_text(text)
    return Project(root=root, id="p", name="p")


BATCH = """\
kind: batch
defaults:
  max_parallel: {top}
  life_span: {life}
tasks:
  - id: a
    bash: echo
    strategy:
      max_parallel: {inner}
      matrix:
        x: [1]
    http_port: {port}
    schedule_timeout: {timeout}
    image: ubuntu
"""


@pytest.mark.parametrize(("values", "errors"), [
    (dict(top=0, life=-5, inner=-5, port=70000, timeout="99999999999999999999999d"), [
        ":3:17: defaults.max_parallel: expected 1 to 1,000,000, got 0",
        ":4:14: defaults.life_span: expected 0 to 3,153,600,000 seconds, got -5",
        ":9:21: tasks[0].strategy.max_parallel: expected 1 to 1,000,000, got -5",
        ":12:16: tasks[0].http_port: expected 1 to 65,535, got 70000",
        ":13:23: tasks[0].schedule_timeout: expected 0 to 3,153,600,000 seconds, got "
        "'99999999999999999999999d'"]),
    (dict(top="9" * 30, life=".nan", inner=1, port=0, timeout="1d"), [
        ":3:17: defaults.max_parallel: expected 1 to 1,000,000, got a number of 30 digits",
        ":4:14: defaults.life_span: expected a time, got nan",
        ":12:16: tasks[0].http_port: expected 1 to 65,535, got 0"]),
    (dict(top=1, life=0, inner=1_000_000, port=65535, timeout="100h"), []),
])
def test_out_of_range_settings_are_reported_where_they_are(
        tmp_path: Path, values: dict[str, object], errors: list[str]) -> None:
    project = _project(tmp_path, {"b.yml": BATCH.format(**values)})
    found = [str(e) for e in check_paths([project.root / ".neuro" / "b.yml"])]
    assert found == [".neuro/b.yml" + e for e in errors]
    if errors:
        with pytest.raises(WorkflowErrors):
            plan_batch(project, "b")


def test_values_from_expressions_are_checked_once_evaluated(tmp_path: Path) -> None:
    batch = BATCH.format(top="${{ 0 }}", life="1h", inner=2, port=80, timeout=0)
    project = _project(tmp_path, {"b.yml": batch})
    with pytest.raises(WorkflowError, match=r"^\.neuro/b\.yml:3:17: defaults\.max_parallel: "
                                            r"expected 1 to 1,000,000, got 0$"):
        plan_batch(project, "b")
    batch = BATCH.format(top=2, life="1h", inner="${{ 1 - 2 }}", port=80, timeout=0)
    project = _project(tmp_path, {"b.yml": batch})
    with pytest.raises(WorkflowError, match="strategy.max_parallel: expected 1 to 1,000,000, "
                                            "got -1"):
        plan_batch(project, "b")
    live = ("kind: live\njobs:\n"
            "  web:\n    bash: echo\n    http_port: ${{ 99999 }}\n"
            "  life:\n    bash: echo\n    life_span: ${{ -1 }}\n"
            "  fwd:\n    bash: echo\n    port_forward: ['2222:${{ 70000 }}']\n"
            "  uni:\n    bash: echo\n    port_forward: ['\u0661:22']\n")
    project = _project(tmp_path, {"live.yml": live})
    for job, message in (("web", "5:16: http_port: expected 1 to 65,535, got 99999"),
                         ("life", "8:16: life_span: expected 0 to 3,153,600,000 seconds, got -1"),
                         ("fwd", "port_forward: expected 1 to 65,535, got 70000"),
                         ("uni", "port_forward: '\u0661:22' is not LOCAL:REMOTE")):
        with pytest.raises(WorkflowError) as info:
            resolve_live_job(project, job)
        assert message in str(info.value)
