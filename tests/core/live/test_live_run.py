"""run / ps / logs / status / kill on real processes, through the core API."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from neuro_jupyter.core.errors import InvalidInputError, NotFoundError, UnknownNameError
from neuro_jupyter.core.live import (
    browse_url,
    follow_log,
    get_job,
    job_status,
    kill_job,
    list_jobs,
    ps_html,
    ps_page,
    ps_text,
    read_log,
    run_job,
    server_base_url,
    server_url,
    status_text,
)
from neuro_jupyter.core.project import Project

Wait = Callable[..., object]
LiveProject = Callable[[str, str], Project]


def ended(raw_id: str) -> bool:
    return not get_job(raw_id).active


def test_run_records_and_logs(a_project: Project, wait_for: Wait) -> None:
    result = run_job(a_project, "hello")
    assert result.started and result.record.job_id == "hello"
    assert result.record.raw_id.startswith("job-") and result.attach  # not detached: a CLI attaches
    wait_for(lambda: ended(result.record.raw_id))
    record = job_status(a_project, "hello")
    assert record.status == "succeeded" and record.exit_code == 0
    text, offset = read_log(record)
    assert text == "hello <script>alert(1)</script>\ndone\n" and offset == len(text.encode())
    assert read_log(record, offset) == ("", offset)
    rows = {row.label: row for row in list_jobs(a_project)}
    assert rows["hello"].status == "succeeded" and rows["hello"].raw_id == record.raw_id
    assert rows["sleeper"].status == "unknown" and rows["sleeper"].raw_id is None
    text_table = ps_text(list_jobs(a_project))
    assert text_table.splitlines()[0].split() == ["JOB", "STATUS", "RAW", "ID", "WHEN"]
    assert re.search(r"sleeper\s+unknown\s+N/A\s+N/A", text_table)
    assert re.search(r"Image:\s+ubuntu:22.04 \(not used locally\)", status_text(record))


def test_defaults_mixins_entrypoint(a_project: Project, wait_for: Wait) -> None:
    result = run_job(a_project, "envy")
    wait_for(lambda: ended(result.record.raw_id))
    record = get_job(result.record.raw_id)
    assert record.status == "succeeded" and record.meta["argv"][0] == "env"
    assert read_log(record)[0] == f"d1 m1 o1\n{a_project.root}\n"


def test_unknown_job_lists_the_jobs(a_project: Project) -> None:
    with pytest.raises(UnknownNameError) as info:
        run_job(a_project, "nope")
    assert "hello" in str(info.value) and "multi_sleep" in str(info.value)
    with pytest.raises(UnknownNameError):
        job_status(a_project, "nope")
    with pytest.raises(NotFoundError, match="has not run"):
        job_status(a_project, "sleeper")


def test_run_reattaches_and_kill(a_project: Project, wait_for: Wait) -> None:
    first = run_job(a_project, "sleeper")
    assert first.record.status == "running"
    again = run_job(a_project, "sleeper")
    assert not again.started and again.record.raw_id == first.record.raw_id
    assert again.message == "Job sleeper is running, connecting..."
    messages = kill_job(a_project, "sleeper")
    assert messages == [f"Killed job sleeper ({first.record.raw_id}): cancelled"]
    assert kill_job(a_project, "sleeper")[0].startswith("Job sleeper is not running")
    assert job_status(a_project, "sleeper").status == "cancelled"


def test_failure_and_params(a_project: Project, wait_for: Wait) -> None:
    failing = run_job(a_project, "failing")
    wait_for(lambda: ended(failing.record.raw_id))
    record = get_job(failing.record.raw_id)
    assert (record.status, record.exit_code) == ("failed", 4)
    greet = run_job(a_project, "greet", params={"who": "Bob"})
    wait_for(lambda: ended(greet.record.raw_id))
    assert read_log(get_job(greet.record.raw_id))[0] == "hello Bob\n"
    with pytest.raises(InvalidInputError, match="multi"):
        run_job(a_project, "greet", args=("x",))
    with pytest.raises(InvalidInputError, match="not a multi job"):
        run_job(a_project, "greet", suffix="s1")


def test_multi_jobs(a_project: Project, wait_for: Wait) -> None:
    one = run_job(a_project, "multi_sleep", suffix="exp-1", args=("--lr", "0.1"))
    two = run_job(a_project, "multi_sleep")
    assert one.record.suffix == "exp-1" and re.fullmatch(r"[0-9a-f]{10}", two.record.suffix)
    wait_for(lambda: "args=" in read_log(get_job(one.record.raw_id))[0])
    assert "suffix=exp-1 args=--lr 0.1" in read_log(get_job(one.record.raw_id))[0]
    labels = [row.label for row in list_jobs(a_project) if row.job_id == "multi_sleep"]
    assert labels == sorted(["multi_sleep exp-1", f"multi_sleep {two.record.suffix}"])
    assert run_job(a_project, "multi_sleep", suffix="exp-1").record.raw_id == one.record.raw_id
    with pytest.raises(InvalidInputError, match="give its suffix"):
        job_status(a_project, "multi_sleep")
    assert job_status(a_project, "multi_sleep", "exp-1").raw_id == one.record.raw_id
    with pytest.raises(InvalidInputError, match="Invalid suffix"):
        run_job(a_project, "multi_sleep", suffix="bad suffix!")
    with pytest.raises(InvalidInputError, match="kill ALL takes no suffix"):
        kill_job(a_project, "ALL", "exp-1")
    assert len(kill_job(a_project, "ALL")) == 2
    assert kill_job(a_project, "ALL") == ["No running jobs"]


def test_multi_job_without_suffix_names_earlier_runs(a_project: Project) -> None:
    """After every run of a multi job ended, logs/status/kill without a suffix name the
    suffixes that ran instead of saying the job never ran."""
    assert kill_job(a_project, "multi_sleep") == ["Job multi_sleep is not running (never run)"]
    run_job(a_project, "multi_sleep", suffix="exp-1")
    kill_job(a_project, "ALL", grace=1)
    with pytest.raises(InvalidInputError, match=r"none running; earlier runs: exp-1\)"):
        job_status(a_project, "multi_sleep")
    assert kill_job(a_project, "multi_sleep") == [
        "Job multi_sleep is not running (earlier runs: exp-1)"
    ]


def test_a_broken_live_yml_does_not_strand_running_jobs(a_project: Project) -> None:
    """After a bad edit of live.yml, ps still shows the runs (with the error as a warning) and
    status, logs and kill still work on them; run refuses with the file's error."""
    one = run_job(a_project, "sleeper")
    run_job(a_project, "multi_sleep", suffix="exp-1")
    live = a_project.root / ".neuro" / "live.yml"
    live.write_text(live.read_text() + "  broken:\n    comand: x\n")
    page = ps_page(a_project)
    assert "unexpected key 'comand'" in page.warning
    assert [(r.label, r.status, r.multi) for r in page.rows] == [
        ("multi_sleep exp-1", "running", True), ("sleeper", "running", False),
    ]
    assert job_status(a_project, "sleeper").raw_id == one.record.raw_id
    assert job_status(a_project, "multi_sleep").suffix == "exp-1"
    with pytest.raises(InvalidInputError, match="comand"):
        run_job(a_project, "hello")
    with pytest.raises(InvalidInputError, match="comand"):  # never ran: the file's error
        job_status(a_project, "hello")
    assert kill_job(a_project, "sleeper", grace=1) == [
        f"Killed job sleeper ({one.record.raw_id}): cancelled"
    ]
    assert ps_page(a_project).rows[1].status == "cancelled"


