"""The session-wide NEURO_JUPYTER_HOME (tests/conftest.py) is removed at the end of a session,
after the live jobs a module fixture left running in it are stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

INNER = '''
import json
import os
from pathlib import Path

import pytest
from waiting import wait_until

from neuro_jupyter.core import paths
from neuro_jupyter.core.live import get_job, run_job
from neuro_jupyter.core.project import open_project


@pytest.fixture(scope="module")
def left_running(tmp_path_factory):
    """A module fixture (so in the session home) that starts a job and never stops it."""
    root = tmp_path_factory.mktemp("p") / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "live.yml").write_text(
        "kind: live\\njobs:\\n  sleeper:\\n    image: ubuntu:22.04\\n    cmd: sleep 600\\n")
    raw_id = run_job(open_project(root), "sleeper").record.raw_id
    record = wait_until(lambda: (r := get_job(raw_id)).pid and r)
    return {"home": str(paths.home()), "pids": [record.pid, record.supervisor_pid]}


def test_leaves_a_job_running(left_running):
    assert Path(left_running["home"], "state.db").exists()
    Path(os.environ["NJ_REPORT"]).write_text(json.dumps(left_running))
'''


def _running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_the_session_home_is_removed_and_its_jobs_stopped(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER)
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if k != "NEURO_JUPYTER_HOME"}
    env.update(PYTHONPATH=str(TESTS), NJ_REPORT=str(report))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    seen = json.loads(report.read_text()) if report.exists() else None
    pids = [p for p in (seen or {}).get("pids", []) if p]
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert seen is not None and pids
        assert Path(seen["home"]).name.startswith("nj-session-home-")
        assert not Path(seen["home"]).exists()
        assert [p for p in pids if _running(p)] == []
    finally:
        for pid in pids:  # what a failing run left behind
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
