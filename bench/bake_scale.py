"""Bakes at 10,000 tasks: time and executor memory against 1,000, and how fast the front ends
answer about a 10,000-task bake, alone and in a store of 100 of them.

1. **Linear?** ``neuro-jupyter bake`` (whole process, ``bash: true``, ``max_parallel: 2``,
   cache off) at ``--sizes`` (1,000 and 10,000), interleaved, for the shapes ``layered``
   (layers of 10, each task needs 2 random tasks of the layer before: the DAG of
   ``bake_cli.py``) and ``wide`` (no needs). Per run: ms per task, and the executor's peak
   resident memory (``VmHWM``, read from /proc while it runs) as MiB and as MiB per 1,000
   tasks. The executor is the CLI forked (``callerfork``), so it holds the CLI's imports and
   plan too: the MiB that grow with the bake are the difference between the sizes.
2. **Answers about a 10,000-task bake**: ``neuro-jupyter inspect`` and ``neuro-jupyter bakes``
   as whole processes, the same calls in-process (``inspect_bake`` + its text,
   ``list_bakes`` + its table), and the REST routes a browser polls, through a real Jupyter
   server with the extension on 127.0.0.1: ``GET projects/{pk}/bakes/{bake}``, its
   ``graph.json`` and ``projects/{pk}/bakes``. Median of ``--repeat``.
3. **A store of ``--bakes`` such bakes** (1,000,000 task rows at 100): the 10,000-task bake's
   rows are copied under new bake ids with SQL (``INSERT … SELECT``), then 2. again, plus the
   executor's own queries on that store (the per-round cancel check, a flush of 1,000 rows,
   the follower's read of what changed) as µs per call.

Run: ``.venv/bin/python bench/bake_scale.py [--sizes 1000,10000] [--shapes layered,wide]
[--runs 2] [--bakes 100] [--write-readme]``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import bake_cli

SHAPES = {"layered": "random2", "wide": "wide"}  # our name → bake_cli's DAG


def peak_rss(home: Path, started_at: float, done: threading.Event, out: list[float]) -> None:
    """Follow the newest attempt's executor (once recorded) and keep its VmHWM in MiB."""
    pid = None
    while not done.is_set():
        if pid is None:
            try:
                db = sqlite3.connect(home / "state.db", timeout=5)
                row = db.execute(
                    "SELECT a.executor_pid FROM attempts a JOIN bakes b ON a.bake_id = b.bake_id"
                    " WHERE b.created_at > ? ORDER BY b.created_at DESC LIMIT 1", (started_at,)
                ).fetchone()
                db.close()
                pid = row[0] if row else None
            except sqlite3.Error:
                pass
        if pid is not None:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        out.append(int(line.split()[1]) / 1024)
            except OSError:
                pass
        done.wait(0.02)


def run_bake(project: Path, env: dict[str, str], home: Path) -> tuple[float, float]:
    """One whole CLI bake: (seconds, the executor's peak MiB)."""
    peaks: list[float] = []
    done = threading.Event()
    started_at = time.time()
    watcher = threading.Thread(target=peak_rss, args=(home, started_at, done, peaks))
    watcher.start()
    try:
        wall, _ = bake_cli.run_tree([str(Path(sys.executable).with_name("neuro-jupyter")),
                                     "bake", "dag"], project, env)
    finally:
        done.set()
        watcher.join()
    return wall, max(peaks, default=float("nan"))


def median_time(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Server:
    """``jupyter server`` with the extension, on 127.0.0.1, for the REST routes."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.token = secrets.token_hex(16)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={root}",
             "--ServerApp.jpserver_extensions={'neuro_jupyter': True}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("neuro-jupyter/api/projects")
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit("the Jupyter server did not start") from None
                time.sleep(0.2)

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/{path}",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return bytes(response.read())

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def answers(project: Path, env: dict[str, str], bake_id: str, server: Server, repeat: int
            ) -> dict[str, float]:
    """Seconds (median) for each front end's answer about the bake."""
    from neuro_jupyter.core.bake import inspect_bake, list_bakes
    from neuro_jupyter.core.bake.render import bakes_text, inspect_text
    from neuro_jupyter.core.project import open_project
    from neuro_jupyter.core.store.projects import project_pk

    script = str(Path(sys.executable).with_name("neuro-jupyter"))
    proj = open_project(project, record=False)
    pk = project_pk(proj)
    base = f"neuro-jupyter/api/projects/{pk}/bakes"

    def cli(*argv: str) -> None:
        subprocess.run([script, *argv], cwd=project, env=env, check=True,
                       stdout=subprocess.DEVNULL)

    return {
        "neuro-jupyter inspect (process)": median_time(lambda: cli("inspect", bake_id), repeat),
        "neuro-jupyter bakes (process)": median_time(lambda: cli("bakes"), repeat),
        "inspect_bake + text (in-process)": median_time(
            lambda: inspect_text(inspect_bake(proj, bake_id)), repeat),
        "list_bakes + table (in-process)": median_time(
            lambda: bakes_text(list_bakes(proj)), repeat),
        "GET …/bakes/{bake}": median_time(lambda: server.get(f"{base}/{bake_id}"), repeat),
        "GET …/bakes/{bake}/graph.json": median_time(
            lambda: server.get(f"{base}/{bake_id}/graph.json"), repeat),
        "GET …/bakes": median_time(lambda: server.get(base), repeat),
    }


def copy_bakes(home: Path, bake_id: str, copies: int) -> int:
    """Copy the bake (its record, attempts and task rows) under new ids; the store's rows."""
    db = sqlite3.connect(home / "state.db", timeout=60)
    try:
        with db:
            for i in range(copies):
                new = f"bake-copy-{i:05d}-{bake_id[10:]}"
                db.execute("INSERT INTO bakes SELECT ?, project_pk, batch, NULL, tags_json,"
                           " params_json, config_json, backend, created_at - ? FROM bakes"
                           " WHERE bake_id = ?", (new, i + 1, bake_id))
                for table, key in (("attempts", "bake_id"), ("tasks", "bake_id")):
                    columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
                    picked = ", ".join("?" if c == key else c for c in columns)
                    db.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {picked}"
                               f" FROM {table} WHERE bake_id = ?", (new, bake_id))
        return int(db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0])
    finally:
        db.close()


