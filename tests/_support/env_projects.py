"""Projects whose image has an environment, for the environment tests (``core/envs``).

The packages are small pure-Python ones from PyPI that neuro-jupyter's own environment lacks
(humanize, inflection), so a job that imports one proves it ran in the project environment.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from waiting import wait_until

from neuro_jupyter.core.envs import get_build
from neuro_jupyter.core.project import Project, open_project
from neuro_jupyter.core.store.envs import BuildRecord

IMAGE = """\
images:
  train:
    ref: image:envtest:v1
    context: ${{ flow.workspace }}/
    dockerfile: ${{ flow.workspace }}/Dockerfile
"""

LIVE = "kind: live\n" + IMAGE + """\
  hub:
    ref: python:3.11
jobs:
  fmt:
    image: ${{ images.train.ref }}
    python: |
      import os, sys, humanize
      print("size", humanize.naturalsize(1000000))
      print("prefix", sys.prefix)
      print("venv", os.environ.get("VIRTUAL_ENV"))
      print("path0", os.environ["PATH"].split(os.pathsep)[0])
  plain:
    image: ${{ images.hub.ref }}
    python: |
      import os, sys
      print("prefix", sys.prefix)
      print("venv", os.environ.get("VIRTUAL_ENV"))
  nap:
    image: ${{ images.train.ref }}
    cmd: sleep 60
"""

BATCH = "kind: batch\n" + IMAGE + """\
tasks:
  - id: first
    image: ${{ images.train.ref }}
    bash: python -c "import humanize; print('::set-output name=n::' + humanize.intcomma(1234567))"
  - id: second
    image: ${{ images.train.ref }}
    needs: []
    python: |
      import humanize, sys
      print("second", humanize.intword(3000000), sys.prefix)
  - id: outside
    needs: []
    python: |
      import importlib.util
      print("humanize here:", importlib.util.find_spec("humanize") is not None)
"""

DOCKERFILE = """\
FROM python:3.11-slim
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt
"""


def env_project(root: Path, requirements: str = "humanize\n", *, apt: str | None = None) -> Project:
    """A project at ``root`` whose image ``train`` installs ``requirements``."""
    (root / ".neuro").mkdir(parents=True, exist_ok=True)
    (root / ".neuro" / "live.yml").write_text(LIVE)
    (root / ".neuro" / "steps.yml").write_text(BATCH)
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "requirements.txt").write_text(requirements)
    if apt is not None:
        (root / "apt.txt").write_text(apt)
    return open_project(root)


@contextmanager
def silent_index() -> Iterator[str]:
    """A package index on 127.0.0.1 that accepts connections and never answers: an install
    from it waits (until the installer's own timeout), so a test can kill or cancel it then.
    Yields its URL."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/simple"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        server.close()


def finished(build_id: str, timeout: float = 240.0) -> BuildRecord:
    """Wait for a build's end (builds download from PyPI: a generous limit)."""
    return wait_until(lambda: None if (b := get_build(build_id)).active else b,
                      timeout=timeout, interval=0.1)
