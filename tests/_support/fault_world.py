"""The fault tests' world: a project and a state folder driven through the real CLI.

Every command runs as the real ``neuro-jupyter`` CLI in its own process (exit code, output,
never a traceback). Every process a test starts (CLI, supervisors, keepers, executors, jobs,
tasks, what those start) carries the test's ``NEURO_JUPYTER_HOME`` in its environment:
``processes_of(home)`` finds them in /proc, to assert that none is left, and ``end_leftovers``
ends what a failing test left, by pid.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from waiting import wait_until

from neuro_jupyter.core.backends.local.procs import start_ticks

CLI = str(Path(sys.executable).with_name("neuro-jupyter"))


@dataclass(frozen=True)
class Result:
    """A finished CLI command."""

    code: int
    out: str
    err: str

    @property
    def error(self) -> str:
        """The one ``Error: …`` line of a failed command (asserts that there is exactly one,
        and no traceback)."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), self.err
        return lines[0]


def processes_of(home: Path) -> list[int]:
    """Living processes (not zombies) whose environment names ``home`` as the state folder."""
    needle = f"NEURO_JUPYTER_HOME={home}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{name}/environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and start_ticks(int(name)) is not None:
            found.append(int(name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


class World:
    """A project and a state folder, driven through the CLI."""

    def __init__(self, root: Path, home: Path, gate: Path, env: dict[str, str]) -> None:
        self.root = root
        self.home = home
        self.store = home / "state.db"
        self.gate = gate
        self.env = env

    def cli(self, *args: str, timeout: float = 90) -> Result:
        done = subprocess.run([CLI, "--project", str(self.root), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        assert "Traceback" not in done.stderr, done.stderr
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; its output."""
        result = self.cli(*args)
        assert result.code == 0, result
        return result.out

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[Any]:
        """Read the store with a connection of its own, closed at once (never cached here, so
        this test process never holds the store open)."""
        conn = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def job(self, job_id: str) -> dict[str, Any]:
        """The latest run of a live job, as the store has it."""
        conn = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute("SELECT * FROM jobs WHERE job_id = ? ORDER BY created_at DESC"
                               " LIMIT 1", (job_id,)).fetchone()
        finally:
            conn.close()
        assert row is not None, f"no run of {job_id}"
        return dict(row)

    def status_line(self, job_id: str) -> str:
        """The ``Status:`` line of ``neuro-jupyter status JOB``."""
        out = self.ok("status", job_id)
        return next(line for line in out.splitlines() if line.startswith("Status:"))

    def bake_id(self) -> str:
        """The newest bake's id."""
        rows = self.query("SELECT bake_id FROM bakes ORDER BY created_at DESC LIMIT 1")
        assert rows, "no bake"
        return str(rows[0][0])

    def attempt(self, bake_id: str) -> str:
        """The ``Attempt #1 …`` line of ``neuro-jupyter inspect BAKE``."""
        out = self.ok("inspect", bake_id)
        return next(line for line in out.splitlines() if line.startswith("Attempt #"))

    def start_gated_bake(self, wait_for: Any) -> str:
        """Bake ``gated`` and wait until its ``wait`` task runs (until the gate); the bake id."""
        self.ok("bake", "gated", "--detach")
        bake = self.bake_id()
        wait_for(lambda: self.task_statuses(bake).get("wait") == "running")
        return bake

    def wait_gated_bake_succeeded(self, bake: str, wait_for: Any) -> None:
        """Wait until the ``gated`` bake has succeeded, with every task."""
        wait_for(lambda: "succeeded" in self.attempt(bake))
        assert self.task_statuses(bake) == {"first": "succeeded", "wait": "succeeded",
                                            "last": "succeeded"}

    def start_ready(self, job_id: str, wait_for: Any) -> tuple[int, int]:
        """Run a job detached, wait until its log says ``ready``; its supervisor and the
        supervisor's keeper (its parent)."""
        self.ok("run", job_id, "--detach")
        wait_for(lambda: "ready" in self.log_of(job_id))
        pid = int(self.job(job_id)["supervisor_pid"])
        stat = Path(f"/proc/{pid}/stat").read_text()
        return pid, int(stat[stat.rfind(")") + 2:].split()[1])

    def task_statuses(self, bake_id: str) -> dict[str, str]:
        rows = self.query("SELECT full_id, status FROM tasks WHERE bake_id = ?", (bake_id,))
        return {row[0]: row[1] for row in rows}

    def log_of(self, job_id: str) -> str:
        path = self.job(job_id)["log_path"]
        return Path(path).read_text(errors="replace") if path else ""

    def left(self) -> list[str]:
        """What still runs of this test's processes, with command lines (for messages)."""
        return [f"{pid} {cmdline(pid)}" for pid in processes_of(self.home)]

    def wait_nothing_left(self, timeout: float = 20) -> None:
        wait_until(lambda: not processes_of(self.home), timeout=timeout)


LIVE_YML = """\
kind: live
jobs:
  tree:
    image: ubuntu:22.04
    bash: |
      sleep {m}1 &
      setsid sleep {m}2 &
      (setsid bash -c 'sleep {m}3 & exit')
      echo ready
      wait
  group:
    image: ubuntu:22.04
    bash: |
      sleep {m}4 &
      sleep {m}5 &
      echo ready
      wait
  quick:
    image: ubuntu:22.04
    bash: echo quick
  writer:
    image: ubuntu:22.04
    bash: |
      yes 'output of the job' | head -c 300000 || true
      echo wrote
      while [ ! -e {gate} ]; do sleep 0.05; done
      echo after the gate
      exit 3
"""

BATCHES = {
    "tree": """\
kind: batch
tasks:
  - id: tree
    bash: |
      sleep {m}6 &
      setsid sleep {m}7 &
      echo ready
      wait
  - id: after
    needs: [tree]
    bash: echo after
""",
    "daemon": """\
kind: batch
tasks:
  - id: starts
    bash: |
      (setsid bash -c 'sleep {m}8 & exit')
      echo started a daemon
  - id: after
    needs: [starts]
    bash: echo after
""",
    "gated": """\
kind: batch
tasks:
  - id: first
    bash: |
      yes 'output of the task' | head -c 200000 || true
      echo first
  - id: wait
    needs: [first]
    bash: |
      while [ ! -e {gate} ]; do sleep 0.05; done
      echo after the gate
  - id: last
    needs: [wait]
    bash: echo last
""",
}


def make_world(root: Path, home: Path, gate: Path, extra_env: dict[str, str]) -> World:
    marker = str(random.randint(7_000_000, 7_999_999))
    neuro = root / ".neuro"
    neuro.mkdir(parents=True)
    (neuro / "live.yml").write_text(LIVE_YML.format(m=marker, gate=gate))
    for name, text in BATCHES.items():
        (neuro / f"{name}.yml").write_text(text.format(m=marker, gate=gate))
    env = {**os.environ, "NEURO_JUPYTER_HOME": str(home), "NEURO_JUPYTER_KILL_GRACE": "2",
           **extra_env}
    # each command is a new Python: let them share compiled modules (checked against the
    # sources), instead of compiling the package again in each under PYTHONDONTWRITEBYTECODE
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / f"nj-faults-pyc-{os.getuid()}")
    return World(root, home, gate, env)


def end_leftovers(home: Path) -> list[str]:
    """SIGKILL what a failing test left running (its processes only, by pid)."""
    left = [f"{pid} {cmdline(pid)}" for pid in processes_of(home)]
    for entry in left:
        try:
            os.kill(int(entry.split()[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left
