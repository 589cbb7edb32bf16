"""A warm parent for bake executors: it forks them with the package already imported.

An executor is a new process (it must outlive its caller). Started as ``python -m``, it spends
0.1–0.2 s on Python's start and its imports before it can plan the flow, on every bake's
critical path. So a process that starts executors again and again (a kernel, the Jupyter
server, a benchmark) starts one fork server, in the background, with its second executor. The
server imports what an executor needs once, then forks one executor per request, which runs
the same code as ``python -m neuro_jupyter.core.bake.executor`` (``executor.main``) in its own
session, with the caller's environment and working folder, and the two descriptors the caller
sent with the request as its stdin and stdout. A process's first executor is always started
with ``python -m``, so the CLI, which starts one, never pays for a server.

The server has no threads and opens no store: a fork copies neither safely. It exits when its
caller goes (the socket ends) or after ``IDLE_EXIT`` seconds without a request. The executors
it forked are in their own sessions and run on. ``NEURO_JUPYTER_FORKSERVER=0`` turns it off,
and so does any failure to start it: the caller then starts ``python -m`` as before.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn

from ..backends.local.keeper import exit_flushed
from ..errors import BackendError
from ..fdwait import readable

ENV = "NEURO_JUPYTER_FORKSERVER"
READY = b"ready\n"
IDLE_EXIT = 1800.0  # seconds without a request before the server leaves
IDLE_CODE = 3  # the server's exit code when it left for being idle: it forked nothing more
START_TIMEOUT = 60.0  # for the server's imports, on a loaded machine (``prestart``)
REPLY_TIMEOUT = 30.0
MAX_REQUEST = 100_000  # one datagram, below the socket's default buffer; else python -m

# modules an executor imports lazily (its plan, the runner, the local backend)
WARM_MODULES = (
    "neuro_jupyter.core.bake.executor",
    "neuro_jupyter.core.bake.runner",
    "neuro_jupyter.core.backends",
    "neuro_jupyter.core.backends.local.child",
    "neuro_jupyter.core.backends.local.limits",
    "neuro_jupyter.core.backends.local.mapping",
    "neuro_jupyter.core.project.discovery",
    "neuro_jupyter.core.store.projects",
)


# --- the caller's side ----------------------------------------------------------------------


@dataclass
class _Server:
    popen: subprocess.Popen[bytes]
    sock: socket.socket
    key: tuple[object, ...]
    ready: bool = False


_lock = threading.Lock()
_server: list[_Server] = []  # the calling process's server, once started
_launches: dict[tuple[object, ...], int] = {}  # executors started, per _key()
_broken: set[tuple[object, ...]] = set()  # a server that could not start: not tried again


def usable() -> bool:
    """Whether executors may be forked here (Linux, not turned off)."""
    return (
        os.environ.get(ENV, "1") != "0" and sys.platform.startswith("linux")
        and hasattr(socket, "send_fds") and hasattr(os, "fork")
    )


def launch(argv: Sequence[str], *, cwd: str, env: Mapping[str, str], stdin_fd: int,
           stdout_fd: int) -> int | None:
    """Fork an executor running ``executor.main(argv)``; its pid, or None when the caller is
    to start it itself (``python -m``).

    A process's first executor is never forked: a process that starts one (the CLI) would
    only pay for a server. The second starts the server in the background, and executors
    are forked from the first request after it is ready. The caller keeps its own copies of
    the two descriptors. Once a request has gone out, a failure raises ``BackendError``: an
    executor forked anyway is harmless, since it leaves at the end of its stdin without
    having touched the store.
    """
    if not usable():
        return None
    payload = json.dumps(
        {"argv": list(argv), "cwd": cwd, "env": dict(env), "umask": _umask()}
    ).encode()
    if len(payload) > MAX_REQUEST:
        return None
    with _lock:
        key = _key()
        _launches[key] = _launches.get(key, 0) + 1
        server = _ready_server(start=_launches[key] > 1)
        if server is None:
            return None
        try:
            socket.send_fds(server.sock, [payload], [stdin_fd, stdout_fd])
        except OSError:  # it has gone: nothing was received
            _drop(server)
            return None
        try:
            reply = server.sock.recv(4096)
        except OSError:
            reply = b""
        if reply:
            answer = json.loads(reply)
            if "pid" not in answer:
                raise BackendError(f"cannot start the bake executor: {answer.get('error')}")
            return int(answer["pid"])
        _drop(server)
        if server.popen.returncode == IDLE_CODE:  # it left before reading the request
            return None
        raise BackendError("cannot start the bake executor: its fork server stopped")


def prestart(timeout: float = START_TIMEOUT) -> bool:
    """Start this process's server now (if it is not running) and wait until it is ready."""
    if not usable():
        return False
    with _lock:
        server = _running() or _start()
        if server is None:
            return False
        if not server.ready:
            server.sock.settimeout(timeout)
            _check_ready(server, block=True)
            if server.ready:
                server.sock.settimeout(REPLY_TIMEOUT)
        return server.ready


