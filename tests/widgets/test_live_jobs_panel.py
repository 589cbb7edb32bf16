"""The jobs panel refreshes itself through the asyncio event loop while it has a view."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuro_jupyter.core.live import job_status, run_job
from neuro_jupyter.core.project import Project, open_project
from neuro_jupyter.widgets.jobs_panel import JobsPanel


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    (tmp_path / "rt").mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "rt"))
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "live.yml").write_text(
        "kind: live\njobs:\n  sleeper:\n    image: x\n    cmd: sleep 60\n"
    )
    yield open_project(root)
    from neuro_jupyter.core.backends.local.supervision import kill_record
    from neuro_jupyter.core.store.jobs import active_jobs

    for record in active_jobs():
        kill_record(record, grace=1)


def test_refreshes_while_shown_and_stops_when_closed(project: Project) -> None:
    async def scenario() -> tuple[str, str, str]:
        panel = JobsPanel(project, interval=0.05)
        before = panel.rows[0].status
        run_job(project, "sleeper")  # started elsewhere (another kernel, the CLI)
        await asyncio.sleep(0.3)
        hidden = panel.rows[0].status  # no view yet: no refresh
        panel._view_count = 1
        for _ in range(100):
            await asyncio.sleep(0.05)
            if panel.rows[0].status == "running":
                break
        shown = panel.rows[0].status
        panel.close()
        assert panel._handle is not None and panel._handle.cancelled()
        return before, hidden, shown

    assert asyncio.run(scenario()) == ("unknown", "unknown", "running")
    assert job_status(project, "sleeper").status == "running"
