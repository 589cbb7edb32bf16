"""Bake tasks started and waited for on threads of their own, so that the executor's
scheduling thread never blocks on one.

``start`` hands a task to a launcher thread and returns at once; the thread spawns it
(``spawn.LibcSpawn``, the GIL released while glibc waits for the child's ``exec``), moves its
output into its log file (created on the first byte, as before), ends it at its life span,
waits for its exit, and then makes the task's descriptor (``fileno()``, an eventfd) readable.
The scheduler waits on those descriptors with the others and reads the end with ``poll()``:
one wake-up per task, and no spawn, pipe, pidfd or ``waitpid`` on its thread.

Why: glibc's spawn blocks the caller until the child has reached ``exec``; with Python's
``os.posix_spawn`` that is the GIL too. On an idle machine that is 0.2 ms a task, on a loaded
one several ms, during which the executor could neither reap nor start any other task, so its
tasks ran one at a time (``bench/README.md``). Threads that block each in their own spawn and
wait, as a pool of subprocess calls does, keep ``max_parallel`` tasks running.

One thread per running task (threads are reused; an idle one waits for the next task); the
pid is known once the thread has spawned the task, shortly after ``start`` returns. A spawn
that fails on the thread (rare: the command and the folder are checked before) ends the task
with ``start_error`` set and no process.
"""

from __future__ import annotations

import ctypes
import functools
import os
import queue
import select
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO

from ..base import Execution, ExitInfo
from .procs import signal_group, signal_name, start_ticks
from .spawn import LibcSpawn

CHUNK = 1 << 16
KILL_AFTER_LIFE_SPAN = 2.0  # SIGTERM at the end of the life span, SIGKILL this much later
OpenLog = Callable[[str], BinaryIO]