def executor_queries(home: Path, bake_id: str, repeat: int) -> dict[str, float]:
    """µs per call of the executor's own queries on this store."""
    os.environ["NEURO_JUPYTER_HOME"] = str(home)
    from neuro_jupyter.core.store import bakes as rows
    from neuro_jupyter.core.store.db import Store

    store = Store(home / "state.db")
    number = rows.count_attempts(store, bake_id) + 1
    rows.create_attempt(store, bake_id, number, from_failed=False)
    pending = [rows.TaskRecord(bake_id=bake_id, attempt=number, full_id=f"t{i}",
                               status="pending", seq=i, created_at=time.time())
               for i in range(1000)]
    out = {
        "cancel check (per round)": median_time(lambda: store.query_one(
            "SELECT result FROM attempts WHERE bake_id = ? AND number = ?",
            (bake_id, number)), repeat * 20) * 1e6,
        "flush of 1,000 task rows": median_time(lambda: rows.put_tasks(store, pending),
                                                repeat) * 1e6,
        "follower's read of what changed": median_time(lambda: rows.list_tasks_since(
            store, bake_id, number, 10**9), repeat * 20) * 1e6,
    }
    store.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--shapes", default="layered,wide")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--bakes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    bake_cli.compile_package(None)
    bake_cli.become_subreaper()
    sizes = [int(s) for s in args.sizes.split(",")]
    lines: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    folder = Path(tempfile.mkdtemp(prefix="nj-bench-scale-"))
    try:
        home = folder / "home"
        env = {**os.environ, "NEURO_JUPYTER_HOME": str(home)}
        say("| shape | tasks | s per run | ms per task | executor peak MiB | MiB per 1,000 tasks"
            " | load avg |")
        say("|---|---|---|---|---|---|---|")
        last_big: dict[str, tuple[Path, str]] = {}
        for shape in args.shapes.split(","):
            results: dict[int, list[tuple[float, float, float]]] = {n: [] for n in sizes}
            for _ in range(args.runs):
                for n in sizes:  # interleaved
                    project = folder / f"{shape}-{n}"
                    if not project.exists():
                        bake_cli.make_project(project, bake_cli.dag(SHAPES[shape], n), "bash")
                    wall, peak = run_bake(project, env, home)
                    results[n].append((wall, peak, os.getloadavg()[0]))
            for n in sizes:
                walls = [r[0] for r in results[n]]
                peaks = [r[1] for r in results[n]]
                say(f"| {shape} | {n:,} | {' / '.join(f'{w:.1f}' for w in walls)} | "
                    f"{statistics.median(walls) / n * 1e3:.2f} | "
                    f"{' / '.join(f'{p:.0f}' for p in peaks)} | "
                    f"{statistics.median(peaks) / n * 1e3:.1f} | "
                    f"{' / '.join(f'{r[2]:.1f}' for r in results[n])} |")
            if len(sizes) > 1:
                small, big = sizes[0], sizes[-1]
                grow = (statistics.median([r[1] for r in results[big]])
                        - statistics.median([r[1] for r in results[small]])) / (big - small) * 1e3
                say(f"| {shape} | {small:,} → {big:,} | | ×{statistics.median([r[0] for r in results[big]]) / statistics.median([r[0] for r in results[small]]):.1f} time"
                    f" for ×{big // small} tasks | | {grow:.1f} MiB per 1,000 more tasks | |")
            db = sqlite3.connect(home / "state.db")
            bake_id, = db.execute("SELECT bake_id FROM bakes ORDER BY created_at DESC LIMIT 1"
                                  ).fetchone()
            db.close()
            last_big[shape] = (folder / f"{shape}-{sizes[-1]}", bake_id)
        project, bake_id = last_big[args.shapes.split(",")[0]]
        server = Server(folder, env)
        try:
            os.environ["NEURO_JUPYTER_HOME"] = str(home)
            alone = answers(project, env, bake_id, server, args.repeat)
            total = copy_bakes(home, bake_id, args.bakes) if args.bakes else 0
            crowded = answers(project, env, bake_id, server, args.repeat)
        finally:
            server.close()
        say()
        say(f"| answer about a {sizes[-1]:,}-task bake, median of {args.repeat} | alone, s |"
            f" store of {args.bakes + 1} such bakes ({total:,} task rows), s |")
        say("|---|---|---|")
        for key in alone:
            say(f"| {key} | {alone[key]:.3f} | {crowded[key]:.3f} |")
        say()
        say(f"| the executor's queries, {total:,} task rows | µs per call |")
        say("|---|---|")
        for key, value in executor_queries(home, bake_id, args.repeat).items():
            say(f"| {key} | {value:,.0f} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.write_readme:
        readme = Path(__file__).with_name("README.md")
        text = readme.read_text()
        start, end = "<!-- bake_scale:start -->", "<!-- bake_scale:end -->"
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        block = f"{start}\nMeasured {stamp}:\n\n" + "\n".join(lines) + f"\n{end}"
        if start in text and end in text:
            text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
        else:
            text += "\n" + block + "\n"
        readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
