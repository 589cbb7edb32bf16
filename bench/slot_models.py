"""Models of a bake scheduler's slot cycle: how fast can 1000 ``true`` tasks run at parallelism 2
with a given amount of Python per task, depending on how the scheduler spawns and waits?

Not neuro-jupyter's code: small stand-ins on the bench's DAGs (``bake_dag.dag``), the
scheduler's own Python per task simulated by a busy loop (``--prep`` µs before a task starts,
``--finish`` µs after it ended). Each is measured against the minimal runner of
``bake_dag.py`` in the same invocation, interleaved; best and median of ``--repeat`` runs:

- ``runner``: ``bake_dag.run_python``, graphlib + ThreadPoolExecutor(2) + subprocess.run (no
  simulated work);
- ``loop``: one thread, ``os.posix_spawn`` (holds the GIL while glibc waits for the child's
  ``exec``), pidfds in one epoll: the shape of ``core/bake/runner.py``;
- ``loop-ctypes``: the same loop, spawning through libc's ``posix_spawn`` with ctypes, which
  releases the GIL (nothing else runs meanwhile, so this measures ctypes' own cost);
- ``spawner``: the loop hands each prepared task to a helper thread that spawns it through
  ctypes (GIL released) and registers its pidfd;
- ``slots``: one thread per slot, as the runner: take a ready task, prepare, spawn, wait
  (``waitpid`` releases the GIL), finish;
- ``successors``: the design of issue 18 (``backends/local/launcher.py`` and the runner's
  successors): a launcher thread per slot spawns through ctypes (GIL released) and waits; the
  scheduler prepares ready tasks ahead and hands one to each running slot as its successor,
  which the slot's thread starts as soon as its task has ended, before reporting the end
  (a queue and an eventfd) that the scheduler then finishes.

``--program bash`` runs ``bash -c true`` as each task (and the runner does too) instead of
``true``.

Run: ``.venv/bin/python bench/slot_models.py [--shape layered] [--prep 150] [--finish 100]``.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import queue
import select
import shutil
import signal
import threading
import time
from collections import deque
from collections.abc import Callable

from bake_cli import dag
from dag_peers import run_minimal

SLOTS = 2
TRUE = shutil.which("true") or "/bin/true"
TASK = [TRUE]  # the program each task runs (``--program``)
ENV = dict(os.environ)
RESET = (signal.SIGPIPE, signal.SIGXFSZ)
Spawn = Callable[[int], int]


def busy(seconds: float) -> None:
    """Hold the GIL for ``seconds``, as the scheduler's Python does."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class CSpawn:
    """libc's ``posix_spawn`` through ctypes (the GIL is released during the call)."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.posix_spawn.argtypes = [
            ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p),
        ]
        self.libc = libc
        self.argv = (ctypes.c_char_p * (len(TASK) + 1))(*(a.encode() for a in TASK), None)
        env = [f"{key}={value}".encode() for key, value in ENV.items()]
        self.envp = (ctypes.c_char_p * (len(env) + 1))(*env, None)
        self.attr = ctypes.create_string_buffer(1024)  # larger than glibc's posix_spawnattr_t
        libc.posix_spawnattr_init(self.attr)
        libc.posix_spawnattr_setflags(self.attr, ctypes.c_short(0x80 | 0x04))  # SETSID|SETSIGDEF
        self.sigs = ctypes.create_string_buffer(128)
        libc.sigemptyset(self.sigs)
        for sig in RESET:
            libc.sigaddset(self.sigs, sig)
        libc.posix_spawnattr_setsigdefault(self.attr, self.sigs)
        self.devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)

    def __call__(self, write_end: int) -> int:
        libc = self.libc
        actions = ctypes.create_string_buffer(256)
        libc.posix_spawn_file_actions_init(actions)
        for fd, target in ((self.devnull, 0), (write_end, 1), (write_end, 2)):
            libc.posix_spawn_file_actions_adddup2(actions, fd, target)
        pid = ctypes.c_int()
        err = libc.posix_spawn(ctypes.byref(pid), TASK[0].encode(), actions, self.attr,
                               self.argv, self.envp)
        libc.posix_spawn_file_actions_destroy(actions)
        if err:
            raise OSError(err, os.strerror(err))
        return pid.value


_DEVNULL = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)


def py_spawn(write_end: int) -> int:
    return os.posix_spawn(TASK[0], TASK, ENV, setsid=True, setsigdef=RESET, file_actions=[
        (os.POSIX_SPAWN_DUP2, _DEVNULL, 0), (os.POSIX_SPAWN_DUP2, write_end, 1),
        (os.POSIX_SPAWN_DUP2, write_end, 2),
    ])


class Graph:
    """Readiness by counters, as the bake's runner keeps it."""

    def __init__(self, needs: dict[str, list[str]]) -> None:
        self.total = len(needs)
        self.waiting = {task: len(deps) for task, deps in needs.items()}
        self.dependents: dict[str, list[str]] = {task: [] for task in needs}
        for task, deps in needs.items():
            for dep in deps:
                self.dependents[dep].append(task)
        self.ready = deque(task for task, count in self.waiting.items() if count == 0)
        self.done = 0

    def finish(self, task: str) -> int:
        """Mark ``task`` done; how many tasks became ready."""
        self.done += 1
        new = 0
        for child in self.dependents[task]:
            self.waiting[child] -= 1
            if not self.waiting[child]:
                self.ready.append(child)
                new += 1
        return new