def test_runs_at_the_same_time_start_one_job(
    a_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clicks on Start (or two terminals) at once start the job once; the others find it."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from neuro_jupyter.core import workflow
    from neuro_jupyter.core.store.jobs import active_jobs

    barrier = threading.Barrier(4, timeout=20)
    resolve = workflow.resolve_live_job

    def resolve_together(*args: object, **kwargs: object) -> object:
        barrier.wait()  # every run has seen the job not running before any records it
        return resolve(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(workflow, "resolve_live_job", resolve_together)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run_job(a_project, "sleeper"), range(4)))
    assert sum(r.started for r in results) == 1
    assert len({r.record.raw_id for r in results}) == 1
    assert [r.job_id for r in active_jobs()] == ["sleeper"]


def test_killed_from_outside_is_failed(a_project: Project, wait_for: Wait) -> None:
    result = run_job(a_project, "sleeper")
    os.kill(result.record.pid or 0, signal.SIGKILL)
    wait_for(lambda: ended(result.record.raw_id))
    record = job_status(a_project, "sleeper")
    assert record.status == "failed" and record.signal == signal.SIGKILL
    assert "SIGKILL" in record.reason


def test_run_returns_once_the_http_port_answers(live_project: LiveProject, web_port: int) -> None:
    """A web job's link works as soon as run returns (it waits for the port), and a job that
    ends without listening does not keep run waiting."""
    project = live_project(
        "slow",
        "kind: live\njobs:\n"
        f"  slow_web:\n    http_port: {web_port}\n"
        f"    bash: sleep 0.5; exec python -m http.server {web_port} --bind 127.0.0.1\n"
        f"  dies:\n    http_port: {web_port}\n    bash: sleep 0.2; exit 2\n",
    )
    result = run_job(project, "slow_web")
    assert result.message.endswith(result.record.raw_id)
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=5) as response:
        assert response.status == 200
    kill_job(project, "slow_web", grace=1)
    died = run_job(project, "dies")
    assert died.record.status == "failed" and "does not answer" not in died.message


