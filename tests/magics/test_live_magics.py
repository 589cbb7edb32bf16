"""%neuro_run / %neuro_ps / %neuro_logs / %neuro_status / %neuro_kill / %neuro_panel in a real
IPython shell, and a fresh shell (a kernel restart) that still sees the running jobs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from waiting import wait_until

from neuro_jupyter.core.live import get_job, job_status
from neuro_jupyter.core.project import Project, open_project

LIVE_YML = """\
kind: live
jobs:
  hello:
    image: ubuntu:22.04
    bash: echo "hello <script>alert(1)</script>"
  noisy:
    image: ubuntu:22.04
    bash: |
      echo "<script>alert(2)</script>"
      sleep 60
  counter:
    image: ubuntu:22.04
    detach: true
    python: |
      import time
      for i in range(6):
          print("tick", i, flush=True)
          time.sleep(0.3)
  multi_job:
    image: ubuntu:22.04
    multi: true
    bash: echo "args=${{ multi.args }}"; sleep 60
"""


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No Jupyter server in sight; no job survives the test."""
    (tmp_path / "rt").mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "rt"))
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    yield
    from neuro_jupyter.core.backends.local.supervision import kill_record
    from neuro_jupyter.core.store.jobs import active_jobs

    for record in active_jobs():
        kill_record(record, grace=1)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "live.yml").write_text(LIVE_YML)
    return open_project(root)


def test_run_ps_logs_status(ipython: InteractiveShell, project: Project,
                            capsys: pytest.CaptureFixture[str]) -> None:
    where = f"--project {project.root}"
    view = ipython.run_line_magic("neuro_run", f"hello {where}")
    assert view is not None and "Job hello started" in repr(view)
    record = job_status(project, "hello")
    wait_until(lambda: not get_job(record.raw_id).active)
    ps = ipython.run_line_magic("neuro_ps", where)
    assert "limegreen" in ps._repr_html_() and record.raw_id in ps._repr_html_()
    assert repr(ps).splitlines()[0].split() == ["JOB", "STATUS", "RAW", "ID", "WHEN"]
    capsys.readouterr()
    ipython.run_line_magic("neuro_logs", f"hello {where}")
    assert capsys.readouterr().out == "hello <script>alert(1)</script>\n"
    status = ipython.run_line_magic("neuro_status", f"hello {where}")
    assert "succeeded" in repr(status) and "(not used locally)" in repr(status)
    ipython.run_line_magic("neuro_kill", f"hello {where}")
    assert "Job hello is not running" in capsys.readouterr().out


def test_current_project_is_the_working_folder(ipython: InteractiveShell, project: Project,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)
    ps = ipython.run_line_magic("neuro_ps", "")
    assert "multi_job" in repr(ps)


