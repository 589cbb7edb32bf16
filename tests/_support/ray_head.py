"""A real Ray head for the tests, on 127.0.0.1 only, started once per session and stopped after.

``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeps every socket on loopback (recipes.md); the head
runs with ``--block`` in its own session, so stopping it is one signal to its process group and
never touches another Ray on the machine (``ray stop`` would stop them all).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from signals import default_sigint

START_TIMEOUT = 90.0
RUNNING: dict[str, RayHead] = {}  # the heads this process started, by address


@dataclass
class RayHead:
    """A running head: its dashboard's address (the Jobs API) and its process group."""

    address: str
    process: subprocess.Popen[bytes]
    temp_dir: Path
    log_path: Path

    def stop(self) -> None:
        """SIGINT the head's process group (``ray start --block`` then stops its processes,
        ≈5 s), SIGTERM and SIGKILL what is left, remove its files."""
        for sig, wait in ((signal.SIGINT, 20.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            _reap_group(self.process.pid, wait)
            break
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        RUNNING.pop(self.address, None)


def _reap_group(pgid: int, wait: float) -> None:
    """Wait until no process of the group is left (killing it once the wait is over)."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ray_env() -> dict[str, str]:
    """The environment every Ray process of the tests gets: loopback only, no usage stats."""
    env = dict(os.environ)
    env.update(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_USAGE_STATS_ENABLED="0")
    env.pop("RAY_ADDRESS", None)
    return env


def start_head(num_cpus: int = 4, attempts: int = 2) -> RayHead:
    """Start a head (``num_cpus`` logical CPUs) and wait until its Jobs API answers; a head
    that fails to start (a chosen port taken in between) is tried again on new ports."""
    for attempt in range(attempts):
        try:
            return _start_head(num_cpus)
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _start_head(num_cpus: int) -> RayHead:
    temp_dir = Path(tempfile.mkdtemp(prefix="njray-", dir="/tmp"))  # short: socket paths
    ports = {name: free_port() for name in (
        "port", "dashboard-port", "ray-client-server-port", "dashboard-agent-listen-port",
        "dashboard-agent-grpc-port", "metrics-export-port", "runtime-env-agent-port",
        "node-manager-port", "object-manager-port",
    )}
    ray = str(Path(sys.executable).parent / "ray")
    argv = [ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1",
            "--dashboard-host=127.0.0.1", "--include-dashboard=true", "--disable-usage-stats",
            f"--temp-dir={temp_dir}", f"--num-cpus={num_cpus}", "--num-gpus=0",
            *(f"--{name}={port}" for name, port in ports.items())]
    log_path = temp_dir / "head.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=ray_env(),
                                   start_new_session=True, preexec_fn=default_sigint)
    head = RayHead(f"http://127.0.0.1:{ports['dashboard-port']}", process, temp_dir, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log_path.read_text(errors="replace")[-3000:]
            head.stop()
            raise RuntimeError(f"ray start exited with {process.returncode}:\n{text}")
        try:
            with urllib.request.urlopen(f"{head.address}/api/version", timeout=2) as answer:
                if answer.status == 200:
                    RUNNING[head.address] = head
                    return head
        except OSError:
            pass
        time.sleep(0.5)
    text = log_path.read_text(errors="replace")[-3000:]
    head.stop()
    raise RuntimeError(f"the Ray head did not answer within {START_TIMEOUT:.0f} s:\n{text}")


def listening_addresses(pgid: int) -> set[str]:
    """The local addresses the processes of group ``pgid`` listen on (TCP, from /proc)."""
    inodes: set[str] = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != pgid:
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                found.add(_address(fields[1]))
    return found


def _address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    if len(host) == 8:
        ip = socket.inet_ntop(socket.AF_INET, bytes.fromhex(host)[::-1])
    else:
        raw = bytes.fromhex(host)
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
    return f"{ip}:{int(port, 16)}"
