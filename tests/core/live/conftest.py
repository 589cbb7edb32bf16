"""Fixtures for live-job tests: a project with small real jobs; no job outlives its test."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from waiting import wait_until

from neuro_jupyter.core.project import Project, open_project

LIVE_YML = """\
kind: live
defaults:
  env:
    FROM_DEFAULTS: d1
mixins:
  shared:
    env:
      FROM_MIXIN: m1
jobs:
  envy:
    image: ubuntu:22.04
    mixins: [shared]
    entrypoint: env
    env:
      OWN: o1
    cmd: bash -c 'echo "$FROM_DEFAULTS $FROM_MIXIN $OWN"; pwd'
  hello:
    image: ubuntu:22.04
    bash: |
      echo "hello <script>alert(1)</script>"
      echo done
  sleeper:
    image: ubuntu:22.04
    cmd: sleep 60
  failing:
    image: ubuntu:22.04
    bash: echo bad; exit 4
  greet:
    image: ubuntu:22.04
    params:
      who: world
    bash: echo "hello ${{ params.who }}"
  counter:
    image: ubuntu:22.04
    detach: true
    python: |
      import time
      for i in range(8):
          print("tick", i, flush=True)
          time.sleep(0.1)
  web:
    image: python:3.11
    http_port: PORT
    detach: true
    volumes:
      - storage:site:/srv/site:rw
    workdir: /srv/site
    bash: |
      echo "<h1>site</h1>" > index.html
      exec python -m http.server PORT --bind 0.0.0.0
  multi_sleep:
    image: ubuntu:22.04
    multi: true
    bash: |
      echo "suffix=${{ multi.suffix }} args=${{ multi.args }}"
      sleep 60
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def a_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Jupyter runtime folder: no Jupyter server is seen unless a test fakes one."""
    folder = tmp_path / "jupyter-runtime"
    folder.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(folder))
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    return folder


@pytest.fixture(autouse=True)
def no_leftover_jobs() -> Iterator[None]:
    """Stop every job a test leaves running."""
    yield
    from neuro_jupyter.core.backends.local.supervision import kill_record
    from neuro_jupyter.core.store.jobs import active_jobs

    for record in active_jobs():
        kill_record(record, grace=1)


@pytest.fixture
def web_port() -> int:
    return free_port()


@pytest.fixture
def live_project(tmp_path: Path) -> Callable[[str, str], Project]:
    """``live_project(name, live_yml)``: the project tmp_path/<name> with that .neuro/live.yml."""

    def make(name: str, live_yml: str) -> Project:
        root = tmp_path / name
        (root / ".neuro").mkdir(parents=True)
        (root / ".neuro" / "live.yml").write_text(live_yml)
        return open_project(root)

    return make


@pytest.fixture
def a_project(live_project: Callable[[str, str], Project], web_port: int) -> Project:
    return live_project("proj", LIVE_YML.replace("PORT", str(web_port)))


@pytest.fixture
def wait_for() -> Callable[..., object]:
    """``wait_for(predicate, timeout=20)``: poll until truthy (returns it), else fail."""
    return wait_until


def dedent(text: str) -> str:
    return textwrap.dedent(text)