def test_errors_are_friendly(ipython: InteractiveShell, project: Project,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert ipython.run_line_magic("neuro_run", f"nope --project {project.root}") is None
    err = capsys.readouterr().err
    assert "Unknown job 'nope'" in err and "counter, hello, multi_job, noisy" in err


def test_run_on_a_ray_cluster_that_does_not_answer(
    ipython: InteractiveShell, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    from ray_head import free_port

    address = f"http://127.0.0.1:{free_port()}"
    line = f"hello --project {project.root} --backend ray --ray-address {address}"
    assert ipython.run_line_magic("neuro_run", line) is None
    err = capsys.readouterr().err
    assert f"Cannot reach the Ray cluster at {address}" in err and "Traceback" not in err


def test_reattach_escapes_job_output(ipython: InteractiveShell, project: Project) -> None:
    where = f"--project {project.root}"
    ipython.run_line_magic("neuro_run", f"noisy {where}")
    record = job_status(project, "noisy")
    wait_until(lambda: "alert" in Path(record.log_path).read_text())
    view = ipython.run_line_magic("neuro_run", f"noisy {where}")
    assert "is running, connecting" in repr(view)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in view._repr_html_()
    assert "<script>" not in view._repr_html_()


def test_multi_suffix_and_args(ipython: InteractiveShell, project: Project) -> None:
    where = f"--project {project.root}"
    ipython.run_line_magic("neuro_run", f"multi_job exp1 {where} -- --lr 0.5")
    ipython.run_line_magic("neuro_run", f"multi_job -s exp2 {where} -- --lr 0.7")
    one, two = job_status(project, "multi_job", "exp1"), job_status(project, "multi_job", "exp2")
    wait_until(lambda: "args=" in Path(two.log_path).read_text())
    assert "args=--lr 0.7" in Path(two.log_path).read_text()
    ps = repr(ipython.run_line_magic("neuro_ps", where))
    assert "multi_job exp1" in ps and "multi_job exp2" in ps
    ipython.run_line_magic("neuro_kill", f"multi_job exp1 {where}")
    assert get_job(one.raw_id).status == "cancelled" and get_job(two.raw_id).active


def test_logs_follow(ipython: InteractiveShell, project: Project,
                     capsys: pytest.CaptureFixture[str]) -> None:
    where = f"--project {project.root}"
    ipython.run_line_magic("neuro_run", f"counter {where}")
    capsys.readouterr()
    ipython.run_line_magic("neuro_logs", f"counter -f {where}")
    assert capsys.readouterr().out == "".join(f"tick {i}\n" for i in range(6))


FRESH_SHELL = textwrap.dedent("""
    import sys
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "neuro_jupyter")
    print(repr(shell.run_line_magic("neuro_ps", "--project " + sys.argv[1])))
    sys.stdout.flush()
    shell.run_line_magic("neuro_logs", "counter -f --project " + sys.argv[1])
""")


def test_a_new_kernel_sees_running_jobs(ipython: InteractiveShell, project: Project) -> None:
    where = f"--project {project.root}"
    ipython.run_line_magic("neuro_run", f"noisy {where}")
    ipython.run_line_magic("neuro_run", f"counter {where}")
    noisy = job_status(project, "noisy")
    out = subprocess.run([sys.executable, "-c", FRESH_SHELL, str(project.root)],
                         capture_output=True, text=True, timeout=60, env=os.environ)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("noisy") and "running" in line and noisy.raw_id in line
               for line in lines)
    assert out.stdout.rstrip().endswith("tick 5")  # -f streamed until the job ended
    assert get_job(noisy.raw_id).status == "running"


def test_panel_acts_through_its_requests(ipython: InteractiveShell, project: Project) -> None:
    """``%neuro_panel`` gives the jobs panel; its browser side's requests (what its buttons
    send when the server has no REST API) start, read and stop jobs like the REST API."""
    panel = ipython.run_line_magic("neuro_panel", f"--project {project.root}")
    try:
        assert panel.project_name == project.name and panel.base_url == ""
        rows = {row["label"]: row for row in panel.snapshot["jobs"]}
        assert set(rows) == {"counter", "hello", "multi_job", "noisy"}
        assert rows["noisy"]["status"] == "unknown" and rows["noisy"]["raw_id"] is None
        started = panel.handle({"op": "start", "job_id": "noisy"})["ok"]
        assert started["status"] == "running" and started["label"] == "noisy"
        again = panel.handle({"op": "start", "job_id": "noisy"})
        assert again["status"] == 409 and again["body"]["job"]["raw_id"] == started["raw_id"]
        wait_until(lambda: "alert" in panel.handle(
            {"op": "log", "raw_id": started["raw_id"], "offset": 0, "limit": 0})["ok"]["text"])
        listed = {r["label"]: r for r in panel.handle({"op": "jobs"})["ok"]["jobs"]}
        assert listed["noisy"]["status"] == "running"
        stopped = panel.handle({"op": "kill", "job_id": "noisy", "suffix": ""})["ok"]
        assert stopped["messages"] == [f"Stopping job noisy ({started['raw_id']})"]
        wait_until(lambda: not get_job(started["raw_id"]).active)
        assert panel.handle({"op": "job", "raw_id": started["raw_id"]})["ok"]["status"] == "cancelled"
    finally:
        panel.close()


def test_usage_error_names_only_the_missing_job(ipython: InteractiveShell) -> None:
    """``%neuro_run`` without a job says the job is missing, not the optional SUFFIX/ARGS."""
    from IPython.core.error import UsageError

    with pytest.raises(UsageError) as info:
        ipython.run_line_magic("neuro_run", "")
    assert "required: JOB_ID\n" in str(info.value)


def test_options_of_a_multi_job_need_no_dashes(ipython: InteractiveShell,
                                               project: Project) -> None:
    # As `neuro-flow run JOB [ARGS]...`: options the magic does not know go to multi.args.
    ipython.run_line_magic("neuro_run", f"multi_job exp3 --project {project.root} --lr 0.5")
    record = job_status(project, "multi_job", "exp3")
    wait_until(lambda: "args=" in Path(record.log_path).read_text())
    assert "args=--lr 0.5" in Path(record.log_path).read_text()
    ipython.run_line_magic("neuro_kill", f"multi_job exp3 --project {project.root}")


def _multi_job(ipython: InteractiveShell, project: Project, words: str) -> tuple[str, str]:
    """``%neuro_run multi_job WORDS``: (the suffix it got, the args its log shows)."""
    view = ipython.run_line_magic("neuro_run", f"--project {project.root} multi_job {words}")
    assert view is not None, "the run failed"
    record = get_job(repr(view).splitlines()[0].rpartition(" ")[2])
    line = wait_until(lambda: next((text for text in Path(record.log_path).read_text().splitlines()
                                    if text.startswith("args=")), None))
    return record.suffix, line.removeprefix("args=")


def test_run_gives_the_job_its_options_and_its_own_double_dash(
    ipython: InteractiveShell, project: Project
) -> None:
    """A suffix only when the first word can be one; one `--` taken away (run's), not two."""
    suffix, args = _multi_job(ipython, project, "--lr 0.5")
    assert args == "--lr 0.5" and len(suffix) == 10  # a random suffix
    suffix, args = _multi_job(ipython, project, "-- --lr 0.5")
    assert args == "--lr 0.5" and len(suffix) == 10
    assert _multi_job(ipython, project, "s1 -- x -- y") == ("s1", "x -- y")
    assert _multi_job(ipython, project, "s2 --lr 0.5 -s s3") == ("s3", "s2 --lr 0.5")


def test_an_unknown_option_before_the_job_id_is_a_usage_error(
    ipython: InteractiveShell, project: Project
) -> None:
    from IPython.core.error import UsageError

    from neuro_jupyter.core.store.jobs import active_jobs

    with pytest.raises(UsageError) as info:
        ipython.run_line_magic("neuro_run", f"--detahc multi_job s1 --project {project.root}")
    assert "unrecognized arguments: --detahc" in str(info.value)
    assert not active_jobs()