class LaunchedChild(Execution):
    """A task process started on a launcher thread (``start``)."""

    out_fd = None  # its output goes to its log on the launcher thread: nothing to pump here
    output_open = False
    deadline = None  # its life span is kept by the launcher thread
    ran = 0.0  # seconds from its spawn to its exit, once it has exited

    _waiting_task: _Task | None = None  # a successor's task until ``then`` takes it

    def __init__(self, raw_id: str, log_path: str, group: Group | None = None) -> None:
        self.raw_id = raw_id
        self.log_path = log_path
        self.group = group or current_group()
        self.pid: int | None = None  # set by the launcher thread once spawned
        self.started_at = time.time()
        self.has_output = False  # whether the task printed anything (its log file exists)
        self.start_error = ""  # why it could not be spawned (then it never ran)
        self._exit: ExitInfo | None = None
        self._reason = ""
        self._lock = threading.Lock()
        self._pending: int | None = None  # a signal asked for before the pid was known
        self._done = _Latch()
        self._done_fd: int | None = None  # made on request (``fileno``)
        self._pid_start: str | None = None
        self._successor: _Task | None = None  # started by its launcher thread if it succeeds
        self.successor_taken = False  # whether it was (known once this task has ended)

    @property
    def spawning(self) -> bool:
        """Whether the launcher thread has not spawned it yet (nor failed to)."""
        return self.pid is None and not self._done.is_set()

    def fileno(self) -> int:
        """A descriptor of its own, readable once the task has ended and its output is in its
        log (a scheduler of many tasks waits on their ``group`` instead)."""
        self.group.release()
        with self._lock:
            if self._done_fd is None:
                self._done_fd = os.eventfd(1 if self._done.is_set() else 0,
                                           os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            return self._done_fd

    @property
    def pid_start(self) -> str:
        """The child's start time in /proc (read on first use: most tasks never need it)."""
        if self._pid_start is None:
            ticks = start_ticks(self.pid) if self.pid and not self._done.is_set() else None
            if ticks is None and not self._done.is_set():
                return ""  # not spawned yet: asked again later
            self._pid_start = "" if ticks is None else str(ticks)
        return self._pid_start

    def poll(self) -> ExitInfo | None:
        if not self._done.is_set():
            self.group.release()
            return None
        with self._lock:
            if self._done_fd is not None:
                os.close(self._done_fd)
                self._done_fd = None
        return self._exit

    def exited(self) -> bool:
        return self._done.is_set()

    def close_output(self) -> None:
        """Nothing to close here: the launcher thread owns the output."""

    def kill(self, grace: float = 10.0) -> None:
        """SIGTERM the task's process group, SIGKILL it if still there after ``grace``."""
        if self._done.is_set():
            if self.pid:
                signal_group(self.pid, signal.SIGKILL)  # leftovers of the group
            return
        self.group.release()
        with self._lock:
            if not self._reason:
                self._reason = "cancelled"
        self._signal(signal.SIGTERM)
        if not self._done.wait(grace):
            self._signal(signal.SIGKILL)
            self._done.wait(5.0)
        if self.pid:
            signal_group(self.pid, signal.SIGKILL)

    def then(self, successor: LaunchedChild) -> bool:
        """Have ``successor`` (made by ``start(..., after=self)``) started by this task's
        launcher thread as soon as this task has ended with exit code 0, before its end is
        reported: the slot it frees is refilled without waiting for the scheduler. False when
        this task cannot take one (it has ended, or has one)."""
        task = successor._waiting_task
        with self._lock:
            if task is None or self._done.is_set() or self._successor is not None:
                return False
            self._successor = task
            successor._waiting_task = None
        return True

    def withdraw(self) -> bool:
        """Take back the successor before it starts; False when it has started already (the
        scheduler learns so with this task's end: ``successor_taken``)."""
        with self._lock:
            if self.successor_taken:
                return False
            self._successor = None
            return True

    def _take(self, ok: bool) -> _Task | None:
        """On the launcher thread, at this task's end: its successor to start, if any."""
        with self._lock:
            task, self._successor = (self._successor if ok else None), None
            self.successor_taken = task is not None
            return task

    def _signal(self, sig: int) -> None:
        """Signal the task's group now, or as soon as it is spawned."""
        with self._lock:
            if self.pid is None:
                self._pending = sig
                return
        signal_group(self.pid, sig)

    # --- on the launcher thread ------------------------------------------------------------

    def _spawned(self, pid: int) -> None:
        with self._lock:
            self.pid = pid
            pending, self._pending = self._pending, None
        if pending is not None:
            signal_group(pid, pending)

    def _end(self, info: ExitInfo) -> None:
        self._exit = info
        with self._lock:
            self._done.set()
            if self._done_fd is not None:
                os.eventfd_write(self._done_fd, 1)
        self.group._report(self)

    def _exit_info(self, status: int) -> ExitInfo:
        code = os.waitstatus_to_exitcode(status)
        with self._lock:
            reason = self._reason
        if code < 0:
            return ExitInfo(exit_code=None, signal=-code,
                            reason=reason or f"killed by {signal_name(-code)}")
        return ExitInfo(exit_code=code, reason=reason or ("" if code == 0 else f"exit code {code}"))


class _Latch:
    """``threading.Event`` for one setter, at a lock's cost (an Event per task is a Condition,
    a deque and two locks)."""

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if not self._set:
            self._set = True
            self._lock.release()

    def wait(self, timeout: float) -> bool:
        """Whether it is set, waiting up to ``timeout`` seconds for it."""
        if self._set:
            return True
        if self._lock.acquire(timeout=timeout):
            self._lock.release()
        return self._set


class _Task:
    """What a launcher thread needs to run one task."""

    __slots__ = ("child", "spawner", "path", "argv", "envp", "cwd", "life_span", "open_log",
                 "keep")

    def __init__(self, child: LaunchedChild, spawner: LibcSpawn, path: bytes,
                 argv: Sequence[bytes], envp: ctypes.Array[ctypes.c_char_p], cwd: bytes | None,
                 life_span: float | None, open_log: OpenLog, keep: object) -> None:
        self.child, self.spawner, self.path, self.argv = child, spawner, path, argv
        self.envp, self.cwd, self.life_span, self.open_log = envp, cwd, life_span, open_log
        self.keep = keep  # what ``envp`` points into


def start(child: LaunchedChild, spawner: LibcSpawn, path: bytes, argv: Sequence[bytes],
          envp: ctypes.Array[ctypes.c_char_p], *, cwd: bytes | None, life_span: float | None,
          open_log: OpenLog, keep: object = None, successor: bool = False) -> LaunchedChild:
    """Give the task to a launcher thread: now, or when its group is next released if the
    group's scheduler said it releases it (``Group.deferred``). A ``successor`` is not
    started: it waits to be given to a running task (``LaunchedChild.then``)."""
    task = _Task(child, spawner, path, argv, envp, cwd, life_span, open_log, keep)
    if successor:
        child._waiting_task = task
        return child
    child.group.started()
    if child.group.deferred:
        child.group._hold(task)
    else:
        _POOL.submit(task)
    return child


class Group:
    """The tasks one thread started: their ends are reported on one descriptor (``fileno``),
    collected with ``ended``, so a scheduler of many tasks makes no descriptor per task.

    When ``deferred`` (set by a scheduler that calls ``release`` before it waits), tasks
    started are handed to the launcher threads on ``release``: a thread woken while the
    scheduler still runs Python would only wait for the GIL (and, on a busy machine, push the
    scheduler off its CPU). Polling, waiting on or killing a task releases its group too."""

    def __init__(self) -> None:
        self.deferred = False
        self._fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self._lock = threading.Lock()
        self._ended: list[LaunchedChild] = []
        self._held: list[_Task] = []
        self._active = 0  # tasks of the group started and not ended (of any kind)

    @property
    def busy(self) -> bool:
        """Whether a task of the group runs (or is about to): a new one then goes to a
        launcher thread, so that its spawn does not hold up the scheduler."""
        return self._active > 0

    def started(self) -> None:
        """Count a task the caller started itself (``ended`` it when it has ended)."""
        with self._lock:
            self._active += 1

    def stopped(self) -> None:
        """A task counted with ``started`` has ended."""
        with self._lock:
            self._active -= 1

    def fileno(self) -> int:
        """Readable when a task of the group has ended since the last ``ended``."""
        return self._fd

    def release(self) -> int:
        """Hand the tasks started since the last release to the launcher threads; how many."""
        if not self._held:
            return 0
        with self._lock:
            held, self._held = self._held, []
        for task in held:
            _POOL.submit(task)
        return len(held)

    def ended(self) -> list[LaunchedChild]:
        """The tasks that ended since the last call."""
        try:
            os.eventfd_read(self._fd)
        except BlockingIOError:
            pass
        with self._lock:
            ended, self._ended = self._ended, []
        return ended

    def _hold(self, task: _Task) -> None:
        with self._lock:
            self._held.append(task)

    def _report(self, child: LaunchedChild) -> None:
        with self._lock:
            self._ended.append(child)
            self._active -= 1
        os.eventfd_write(self._fd, 1)


_GROUPS = threading.local()


def current_group() -> Group:
    """The group of the calling thread's tasks."""
    group: Group | None = getattr(_GROUPS, "group", None)
    if group is None:
        group = _GROUPS.group = Group()
    return group


def _run(task: _Task) -> tuple[Callable[[], None], _Task | None]:
    """On a launcher thread: spawn the task, pump its output, end it at its life span, wait
    for its exit; what reports its end (called by the pool once it is ready for more), and
    the task's successor to run next on this thread (``LaunchedChild.then``)."""
    child = task.child
    read_end, write_end = os.pipe()
    spawned = time.monotonic()
    try:
        pid = task.spawner(task.path, task.argv, task.envp, write_end, task.cwd)
    except OSError as exc:
        os.close(read_end)
        child.start_error = f"Cannot start {task.argv[0].decode(errors='replace')}: {exc}"
        child._take(False)
        return functools.partial(child._end, ExitInfo(exit_code=None, reason=child.start_error)), None
    finally:
        os.close(write_end)
    child._spawned(pid)
    log: BinaryIO | None = None
    try:
        log, ended = _follow(task, pid, read_end)
        _, status = os.waitpid(pid, 0)  # it has exited: at once
        child.ran = time.monotonic() - spawned
        while not ended and (data := _read(read_end)):  # what is left (a leftover grandchild
            log = _write(task, log, data)  # may hold the pipe: read what is there, no more)
        info = child._exit_info(status)
    except BaseException as exc:  # never leave the scheduler waiting for this task
        child._take(False)
        child._end(ExitInfo(exit_code=None, reason=f"lost track of the task: {exc}"))
        raise
    finally:
        os.close(read_end)
        if log is not None:
            log.close()
    successor = child._take(info.ok)
    if successor is not None:
        child.group.started()  # before this task's end is counted
    return functools.partial(child._end, info), successor


def _follow(task: _Task, pid: int, read_end: int) -> tuple[BinaryIO | None, bool]:
    """Until the process exits: its output into its log; SIGTERM at the end of its life span,
    SIGKILL a little later. The log, once opened, and whether the output has ended."""
    child = task.child
    os.set_blocking(read_end, False)
    log: BinaryIO | None = None
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfds (Linux < 5.3): look every 50 ms
        pidfd = None
    poller = select.poll()
    poller.register(read_end, select.POLLIN)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    deadline = child.started_at + task.life_span if task.life_span else None
    kill_at: float | None = None
    ended = False
    try:
        while True:
            timeout = None if pidfd is not None else 0.05
            for moment in (deadline, kill_at):
                if moment is not None:
                    left = max(0.0, moment - time.time())
                    timeout = left if timeout is None else min(timeout, left)
            events = poller.poll(None if timeout is None else timeout * 1000)
            exited = False
            for fd, _ in events:
                if fd == read_end:
                    data = _read(read_end)
                    if data:
                        log = _write(task, log, data)
                    elif data is not None:  # the output ended (the process mostly ends with it)
                        poller.unregister(read_end)
                        ended = True
                else:
                    exited = True
            if pidfd is None:
                exited = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
            if exited:
                return log, ended
            now = time.time()
            if deadline is not None and now >= deadline:
                with child._lock:
                    child._reason = child._reason or "life span ended"
                signal_group(pid, signal.SIGTERM)
                deadline, kill_at = None, now + KILL_AFTER_LIFE_SPAN
            elif kill_at is not None and now >= kill_at:
                signal_group(pid, signal.SIGKILL)
                kill_at = None
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _read(fd: int) -> bytes | None:
    """What the pipe holds now: b"" at its end, None when it holds nothing yet."""
    try:
        return os.read(fd, CHUNK)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""


def _write(task: _Task, log: BinaryIO | None, data: bytes) -> BinaryIO:
    if log is None:
        log = task.open_log(task.child.log_path)
        task.child.has_output = True
    log.write(data)
    return log


class _Pool:
    """Launcher threads: one per running task, reused; an idle one takes the next task."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting on the queue, not yet promised a task
        self._tasks: queue.SimpleQueue[_Task] = queue.SimpleQueue()

    def submit(self, task: _Task) -> None:
        with self._lock:
            if self._idle:
                self._idle -= 1  # promised to one of the waiting threads
                self._tasks.put(task)
                return
        threading.Thread(target=self._work, args=(task,), name="nj-launcher", daemon=True).start()

    def _work(self, task: _Task) -> None:
        while True:
            try:
                end, successor = _run(task)
            except Exception:  # reported to the scheduler through the task's end
                end, successor = None, None
            del task
            if successor is not None:  # the slot goes on with it at once
                if end is not None:
                    end()
                task, end, successor = successor, None, None
                continue
            with self._lock:
                self._idle += 1
            if end is not None:  # the scheduler wakes as this thread is about to wait
                end()
            del end
            task = self._tasks.get()


_POOL = _Pool()
