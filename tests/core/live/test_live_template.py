"""The project template's live jobs run for real on this machine."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from neuro_jupyter.core.live import browse_url, get_job, kill_job, read_log, run_job
from neuro_jupyter.core.project import Project

Wait = Callable[..., object]
pytestmark = pytest.mark.slow


@pytest.fixture
def template_project(tmp_path: Path) -> Project:
    from neuro_jupyter.core.project.scaffold import init_project

    return init_project("Demo Live", no_input=True, output_dir=tmp_path)


def _fetch(url: str) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read()
    except OSError:
        return None


def _fetched(wait_for: Wait, url: str, timeout: float) -> tuple[int, bytes]:
    result = wait_for(lambda: _fetch(url), timeout=timeout)
    assert isinstance(result, tuple)
    return result


def _ended(raw_id: str) -> bool:
    return not get_job(raw_id).active


def test_train_and_multitrain_write_results(template_project: Project, wait_for: Wait) -> None:
    train = run_job(template_project, "train")
    runs = [run_job(template_project, "multitrain", suffix=s, args=("--epochs", "2"))
            for s in ("fast", "slow")]
    # two suffixes at once (pending while the template's environment is built, in the
    # session's first test that needs it)
    assert all(r.record.active for r in runs)
    for result in (train, *runs):
        wait_for(lambda r=result: _ended(r.record.raw_id), timeout=120)
        record = get_job(result.record.raw_id)
        assert record.status == "succeeded", read_log(record)[0]
    results = template_project.root / "results"
    assert (results / "fast" / "metrics.json").is_file() and (results / "slow" / "metrics.json").is_file()
    assert json.loads((results / "fast" / "metrics.json").read_text())["epochs"] == 2
    trained = [p for p in results.iterdir() if p.is_dir() and p.name not in ("fast", "slow")]
    assert trained and any(trained[0].glob("events.out.tfevents.*"))

    board = run_job(template_project, "tensorboard")
    url = browse_url(board.record)
    assert url and url.startswith("http://127.0.0.1:")
    wait_for(lambda: _fetch(url), timeout=60)
    runs_json = wait_for(lambda: (_fetch(url + "data/runs") or (0, b"[]"))[1] != b"[]" and
                         _fetch(url + "data/runs"), timeout=60)
    assert isinstance(runs_json, tuple) and b"fast" in runs_json[1]  # serves train's logs
    kill_job(template_project, "tensorboard")


def test_web_jobs_serve(template_project: Project, wait_for: Wait) -> None:
    browser = run_job(template_project, "filebrowser")
    jupyter = run_job(template_project, "jupyter")
    debug = run_job(template_project, "remote_debug")
    files_url = browse_url(browser.record)
    files_token = browser.record.meta["token"]
    assert files_url == f"http://127.0.0.1:{browser.record.http_port}/?token={files_token}"
    status, body = _fetched(wait_for, files_url, 60)
    assert status == 200 and b"README.md" in body and b".neuro/" in body
    with pytest.raises(urllib.error.HTTPError) as refused_files:  # no token: refused
        urllib.request.urlopen(files_url.partition("?")[0], timeout=5)
    assert refused_files.value.code == 403
    jupyter_url = browse_url(jupyter.record)
    token = jupyter.record.meta["token"]
    assert jupyter_url == (f"http://127.0.0.1:{jupyter.record.http_port}/proxy/absolute/"
                           f"{jupyter.record.http_port}/?token={token}")
    base = jupyter_url.partition("?")[0]
    status, body = _fetched(wait_for, f"{base}api/status?token={token}", 90)
    assert status == 200 and b"started" in body
    status, body = _fetched(wait_for, f"{base}api/contents?token={token}", 30)
    assert b"demo.ipynb" in body  # serves the project's notebooks
    with pytest.raises(urllib.error.HTTPError) as refused:  # no token: refused
        urllib.request.urlopen(f"{base}api/contents", timeout=5)
    assert refused.value.code == 403
    port = debug.record.http_port
    assert port and browse_url(debug.record) is None  # a debugger port is not a web page

    def connects() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            return False
        return True

    wait_for(connects, timeout=60)
    assert "debugpy listens on 127.0.0.1" in read_log(get_job(debug.record.raw_id))[0]
    messages = kill_job(template_project, "ALL")
    assert len(messages) == 3 and all("cancelled" in m for m in messages)
