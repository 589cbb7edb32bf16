"""A stateful action through a real bake: main runs at the call, post runs last with the
state main saved (``::save-state``), as Neu.ro orders them."""

from __future__ import annotations

import time
from pathlib import Path

from neuro_jupyter.core.bake import inspect_bake, start_bake, task_log
from neuro_jupyter.core.project import open_project

FLOW = """\
kind: batch
tasks:
  - id: acquire
    action: ws:lock.yml
    args:
      name: db
  - id: work
    bash: echo working
"""
LOCK = """\
kind: stateful
inputs:
  name:
    descr: what to lock
main:
  bash: echo "::save-state name=token::tok-${{ inputs.name }}"
post:
  bash: echo "releasing ${{ state.token }}"
"""


def test_post_runs_last_with_the_saved_state(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "st.yml").write_text(FLOW)
    (root / "lock.yml").write_text(LOCK)
    project = open_project(root)
    bake = start_bake(project, "st")
    deadline = time.monotonic() + 60
    state = inspect_bake(project, bake)
    while not state.finished:
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
        state = inspect_bake(project, bake)
    assert state.attempt.result == "succeeded"
    order = sorted(state.tasks, key=lambda t: (t.started_at or 0, t.full_id))
    assert [t.full_id for t in order] == ["acquire", "work", "post-acquire"]
    assert task_log(project, bake, "post-acquire").strip() == "releasing tok-db"
