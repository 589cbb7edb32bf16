"""The Jupyter server's memory while jobs with hostile expressions are started through REST.

Starts a real ``jupyter server`` (127.0.0.1, a token, neuro_jupyter enabled, its own
NEURO_JUPYTER_HOME), records a project whose ``live.yml`` holds the expressions of issue 15,
then POSTs ``start`` for each job and reads the server's VmRSS and VmHWM (peak RSS) from
``/proc`` before, after each start and at the end. Baseline: the same server starting a plain
``bash: echo`` job, in the same invocation.

Run: ``.venv/bin/python bench/rest_expr_memory.py``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

TOKEN = "bench-rest-expr-memory"
LIVE = """\
kind: live
jobs:
  plain:
    bash: echo plain
  to_json:
    bash: echo ${{ to_json([range(100000)] * 1000) }}
  join:
    bash: echo ${{ join('x' * 1000000, range(1000000), True) }}
  str:
    bash: echo ${{ str([range(100000)] * 1000) }}
  fmt:
    bash: echo ${{ [fmt('{0:1000}' * 999, 'x') for x in range(1000)] }}
"""


def status_mb(pid: int) -> tuple[float, float]:
    text = Path(f"/proc/{pid}/status").read_text()
    rss, hwm = (int(re.search(rf"^{f}:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
                for f in ("VmRSS", "VmHWM"))
    return rss / 1024, hwm / 1024


def call(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None,
                                     headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="nj-bench-rest-"))
    env = dict(os.environ, NEURO_JUPYTER_HOME=str(work / "home"),
               JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    root = work / "hostile"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "live.yml").write_text(LIVE)
    (root / ".neuro" / "project.yml").write_text("id: hostile\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (work / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={work}",
         "--ServerApp.jpserver_extensions={'neuro_jupyter': True}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/neuro-jupyter/api"
    try:
        for _ in range(600):
            try:
                if call(f"{base}/projects")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        projects = json.loads(call(f"{base}/projects")[1])["projects"]
        pk = next(p["pk"] for p in projects if p["root"] == str(root))
        print(f"Python {sys.version.split()[0]}; server pid {server.pid}")
        print(f"{'step':10s} {'status':>6s} {'seconds':>8s} {'RSS MB':>8s} {'peak MB':>8s}")
        rss, hwm = status_mb(server.pid)
        print(f"{'start':10s} {'':>6s} {'':>8s} {rss:8.0f} {hwm:8.0f}")
        for job in ("plain", "to_json", "join", "str", "fmt"):
            t0 = time.perf_counter()
            code, body = call(f"{base}/projects/{pk}/jobs/{job}/start", "POST")
            seconds = time.perf_counter() - t0
            rss, hwm = status_mb(server.pid)
            print(f"{job:10s} {code:6d} {seconds:8.2f} {rss:8.0f} {hwm:8.0f}   "
                  f"{json.loads(body).get('message', '')[:70]}")
        call(f"{base}/projects/{pk}/jobs/ALL/kill", "POST")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
