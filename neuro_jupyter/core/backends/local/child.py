"""Bake tasks as plain child processes of the bake orchestrator: cheap to start and to wait on.

Each task runs in its own process group (``start_new_session``). Its stdout and stderr go
through a pipe that the caller pumps into the task's log file, which is created on the first
byte (most short tasks print nothing, and creating a file costs as much as starting ``true``).
``fileno()`` gives a pidfd (readable once the child has exited) and ``out_fd`` the pipe, so the
orchestrator waits on many children with one selector: no thread and no sleeping poll per task.
``poll()`` also pumps, so a caller that only polls still gets the whole log.

Tasks start with ``os.posix_spawn`` (``setsid``, the pipe as stdout/stderr through file actions)
when they need no ``preexec_fn`` and start in the caller's working folder: it skips
``subprocess.Popen``'s Python set-up, which costs as much as the spawn itself. Instead of
``close_fds``, it relies on the caller's descriptors being close-on-exec (Python's default,
PEP 446, and SQLite's): the bake executor, started with ``close_fds``, has no other inheritable
one, so a task gets only 0, 1 and 2. Otherwise, ``subprocess.Popen`` as before. A spawned
child holds the caller's descriptors until its ``exec`` completes, *after* ``posix_spawn`` has
returned: pipes leave the caller's selector before they are closed (``close_output``).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO, Protocol

from ...bake.taskenv import PER_TASK
from ...errors import BackendError
from ..base import Execution, ExitInfo, ProcessSpec
from . import launcher, spawn
from .limits import preexec
from .procs import signal_group, signal_name, start_ticks
from .spawn import env_block

CHUNK = 1 << 16


class _Process(Protocol):
    """What ChildExecution needs of a child: ``subprocess.Popen`` or ``SpawnedProcess``."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class SpawnedProcess:
    """A child started with ``os.posix_spawn``: ``poll``/``wait`` like ``subprocess.Popen``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit code (``-signal`` when killed), or None while it runs."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: nothing more to learn
                self.returncode = 255
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit; ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
        end = None if timeout is None else time.monotonic() + timeout
        delay = 0.0005
        while (code := self.poll()) is None:
            if end is not None and time.monotonic() >= end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return code


class ChildExecution(Execution):
    """A task process started by ``start_child``."""

    def __init__(
        self, popen: _Process, raw_id: str, life_span: float | None,
        out_fd: int, log_path: str, on_end: Callable[[], None] | None = None,
    ) -> None:
        self.popen = popen
        self._on_end = on_end  # called once, when its end is known (``poll``)
        self.raw_id = raw_id
        self.pid = popen.pid
        self.started_at = time.time()
        self.deadline = self.started_at + life_span if life_span else None
        self.log_path = log_path
        self.out_fd: int | None = out_fd
        self._log: BinaryIO | None = None
        self._pidfd: int | None = None
        self._exit: ExitInfo | None = None
        self._reason = ""
        self._pid_start: str | None = None
        self.has_output = False  # whether the task printed anything (its log file exists)
        self._eof = False
        self._lost = 0  # bytes of output that could not be written (a full disk)

    @property
    def pid_start(self) -> str:
        """The child's start time in /proc (read on first use: most tasks never need it)."""
        if self._pid_start is None:
            ticks = start_ticks(self.pid) if self._exit is None else None
            self._pid_start = "" if ticks is None else str(ticks)
        return self._pid_start

    def fileno(self) -> int:
        """A pidfd for the child (Linux ≥ 5.3); readable when it exits."""
        if self._pidfd is None:
            try:
                self._pidfd = os.pidfd_open(self.pid)
            except (AttributeError, OSError) as exc:
                raise BackendError(f"pidfd_open is not available: {exc}") from exc
        return self._pidfd

    def pump(self) -> bool:
        """Move what the task printed into its log file; False once its output has ended."""
        fd = self.out_fd
        if fd is None or self._eof:
            return False
        while True:
            try:
                data = os.read(fd, CHUNK)
            except BlockingIOError:
                return True
            except OSError:
                data = b""
            if not data:  # the caller unregisters the pipe from its selector, then closes it
                self._eof = True
                return False
            try:
                if self._log is None:
                    self._log = _open_log(self.log_path)
                    self.has_output = True
                if self._lost:
                    self._log.write(_lost_note(self._lost))
                    self._lost = 0
                written = self._log.write(data)
            except OSError:  # e.g. a full disk: the output is lost, the task goes on
                written = 0
            if written is not None and written < len(data):
                self._lost += len(data) - written

    def poll(self) -> ExitInfo | None:
        if self._exit is not None:
            return self._exit
        self.pump()
        code = self.popen.poll()
        if code is None:
            if self.deadline is not None and time.time() >= self.deadline:
                self._reason = "life span ended"
                self.kill(grace=2.0)
                code = self.popen.poll()
            if code is None:
                return None
        self._exit = self._exit_info(code)
        self.pump()  # what is left in the pipe (a leftover grandchild may keep it open)
        self._close()
        if self._on_end is not None:
            self._on_end()
            self._on_end = None
        return self._exit

    def _exit_info(self, code: int) -> ExitInfo:
        if code < 0:
            sig = -code
            reason = self._reason or f"killed by {signal_name(sig)}"
            return ExitInfo(exit_code=None, signal=sig, reason=reason)
        reason = self._reason or ("" if code == 0 else f"exit code {code}")
        return ExitInfo(exit_code=code, reason=reason)

    def kill(self, grace: float = 10.0) -> None:
        """SIGTERM the task's process group, then SIGKILL it if the task is still there."""
        if self.popen.poll() is not None:
            signal_group(self.pid, signal.SIGKILL)  # leftovers of the group
            return
        if not self._reason:
            self._reason = "cancelled"
        signal_group(self.pid, signal.SIGTERM)
        end = time.monotonic() + grace
        while time.monotonic() < end:
            self.pump()
            if self.popen.poll() is not None:
                break
            time.sleep(0.01)
        signal_group(self.pid, signal.SIGKILL)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process stuck in the kernel
            pass

    def exited(self) -> bool:
        """Whether the task's process has ended (it is not reaped from the caller's view until
        ``poll``); a task's output mostly ends with it."""
        return self._exit is not None or self.popen.poll() is not None

    @property
    def output_open(self) -> bool:
        """Whether the task's output may still bring data (the pipe has not ended)."""
        return self.out_fd is not None and not self._eof

    def close_output(self) -> None:
        """Close the pipe and the log once the output has ended (``pump`` returned False).

        Not done by ``pump`` itself: a selector must drop the pipe before it is closed. A task
        spawned meanwhile holds every descriptor until its ``exec`` completes, after
        ``posix_spawn`` has returned, so a pipe closed while registered could stay in an epoll
        set under a number that the next pipe reuses."""
        self._close_out()

    def _close_out(self) -> None:
        if self.out_fd is not None:
            os.close(self.out_fd)
            self.out_fd = None
        if self._lost:  # say so in the log, if it can take that much
            try:
                if self._log is None:
                    self._log = _open_log(self.log_path)
                    self.has_output = True
                self._log.write(_lost_note(self._lost))
            except OSError:
                pass
            self._lost = 0
        if self._log is not None:
            try:
                self._log.close()
            except OSError:
                pass
            self._log = None

    def _close(self) -> None:
        self._close_out()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