def test_follow_log_streams_until_the_end(a_project: Project) -> None:
    result = run_job(a_project, "counter")
    assert not result.attach  # detach: true
    text = "".join(follow_log(result.record))
    assert text == "".join(f"tick {i}\n" for i in range(8))
    assert get_job(result.record.raw_id).status == "succeeded"


def _get(url: str, wait_for: Wait) -> str:
    def fetch() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode() if response.status == 200 else None
        except OSError:
            return None

    return str(wait_for(fetch))


def test_http_job_url_and_taken_port(a_project: Project, web_port: int, wait_for: Wait) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", web_port))
    blocker.listen()
    try:
        result = run_job(a_project, "web")
        record = result.record
        assert record.asked_port == web_port and record.http_port != web_port
        assert f"port {web_port} is taken" in result.message
        assert str(record.http_port) in " ".join(record.meta["argv"])
        assert "--bind 127.0.0.1" in " ".join(record.meta["argv"])  # jobs bind loopback only
        url = browse_url(record)
        assert url == f"http://127.0.0.1:{record.http_port}/"
        assert "<h1>site</h1>" in _get(url, wait_for)
        assert url in ps_text(list_jobs(a_project))
        assert browse_url(record, "/user/me/") == f"/user/me/proxy/{record.http_port}/"
        assert f"asked {web_port}" in status_text(record)
    finally:
        blocker.close()