def _umask() -> int | None:
    """The caller's umask as it is now, for the executor and its tasks (``python -m`` inherits
    it). Read from /proc: setting it to read it back would race with the caller's threads."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return None


def _key() -> tuple[object, ...]:
    """What a server's imports depend on: a forked caller or another path needs a new one."""
    return (os.getpid(), sys.executable, os.environ.get("PYTHONPATH", ""))


def _running() -> _Server | None:
    """This process's server if it is still there, else None (and it is forgotten)."""
    if not _server:
        return None
    server = _server[0]
    if server.key == _key() and server.popen.poll() is None:
        return server
    _drop(server)
    return None


def _ready_server(*, start: bool) -> _Server | None:
    """The server if it is ready to fork; started in the background when there is none and
    ``start`` says so."""
    server = _running()
    if server is None:
        if start:
            _start()
        return None
    if not server.ready:
        _check_ready(server, block=False)
    return server if server.ready else None


def _check_ready(server: _Server, *, block: bool) -> None:
    """Read the server's "ready" line if it has come; a server that failed is dropped."""
    if not block and not readable([server.sock], 0):
        return  # still importing (a socket with a timeout waits before a MSG_DONTWAIT recv)
    try:
        line = server.sock.recv(64)
    except OSError:  # a timeout while blocking
        line = b""
    if line == READY:
        server.ready = True
        return
    _broken.add(server.key)  # it could not import what executors need: python -m it is
    _drop(server)


def _drop(server: _Server) -> None:
    if server in _server:
        _server.remove(server)
    server.sock.close()  # a server still running leaves at the end of its socket
    try:
        server.popen.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        server.popen.kill()
        server.popen.wait()


def _start() -> _Server | None:
    """Start a server (not waiting for it to be ready); None when it cannot be started."""
    key = _key()
    if key in _broken:
        return None
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    package_parent = str(Path(__file__).resolve().parents[3])  # on sys.path anyway
    try:
        popen = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno()), str(IDLE_EXIT)],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, cwd=package_parent,
        )
    except OSError:
        ours.close()
        _broken.add(key)
        return None
    finally:
        theirs.close()
    ours.settimeout(REPLY_TIMEOUT)
    server = _Server(popen, ours, key)
    _server.append(server)
    return server


# --- the server -----------------------------------------------------------------------------


def _reap(signum: int, frame: FrameType | None) -> None:
    """Collect exited executors at once (a zombie would look alive to readers of its pid)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(sock: socket.socket, idle: float = IDLE_EXIT) -> int:
    """Answer fork requests until the caller goes or ``idle`` seconds pass without one; the
    exit code."""
    import importlib

    for name in WARM_MODULES:
        importlib.import_module(name)
    import neuro_jupyter.core.workflow as workflow

    for info in _submodules(workflow.__path__, workflow.__name__):
        importlib.import_module(info)
    from ..backends.local.limits import libc

    libc()  # loaded once here: each executor's keeper calls prctl through it
    gc.collect()
    gc.freeze()  # what is imported stays shared with the executors, page for page
    signal.signal(signal.SIGCHLD, _reap)
    sock.sendall(READY)
    sock.settimeout(idle)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, 2)
        except TimeoutError:
            return IDLE_CODE
        except OSError:
            return 0
        if not message:
            return 0  # the caller has gone
        try:
            if len(fds) != 2:
                raise ValueError(f"expected 2 descriptors, got {len(fds)}")
            request = json.loads(message)
            pid = os.fork()
        except Exception as exc:  # tell the caller; the next request may work
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
            continue
        if pid == 0:
            _run_executor(sock, request, fds)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"pid": pid}).encode())


def _submodules(path: Sequence[str], package: str) -> list[str]:
    import pkgutil

    return [f"{package}.{info.name}" for info in pkgutil.iter_modules(path)]


def _run_executor(sock: socket.socket, request: Mapping[str, object], fds: list[int]) -> NoReturn:
    """In the forked child: become the executor the request describes, then exit."""
    code = 1
    try:
        sock.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        stdin_fd, stdout_fd = fds
        os.dup2(stdin_fd, 0)
        os.dup2(stdout_fd, 1)
        os.dup2(stdout_fd, 2)
        os.close(stdin_fd)
        os.close(stdout_fd)
        env = request["env"]
        assert isinstance(env, dict)
        os.environ.clear()
        os.environ.update(env)
        os.chdir(str(request["cwd"]))
        umask = request.get("umask")
        if isinstance(umask, int):
            os.umask(umask)
        from .executor import main

        argv = request["argv"]
        assert isinstance(argv, list)
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        exit_flushed(code)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m neuro_jupyter.core.bake.forkserver FD IDLE``: serve on the socket at FD,
    leave after IDLE seconds without a request."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        fd, idle = int(args[0]), float(args[1])
    except (IndexError, ValueError):
        fd = idle = -1
    if len(args) != 2 or fd < 0 or idle <= 0:
        print("usage: python -m neuro_jupyter.core.bake.forkserver FD IDLE", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    with socket.socket(fileno=fd) as sock:
        return serve(sock, idle)


if __name__ == "__main__":
    sys.exit(main())
