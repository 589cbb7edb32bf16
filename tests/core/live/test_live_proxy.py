"""Links through a real Jupyter server's jupyter-server-proxy: /proxy/<port>/ and, for Jupyter
itself, /proxy/absolute/<port>/ with a matching base_url."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from neuro_jupyter.core.live import browse_url, run_job, server_base_url
from neuro_jupyter.core.project import Project

Wait = Callable[..., object]
TOKEN = "live-proxy-test-token"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fetch(url: str) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode(errors="replace")
    except OSError:
        return None


@pytest.fixture
def a_jupyter_server(tmp_path: Path, a_runtime_dir: Path, wait_for: Wait) -> Iterator[str]:
    """A Jupyter server on 127.0.0.1 with base_url /jl/; yields its origin."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
         "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={TOKEN}", "--ServerApp.base_url=/jl/",
         f"--ServerApp.root_dir={tmp_path}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ,
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _fetch(f"{origin}/jl/api/status?token={TOKEN}"), timeout=60)
        wait_for(lambda: list(a_runtime_dir.glob("jpserver-*.json")), timeout=20)
        yield origin
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_links_go_through_the_jupyter_server(a_jupyter_server: str, tmp_path: Path, wait_for: Wait) -> None:
    from neuro_jupyter.core.project.scaffold import init_project

    project: Project = init_project("Proxy Demo", no_input=True, output_dir=tmp_path / "p")
    assert server_base_url(project.root) == "/jl/"

    # as a browser: logged in to the outer server (its cookie), the link's token for the job's
    def logged_in_browser() -> urllib.request.OpenerDirector:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        opener.open(f"{a_jupyter_server}/jl/api/status?token={TOKEN}", timeout=5).close()
        return opener

    def opened(url: str, opener: urllib.request.OpenerDirector) -> tuple[int, str] | None:
        try:
            with opener.open(url, timeout=5) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return (error.code, "") if error.code == 403 else None
        except OSError:
            return None

    browser = run_job(project, "filebrowser")
    files_token = browser.record.meta["token"]
    url = browse_url(browser.record, "/jl/")
    files = f"{a_jupyter_server}/jl/proxy/{browser.record.http_port}/"
    assert url == f"/jl/proxy/{browser.record.http_port}/?token={files_token}"
    visitor = logged_in_browser()
    answer = wait_for(lambda: opened(f"{a_jupyter_server}{url}", visitor), timeout=60)
    assert isinstance(answer, tuple) and answer[0] == 200 and "README.md" in answer[1]
    # its cookie, scoped to /jl/proxy/<port>, lets the browser on without the token
    assert visitor.open(f"{files}.neuro/", timeout=5).status == 200
    assert opened(files, logged_in_browser()) == (403, "")  # no token, no cookie: refused

    jupyter = run_job(project, "jupyter")
    port = jupyter.record.http_port
    url = browse_url(jupyter.record, "/jl/")
    inner = jupyter.record.meta["token"]
    base = f"/jl/proxy/absolute/{port}/"
    assert url == f"{base}?token={inner}"  # the job's own token (http_auth) is in the link
    assert jupyter.record.meta["base_path"] == base  # the job's Jupyter serves under that path

    def through_proxy(path: str, opener: urllib.request.OpenerDirector) -> tuple[int, str] | None:
        try:
            with opener.open(f"{a_jupyter_server}{base}{path}", timeout=5) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return (error.code, "") if error.code == 403 else None
        except OSError:
            return None

    logged_in = logged_in_browser()
    answer = wait_for(lambda: through_proxy(f"api/status?token={inner}", logged_in), timeout=90)
    assert isinstance(answer, tuple) and answer[0] == 200 and '"started"' in answer[1]
    assert through_proxy("api/contents", logged_in)[0] == 200  # type: ignore[index]
    with logged_in.open(f"{a_jupyter_server}/jl/api/contents", timeout=5) as outer:
        assert outer.status == 200  # the job's login cookie left the server's own alone
    assert through_proxy("api/contents?token=wrong", logged_in_browser()) == (403, "")  # wants its token


def test_no_link_to_a_port_on_a_ray_cluster_elsewhere() -> None:
    """A job on a remote Ray cluster listens on the cluster's node: a link to this machine's
    port (or Jupyter's proxy of it) would reach nothing. On a cluster here, it is linked."""
    from neuro_jupyter.core.live.urls import endpoint
    from neuro_jupyter.core.store.jobs import JobRecord

    def job(backend: str, **meta: str) -> JobRecord:
        return JobRecord(raw_id="job-1", project_pk=1, job_id="web", status="running",
                         backend=backend, http_port=8080, meta=meta)

    remote = "ray@http://10.1.2.3:8265"
    assert browse_url(job(remote), "/jl/") is None and endpoint(job(remote)) is None
    assert endpoint(job(remote, proxy="tcp")) is None
    assert browse_url(job("ray@http://127.0.0.1:8265"), "/jl/") == "/jl/proxy/8080/"
    assert browse_url(job("local")) == "http://127.0.0.1:8080/"
    assert endpoint(job("local", proxy="tcp")) == "127.0.0.1:8080 (tcp)"