_ENV_CACHE: dict[tuple[tuple[str, str], ...], tuple[dict[bytes, bytes], SharedEnv]] = {}
_WHICH_CACHE: dict[tuple[str, str], str] = {}
_DEVNULL: list[int] = []
_RESET_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name)
)
_POINTER = ctypes.sizeof(ctypes.c_char_p)


class SharedEnv:
    """The env a bake's tasks share (``os.environ`` with the spec's shared variables on top),
    and its ``envp`` for ``spawn.LibcSpawn``, encoded once."""

    __slots__ = ("env", "_base")

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self._base: tuple[frozenset[str], list[bytes], ctypes.Array[ctypes.c_char_p]] | None = None

    def block(self, own: Mapping[str, str]) -> tuple[ctypes.Array[ctypes.c_char_p], object]:
        """``envp`` of this env with ``own`` on top, and what it points into (to keep alive
        with it). The shared part is encoded once per set of ``own`` names, then copied."""
        names = frozenset(own)
        if self._base is None or self._base[0] != names:
            entries = [_entry(key, value) for key, value in self.env.items() if key not in names]
            self._base = (names, entries, env_block(entries))
        _, entries, base = self._base
        count = len(entries)
        block = (ctypes.c_char_p * (count + len(own) + 1))()
        ctypes.memmove(block, base, count * _POINTER)
        for i, (key, value) in enumerate(own.items(), count):
            block[i] = _entry(key, value)
        return block, self._base