def test_jupyter_server_discovery(a_project: Project, a_runtime_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert server_base_url(a_project.root) is None
    info = {"pid": os.getpid(), "base_url": "/user/me/", "root_dir": str(a_project.root.parent)}
    (a_runtime_dir / "jpserver-1.json").write_text(json.dumps(info))
    (a_runtime_dir / "jpserver-2.json").write_text(json.dumps({"pid": 999999999, "base_url": "/dead/"}))
    assert server_base_url(a_project.root) == "/user/me/"
    info["url"] = "http://127.0.0.1:8888/user/me"
    (a_runtime_dir / "jpserver-1.json").write_text(json.dumps(info))
    assert server_url(a_project.root) == "http://127.0.0.1:8888/user/me/"
    monkeypatch.setenv("JPY_PARENT_PID", str(os.getpid()))  # a kernel of that server
    assert server_base_url() == "/user/me/"
    monkeypatch.setenv("JPY_PARENT_PID", "1")  # a kernel of something else (e.g. nbclient)
    assert server_base_url(a_project.root) is None


def test_ps_pages_and_escapes(a_project: Project, wait_for: Wait) -> None:
    page = ps_page(a_project, limit=3, offset=0)
    assert page.total == 8 and [r.job_id for r in page.rows] == ["counter", "envy", "failing"]
    assert [r.job_id for r in ps_page(a_project, limit=3, offset=6).rows] == ["sleeper", "web"]
    last = ps_page(a_project, limit=3, page=3)
    assert [r.job_id for r in last.rows] == ["sleeper", "web"]
    assert last.footer("neuro-jupyter ps") == "Page 3 of 3 (8 rows): neuro-jupyter ps --page N"
    assert ps_page(a_project, limit=50).footer("neuro-jupyter ps") == ""
    html_table = ps_html(page.rows)
    assert "<th style='text-align:left'>RAW ID</th>" in html_table
    # jobs that never ran read neutral, not as an error
    assert "crimson" not in html_table and html_table.count('title="never run"') == 3


def test_pending_job_is_not_started_twice(a_project: Project) -> None:
    import time

    from neuro_jupyter.core.backends.local.procs import start_ticks
    from neuro_jupyter.core.backends.local.supervision import hostname
    from neuro_jupyter.core.store.jobs import JobRecord, finish_job, insert_job
    from neuro_jupyter.core.store.projects import project_pk

    # a run whose (live) supervisor has not started the process yet: this test process
    insert_job(JobRecord(raw_id="job-pending", project_pk=project_pk(a_project), job_id="sleeper",
                         status="pending", supervisor_pid=os.getpid(), host=hostname(),
                         supervisor_start=start_ticks(os.getpid()), created_at=time.time()))
    try:
        result = run_job(a_project, "sleeper")
        assert result.pending and result.message == "Job sleeper is pending, try again later"
        assert not result.started and result.record.raw_id == "job-pending"
    finally:
        finish_job("job-pending", "cancelled")


@pytest.mark.parametrize(("seconds", "text"), [
    (864000.0, "10d"), (3600.0, "1h"), (93784.0, "1d2h3m4s"), (0.5, "0.5s"), (90.0, "1m30s"),
])
def test_status_shows_life_span_as_neuro_does(seconds: float, text: str) -> None:
    from neuro_jupyter.core.live.render import duration

    assert duration(seconds) == text


def test_stream_log_writes_everything_until_the_end(a_project: Project) -> None:
    import io

    from neuro_jupyter.core.live import stream_log

    out = io.StringIO()
    stream_log(run_job(a_project, "counter").record, out)
    assert out.getvalue() == "".join(f"tick {i}\n" for i in range(8))


def test_ps_text_of_no_rows_is_the_header() -> None:
    assert ps_text([]).splitlines()[0].split() == ["JOB", "STATUS", "RAW", "ID", "WHEN"]


def test_absolute_web_jobs_get_a_token_unless_http_auth_is_off(
    live_project: LiveProject, web_port: int, wait_for: Wait
) -> None:
    """An ``absolute`` job (the bundled Jupyter) gets a random token in its env and its link,
    so other users of the machine cannot use its port; ``http_auth: false`` turns it off."""
    job = (f"    http_port: {web_port}\n    env:\n      NEURO_JUPYTER_PROXY: absolute\n"
           f"    bash: echo \"token=${{NEURO_JUPYTER_TOKEN:-}}.\"; "
           f"exec python -m http.server {web_port} --bind 127.0.0.1\n")
    project = live_project(
        "abs", f"kind: live\njobs:\n  guarded:\n{job}  open:\n    http_auth: false\n{job}")
    guarded = run_job(project, "guarded").record
    token = guarded.meta["token"]
    assert len(token) == 32
    assert browse_url(guarded) == f"http://127.0.0.1:{web_port}/proxy/absolute/{web_port}/?token={token}"
    assert browse_url(guarded, "/") == f"/proxy/absolute/{web_port}/?token={token}"
    wait_for(lambda: f"token={token}." in read_log(get_job(guarded.raw_id))[0])
    kill_job(project, "guarded", grace=1)
    opened = run_job(project, "open").record
    assert "token" not in opened.meta
    assert browse_url(opened, "/") == f"/proxy/absolute/{opened.http_port}/"
    wait_for(lambda: "token=." in read_log(get_job(opened.raw_id))[0])


def test_bundled_filebrowser_requires_its_token_unless_http_auth_is_off(
    live_project: LiveProject, web_port: int, wait_for: Wait
) -> None:
    """The bundled ``filebrowser`` action asks for a token (``NEURO_JUPYTER_AUTH: token``): its
    link carries it and the app refuses requests without it; ``http_auth: false`` keeps it open."""
    import urllib.error

    call = ("    action: gh:neuro-actions/filebrowser@v22.9.0\n    args:\n"
            "      http_port: {port}\n      volumes_project_remote: storage:fb\n")
    project = live_project(
        "fb",
        "kind: live\njobs:\n"
        f"  guarded:\n{call.format(port=web_port)}"
        f"  opened:\n{call.format(port=web_port + 1)}      http_auth: false\n",
    )
    guarded = run_job(project, "guarded").record
    token = guarded.meta["token"]
    assert len(token) == 32 and guarded.meta["proxy"] == "prefix"
    port = guarded.http_port
    assert browse_url(guarded) == f"http://127.0.0.1:{port}/?token={token}"
    assert browse_url(guarded, "/user/me/") == f"/user/me/proxy/{port}/?token={token}"

    def status(url: str) -> int:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert wait_for(lambda: status(f"http://127.0.0.1:{port}/") == 403, timeout=30)
    assert status(f"http://127.0.0.1:{port}/?token={token}") == 200
    kill_job(project, "guarded", grace=1)
    opened = run_job(project, "opened").record
    assert "token" not in opened.meta
    assert browse_url(opened) == f"http://127.0.0.1:{opened.http_port}/"
    assert wait_for(lambda: status(f"http://127.0.0.1:{opened.http_port}/") == 200, timeout=30)
    kill_job(project, "opened", grace=1)


def test_an_empty_log_of_a_finished_job_says_why(a_project: Project) -> None:
    """CLI and magic print this note after an empty log (e.g. a Ray job lost with its cluster)."""
    import time

    from neuro_jupyter.core.live import log_text, missing_log_note
    from neuro_jupyter.core.store.jobs import JobRecord
    from neuro_jupyter.core.store.projects import project_pk

    lost = JobRecord(raw_id="job-lost", project_pk=project_pk(a_project), job_id="train",
                     status="failed", reason="lost: the Ray cluster does not answer",
                     created_at=time.time(), finished_at=time.time())
    assert missing_log_note(lost, "") == (
        "(no log: train failed: lost: the Ray cluster does not answer)")
    assert missing_log_note(lost, "some output\n") == ""
    assert log_text(lost) == ("", missing_log_note(lost, ""))  # what logs prints
    running = JobRecord(raw_id="job-run", project_pk=1, job_id="train", status="running",
                        reason="")
    assert missing_log_note(running, "") == ""


def test_cluster_preset_runs_mapped_and_says_so(live_project: LiveProject, wait_for: Wait) -> None:
    """A preset of the user's Neu.ro cluster runs with the documented local mapping, and
    status, ps, the REST row's source and the job's first log line say which."""
    project = live_project("presets", "kind: live\njobs:\n  train:\n    preset: a100x1\n"
                           "    cmd: echo trained\n  other:\n    preset: cpu-small\n"
                           "    cmd: echo other\n")
    result = run_job(project, "train")
    wait_for(lambda: ended(result.record.raw_id))
    record = job_status(project, "train")
    note = record.meta["preset_note"]
    assert "'a100x1' is not in" in note and "'gpu-small'" in note and "GPU-looking" in note
    text, _ = read_log(record)
    assert text.splitlines()[0] == f"neuro-jupyter: {note}"
    assert text.splitlines()[1] == "trained"
    assert f"Preset:    a100x1 ({note})" in status_text(record) or note in status_text(record)
    assert f"train: {note}" in ps_text(list_jobs(project))
    other = run_job(project, "other")
    wait_for(lambda: ended(other.record.raw_id))
    assert "preset_note" not in job_status(project, "other").meta
    assert read_log(job_status(project, "other"))[0] == "other\n"
