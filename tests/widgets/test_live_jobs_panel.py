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


def test_refreshes_inside_a_real_kernel(project: Project) -> None:
    """In an ipykernel, the refresh runs on the kernel's event loop between cells."""
    import time

    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")

    def run(code: str) -> str:
        msg_id = kc.execute(code)
        out = []
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            if msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)

    try:
        assert run(
            "from neuro_jupyter.widgets.jobs_panel import JobsPanel\n"
            "from neuro_jupyter.core.project import open_project\n"
            f"panel = JobsPanel(open_project({str(project.root)!r}), interval=0.1)\n"
            "panel._view_count = 1\n"
            "print(panel.rows[0].status)\n"
        ) == "unknown\n"
        run_job(project, "sleeper")  # from outside the kernel
        deadline = time.monotonic() + 30
        while "running" not in run("print(panel.rows[0].status)"):
            assert time.monotonic() < deadline, "the panel never refreshed"
            time.sleep(0.2)
        run("panel.close()")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_closed_event_loop_leaves_a_static_panel(project: Project) -> None:
    """With the thread's event loop closed (a script after asyncio.run), the panel still shows
    the jobs and warns when live.yml does not load, instead of raising."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.close()
    try:
        run_job(project, "sleeper")
        live = project.root / ".neuro" / "live.yml"
        live.write_text(live.read_text() + "  bad:\n    comand: x\n")
        panel = JobsPanel(project)
        try:
            assert [(r.job_id, r.status) for r in panel.rows] == [("sleeper", "running")]
            assert "comand" in panel.message.value
        finally:
            panel.close()
    finally:
        asyncio.set_event_loop(asyncio.new_event_loop())