def _entry(key: str, value: str) -> bytes:
    """``NAME=value`` as ``os.posix_spawn`` encodes it (and refuses)."""
    name, data = _encode(key), _encode(value)
    if not name or b"=" in name or b"\0" in name or b"\0" in data:
        raise ValueError(f"illegal environment variable {key!r}")
    return name + b"=" + data


def _encode(text: str) -> bytes:
    """``os.fsencode`` of a str, without its Python call layers (words and env per task)."""
    return text.encode(_FS_ENCODING, _FS_ERRORS)


_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def _env_parts(extra: Mapping[str, str]) -> tuple[SharedEnv, dict[str, str]]:
    """The env the bake's tasks share (built again only when it or ``os.environ`` changed) and
    what differs per task (its id, ``PER_TASK``)."""
    own = {key: extra[key] for key in PER_TASK if key in extra}
    if not own:
        return _shared_env(extra), own
    return _shared_env({k: v for k, v in extra.items() if k not in own}), own


def _child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """``os.environ`` with the spec's variables on top: the shared part from the cache, what
    differs per task added to a copy (a plain dict copy, not a rebuild from ``os.environ``:
    1 µs, not 60)."""
    shared, own = _env_parts(extra)
    if not own:
        return shared.env
    env = dict(shared.env)
    env.update(own)
    return env


def _shared_env(extra: Mapping[str, str]) -> SharedEnv:
    """``os.environ`` with ``extra`` on top, cached (never changed by callers)."""
    current = getattr(os.environ, "_data", None)  # the raw dict: compared in C, quickly
    key = tuple(extra.items())
    cached = _ENV_CACHE.get(key)
    if cached is not None and current is not None and cached[0] == current:
        return cached[1]
    env = dict(os.environ)
    env.update(extra)
    shared = SharedEnv(env)
    if isinstance(current, dict):
        if len(_ENV_CACHE) > 64:
            _ENV_CACHE.clear()
        _ENV_CACHE[key] = (dict(current), shared)
    return shared


def _which(command: str, env: Mapping[str, str]) -> str | None:
    """The executable ``command`` runs, searched on the child's PATH (as Popen does)."""
    if os.sep in command:
        return command
    path = env.get("PATH", os.defpath)
    key = (command, path)
    found = _WHICH_CACHE.get(key)
    if found is None:
        found = shutil.which(command, path=path)
        if found is not None:
            _WHICH_CACHE[key] = found
    return found


def _devnull() -> int:
    if not _DEVNULL:
        _DEVNULL.append(os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC))
    return _DEVNULL[0]


def _lost_note(count: int) -> bytes:
    return (f"\n[neuro-jupyter: {count} bytes of this task's output could not be written to "
            "its log (no space left?)]\n").encode()


def _open_log(path: str) -> BinaryIO:
    """Open a task's log for appending, creating its folder if needed."""
    try:
        return open(path, "ab", buffering=0)
    except FileNotFoundError:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return open(path, "ab", buffering=0)


def _in_cwd(workdir: Path) -> bool:
    """Whether ``workdir`` is this process's working folder (a bake's tasks mostly start in
    the project root, where its executor runs)."""
    try:
        cwd = os.getcwd()
        text = str(workdir)
        return text == cwd or (text, cwd) in _SAME or _same(text, cwd)
    except OSError:
        return False


_SAME: set[tuple[str, str]] = set()  # (folder, cwd) pairs found the same folder


def _same(folder: str, cwd: str) -> bool:
    if not os.path.samefile(folder, cwd):
        return False
    if len(_SAME) < 64:
        _SAME.add((folder, cwd))
    return True


def _spawn(argv: list[str], env: dict[str, str], write_end: int) -> _Process:
    """``posix_spawn`` in a new session, stdin from /dev/null, stdout and stderr to the pipe."""
    exe = _which(argv[0], env)
    if exe is None:
        raise FileNotFoundError(2, "No such file or directory", argv[0])
    pid = os.posix_spawn(
        exe, argv, env, setsid=True, setsigdef=_RESET_SIGNALS,
        file_actions=[
            (os.POSIX_SPAWN_DUP2, _devnull(), 0),
            (os.POSIX_SPAWN_DUP2, write_end, 1),
            (os.POSIX_SPAWN_DUP2, write_end, 2),
        ],
    )
    return SpawnedProcess(pid)