def loop(needs: dict[str, list[str]], prep: float, finish: float, spawn: Spawn,
         helper: bool = False) -> float:
    graph = Graph(needs)
    epoll = select.epoll()
    data: dict[int, tuple[str, int, int]] = {}
    requests: queue.SimpleQueue[tuple[str, int, int] | None] = queue.SimpleQueue()

    def start(task: str, read_end: int, write_end: int) -> None:
        pid = spawn(write_end)
        os.close(write_end)
        pidfd = os.pidfd_open(pid)
        data[pidfd] = (task, pid, read_end)
        epoll.register(pidfd, select.EPOLLIN)

    def spawner() -> None:
        while (item := requests.get()) is not None:
            start(*item)

    thread = threading.Thread(target=spawner, daemon=True) if helper else None
    if thread is not None:
        thread.start()
    running = 0
    began = time.perf_counter()
    while graph.done < graph.total:
        while graph.ready and running < SLOTS:
            task = graph.ready.popleft()
            busy(prep)
            read_end, write_end = os.pipe()
            running += 1
            if thread is not None:
                requests.put((task, read_end, write_end))
            else:
                start(task, read_end, write_end)
        for fd, _ in epoll.poll(0.25):
            task, pid, read_end = data.pop(fd)
            epoll.unregister(fd)
            os.waitpid(pid, 0)
            os.close(fd)
            os.close(read_end)
            running -= 1
            busy(finish)
            graph.finish(task)
    elapsed = time.perf_counter() - began
    if thread is not None:
        requests.put(None)
        thread.join()
    epoll.close()
    return elapsed


def successors(needs: dict[str, list[str]], prep: float, finish: float, spawn: Spawn) -> float:
    graph = Graph(needs)
    lock = threading.Lock()
    running: list[str | None] = [None] * SLOTS
    after: list[str | None] = [None] * SLOTS  # each slot's successor
    requests: list[queue.SimpleQueue[str | None]] = [queue.SimpleQueue() for _ in range(SLOTS)]
    ended: queue.SimpleQueue[str] = queue.SimpleQueue()
    wake = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)

    def worker(slot: int) -> None:
        task = requests[slot].get()
        while task is not None:
            read_end, write_end = os.pipe()
            pid = spawn(write_end)
            os.close(write_end)
            os.waitpid(pid, 0)
            os.close(read_end)
            with lock:
                task_next, after[slot] = after[slot], None
                running[slot] = task_next
            ended.put(task)
            os.eventfd_write(wake, 1)
            task = task_next if task_next is not None else requests[slot].get()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(SLOTS)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    while graph.done < graph.total:
        for slot in range(SLOTS):
            if not graph.ready:
                break
            with lock:
                free, busy_slot = running[slot] is None, after[slot] is None
            if free:
                task = graph.ready.popleft()
                busy(prep)
                with lock:
                    running[slot] = task
                requests[slot].put(task)
            elif busy_slot:
                task = graph.ready.popleft()
                busy(prep)
                with lock:
                    if running[slot] is not None:
                        after[slot], task = task, None
                if task is not None:  # the slot freed meanwhile: started now
                    with lock:
                        running[slot] = task
                    requests[slot].put(task)
        select.select([wake], [], [], 0.25)
        try:
            os.eventfd_read(wake)
        except BlockingIOError:
            pass
        while True:
            try:
                task = ended.get_nowait()
            except queue.Empty:
                break
            busy(finish)
            graph.finish(task)
    elapsed = time.perf_counter() - began
    for slot in range(SLOTS):
        requests[slot].put(None)
    for thread in threads:
        thread.join()
    os.close(wake)
    return elapsed


def slots(needs: dict[str, list[str]], prep: float, finish: float, spawn: Spawn) -> float:
    graph = Graph(needs)
    cond = threading.Condition()

    def worker() -> None:
        while True:
            with cond:
                while not graph.ready and graph.done < graph.total:
                    cond.wait()
                if graph.done >= graph.total:
                    return
                task = graph.ready.popleft()
            busy(prep)
            read_end, write_end = os.pipe()
            pid = spawn(write_end)
            os.close(write_end)
            os.waitpid(pid, 0)
            os.close(read_end)
            busy(finish)
            with cond:
                if graph.finish(task) or graph.done >= graph.total:
                    cond.notify_all()

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(SLOTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def _timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="layered")
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--prep", type=float, default=150.0, help="µs of Python before a start")
    parser.add_argument("--finish", type=float, default=100.0, help="µs of Python after an end")
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--program", choices=("true", "bash"), default="true")
    parser.add_argument("--models", default="loop,loop-ctypes,spawner,slots,successors")
    args = parser.parse_args()
    if args.program == "bash":
        global TASK
        TASK = [shutil.which("bash") or "/bin/bash", "-c", "true"]
    needs = dag(args.shape, args.size)
    prep, finish = args.prep * 1e-6, args.finish * 1e-6
    cspawn = CSpawn()
    every: dict[str, Callable[[], float]] = {
        "loop": lambda: loop(needs, prep, finish, py_spawn),
        "loop-ctypes": lambda: loop(needs, prep, finish, cspawn),
        "spawner": lambda: loop(needs, prep, finish, cspawn, helper=True),
        "slots": lambda: slots(needs, prep, finish, py_spawn),
        "successors": lambda: successors(needs, prep, finish, cspawn),
    }
    models: dict[str, Callable[[], float]] = {
        "runner": lambda: _timed(lambda: run_minimal(needs, TASK, SLOTS)),
        **{name: every[name] for name in args.models.split(",")},
    }
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeat):
        for name, model in models.items():
            times[name].append(model())
    base = min(times["runner"])
    print(f"{args.shape} {args.size}, {args.prep:g} + {args.finish:g} µs of Python per task, "
          f"best of {args.repeat} (median) s, ÷ runner's best")
    for name, values in times.items():
        values.sort()
        print(f"{name:>12} {values[0]:6.3f} ({values[len(values) // 2]:.3f})"
              f" {values[0] / base:6.2f}")


if __name__ == "__main__":
    main()