def start_child(spec: ProcessSpec, raw_id: str) -> Execution:
    """Start ``spec`` as a child in its own process group, its output piped to its log.

    On a launcher thread (``launcher.py``) where libc's spawn can be used: the caller gets the
    task back at once. A preset's CPU and memory limits need a ``preexec_fn`` (the slower fork
    path, on the caller's thread), so that is used only when the spec has limits.
    """
    in_cwd = _in_cwd(spec.workdir)
    if not in_cwd and not spec.workdir.is_dir():
        raise BackendError(f"Cannot start {spec.argv[0]}: no folder {spec.workdir}")
    resources = spec.resources
    preexec_fn: Callable[[], None] | None = None
    if resources.cpu or resources.memory_mb:
        preexec_fn = preexec(resources)
    group = launcher.current_group()
    spawner = spawn.spawner() if preexec_fn is None and group.busy else None
    if spawner is not None and (in_cwd or spawner.can_chdir):
        return _launch(spec, raw_id, spawner, None if in_cwd else os.fsencode(spec.workdir))
    # nothing else of the caller's runs: spawned here (a launcher thread would only add two
    # thread wake-ups to a chain of tasks), counted in the group so the next one is not
    env = _child_env(spec.env)
    read_end, write_end = os.pipe()
    popen: _Process
    try:
        if in_cwd and preexec_fn is None and hasattr(os, "posix_spawn"):
            popen = _spawn(list(spec.argv), env, write_end)
        else:
            popen = subprocess.Popen(
                list(spec.argv), cwd=str(spec.workdir), env=env, stdin=subprocess.DEVNULL,
                stdout=write_end, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=preexec_fn, close_fds=True,
            )
    except FileNotFoundError as exc:
        os.close(read_end)
        raise BackendError(f"{spec.argv[0]}: command not found") from exc
    except OSError as exc:
        os.close(read_end)
        raise BackendError(f"Cannot start {spec.argv[0]}: {exc}") from exc
    finally:
        os.close(write_end)
    os.set_blocking(read_end, False)
    group.started()
    return ChildExecution(popen, raw_id, spec.life_span, read_end, str(spec.log_path),
                          on_end=group.stopped)


def start_after(spec: ProcessSpec, raw_id: str, after: Execution) -> Execution | None:
    """``spec``, to be started by the launcher thread of ``after`` as soon as ``after`` has
    succeeded (``LaunchedChild.then``); None when that cannot be (then start it as usual).
    Errors of the spec (an unknown command) are raised now, as ``start_child`` does."""
    if not isinstance(after, launcher.LaunchedChild) or spec.resources.cpu or (
            spec.resources.memory_mb):
        return None
    spawner = spawn.spawner()
    in_cwd = _in_cwd(spec.workdir)
    if spawner is None or not (in_cwd or spawner.can_chdir) or not (
            in_cwd or spec.workdir.is_dir()):
        return None
    child = _launch(spec, raw_id, spawner, None if in_cwd else os.fsencode(spec.workdir),
                    successor=True)
    return child if after.then(child) else None


def _launch(spec: ProcessSpec, raw_id: str, spawner: spawn.LibcSpawn,
            cwd: bytes | None, successor: bool = False) -> launcher.LaunchedChild:
    """Hand ``spec`` to a launcher thread; what can be checked here (the command, the env) is,
    so that those errors are raised to the caller as with any start."""
    shared, own = _env_parts(spec.env)
    exe = _which(spec.argv[0], shared.env if "PATH" not in own else {**shared.env, **own})
    if exe is None or (os.sep in spec.argv[0] and not os.path.exists(
            os.path.join(spec.workdir, exe))):  # a path: relative to where the task starts
        raise BackendError(f"{spec.argv[0]}: command not found")
    try:
        envp, keep = shared.block(own)
        argv = [_encode(word) for word in spec.argv]
    except ValueError as exc:  # a NUL byte, an illegal name
        raise BackendError(f"Cannot start {spec.argv[0]}: {exc}") from exc
    if any(b"\0" in word for word in argv):
        raise BackendError(f"Cannot start {spec.argv[0]}: embedded null byte")
    child = launcher.LaunchedChild(raw_id, str(spec.log_path))
    return launcher.start(child, spawner, _encode(exe), argv, envp, cwd=cwd,
                          life_span=spec.life_span, open_log=_open_log, keep=keep,
                          successor=successor)
