"""The bake scheduler: runs one attempt of a bake's graph to its end, recording it in the store.

Semantics follow neuro-flow's ``batch_executor.py`` (§2.5–§2.6): a node is ready once its
``completed`` needs have finished and its ``running`` needs have started; a ready node whose
``enable`` is false (or, while cancelling, does not use ``always()``) is ``skipped``; tasks
honour ``max_parallel`` at every nesting level and among matrix siblings; a cache hit makes a
task ``cached``; a failed task with ``fail_fast`` cancels the unfinished ones (``always()``
tasks still run); action calls expand into nested graphs once ready.

Speed matters (bench/bake_dag.py): children are waited on through pidfds and epoll,
readiness is tracked with dependency counters, and every scheduling round ends with one short
store transaction.
"""

from __future__ import annotations

import dataclasses
import select
import selectors
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..backends.base import Backend, Execution, ExitInfo, ProcessSpec
from ..backends.restart import (
    delay,
    exit_status,
    life_span_ended,
    log_line,
    past_life_span,
    restart_text,
    restarts,
)
from ..errors import NeuroJupyterError, StoreError
from ..store import bakes as rows
from ..store.db import Store
from ..store.retry import Backoff
from ..workflow.batch_api import BatchGraph, GraphNode
from ..workflow.model import DepResult, FullID, TaskSpec, dotted
from .commands import process_output
from .taskenv import task_env

if TYPE_CHECKING:
    from ..envs.bakes import TaskEnvironments
    from ..envs.jobs import JobEnvironment
    from ..project.discovery import Project


class Mapper(Protocol):
    """What runs a task here (``Backend.process_spec``), in its image's environment if any."""

    def __call__(self, unit: TaskSpec, project: Project, log_path: Path, *,
                 env_extra: Mapping[str, str] | None = None,
                 environment: JobEnvironment | None = None) -> ProcessSpec: ...


CANCEL_CHECK_INTERVAL = 0.25
FLUSH_INTERVAL = 0.05
FLUSH_CHUNK = 256  # rows per write while tasks run (see ``_flush``)
IDLE_WAIT = 0.25
ROUND_PERIOD = 0.005  # at most this long a round's least length (see ``_wait``)
ROUND_SHARE = 0.5  # of the time the queued successors should take, spent in one round
KILL_GRACE = 5.0


def accumulate(statuses: Iterable[str]) -> str:
    """The result of a group of finished nodes: failed, else cancelled, else succeeded.

    A failure wins over cancellations: with ``fail_fast`` the siblings a failure cancelled
    do not hide it (a cancel the user asked for is reported by ``BakeRunner.run`` itself).
    """
    seen = set(statuses)
    if "failed" in seen:
        return "failed"
    if "cancelled" in seen:
        return "cancelled"
    return "succeeded"


@dataclass
class Level:
    """One level of the bake (the top, or the inside of an action call) while it runs."""

    prefix: FullID
    graph: BatchGraph
    owner: FullID | None  # the action node this level expands, None at the top
    inputs_copied: bool  # restart: the owner's needs were all copied from the old attempt
    waiting: dict[str, int] = field(default_factory=dict)
    dependents: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    ready: deque[str] = field(default_factory=deque)
    started: set[str] = field(default_factory=set)
    results: dict[str, DepResult] = field(default_factory=dict)
    running: int = 0
    enabled: set[str] = field(default_factory=set)  # enable evaluated true (needs are final)
    group_running: Counter[str] = field(default_factory=Counter)

    @property
    def done(self) -> bool:
        return len(self.results) == len(self.graph.nodes)


@dataclass
class Ahead:
    """A ready task evaluated and mapped before a slot freed for it (``_prepare_ahead``)."""

    spec: TaskSpec
    process: ProcessSpec | None
    cancelling: bool  # the runner's state when it was evaluated
    environment: JobEnvironment | None = None  # its image's environment (its key in spec's)


AHEAD = 64  # at most this many ready tasks prepared ahead per level
CHAIN = 3  # successors a running task may have in a row (its successor's successor, ...)


@dataclass
class Successor:
    """A ready task the backend starts as soon as the running task ``after`` succeeds (its
    slot refilled without waiting for this scheduler); known to have started, or not, when
    ``after`` is reaped. ``after`` may itself be a successor not started yet (a chain of
    ``CHAIN``): tasks of a millisecond end before the scheduler could give them one."""

    fid: FullID
    after: FullID
    spec: TaskSpec
    process: ProcessSpec
    raw_id: str
    log_name: str
    execution: Execution
    environment: JobEnvironment | None = None


@dataclass
class Restart:
    """A task whose ``restart`` policy this runner applies, across its runs."""

    process: ProcessSpec
    count: int = 0  # restarts so far
    offset: int = 0  # where the current (or last) run's output starts in the task's log
    due: float | None = None  # time.monotonic() of the next start, while it waits for it
    last: ExitInfo | None = None  # how the last run ended, while it waits


class BakeRunner:
    """Drive one attempt: ``run()`` returns the attempt's result."""

    def __init__(
        self, store: Store, bake: rows.BakeRecord, attempt: int, root: BatchGraph,
        project: Project, *, backend: Backend, mapper: Mapper, logs_root: Path,
        previous: Mapping[str, rows.TaskRecord] | None = None, previous_attempt: int = 0,
        echo: Callable[[str], None] | None = None,
        flush_echo: Callable[[], None] | None = None,
        environments: TaskEnvironments | None = None,
    ) -> None:
        self.store = store
        self.bake = bake
        # the tasks' environments (``core.envs.bakes``); None: no task has one
        self.environments = environments
        self.env_waiting: dict[str, list[FullID]] = {}  # env key -> tasks waiting for its build
        self.last_env_check = 0.0
        self.attempt = attempt
        self.project = project
        self.backend = backend
        self.mapper = mapper
        self.log_dir = rows.log_dir(bake.bake_id, attempt, logs_root)
        self._log_dir_text = str(self.log_dir / "_")[:-1]  # tasks' log paths: + "<id>.log"
        self.previous = dict(previous or {})
        self.previous_attempt = previous_attempt
        self.echo = echo or (lambda line: None)
        self.flush_echo = flush_echo or (lambda: None)  # with each store write
        self.levels: dict[FullID, Level] = {}
        self.records: dict[FullID, rows.TaskRecord] = {}
        self.dirty: set[FullID] = set()
        self.cache_puts: list[tuple[str, str, rows.TaskRecord]] = []
        self.copied: set[str] = set()
        self.running: dict[FullID, Execution] = {}
        self.killed: set[FullID] = set()
        self.polled: set[FullID] = set()  # executions without a pidfd
        self.fds: dict[FullID, list[int]] = {}  # pidfd, then the output pipe
        self.selector = Readable()
        self.groups: list[Any] = []  # groups of launched tasks (``launcher.Group``) waited on
        self.groups_by_fd: dict[int, Any] = {}
        self.members: dict[Execution, FullID] = {}  # tasks waited on through their group
        self.cancelling = False
        self.cancel_requested = False
        self.external_cancel = False  # set by the executor's SIGTERM handler
        self.deadline: float | None = None  # the flow's life_span, as a time.time() value
        self.reason = ""  # why the attempt was cancelled, when it was not the user
        self.fail_fast_reason = ""  # why unfinished tasks were cancelled after a failure
        self.seq = 0
        self.last_cancel_check = 0.0
        self.last_flush = 0.0
        self.round_start = 0.0  # time.monotonic() when the last wait ended
        self.task_time = 0.0  # how long tasks run, a moving average (0: none has ended yet)
        self.backoff = Backoff()  # of the store's writes, while it refuses them
        self.root_prefix = tuple(root.prefix)
        self._cache_policy: dict[FullID, TaskSpec] = {}
        self._restarts: dict[FullID, Restart] = {}  # running or waiting tasks with a policy
        self._ahead: dict[FullID, Ahead] = {}  # ready tasks evaluated before their slot freed
        self._successor_of: dict[FullID, Successor] = {}  # by the running task it follows
        self._successor_for: dict[FullID, Successor] = {}  # by the ready task it starts
        # no entry of this batch in the cache when the attempt starts: no lookup can hit (its
        # own entries are for tasks that already ran), so none is made
        self.cache_possible = rows.has_cache(store, bake.project_pk, bake.batch)
        self._add_level(root, owner=None, inputs_copied=True)

    # --- the main loop -------------------------------------------------------------------

    def run(self) -> str:
        """Run to the end; kill what still runs if interrupted."""
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError:  # e.g. a full disk: the tasks' output is lost, not the bake
            pass
        try:
            self._check_cancel(force=True)
            while not self.levels[self.root_prefix].done:
                self._schedule()
                self._flush(force=not self.running)
                if self.levels[self.root_prefix].done:
                    break
                if not self.running and not self._waiting() and not self.env_waiting:
                    if not self._any_ready():
                        self._fail_stuck()
                    continue
                self._wait()
                if self.env_waiting:
                    self._check_environments()
                if self._restarts:
                    self._start_again()
                self._check_cancel()
        except BaseException:
            self._kill_all()
            try:
                self._flush()
            except StoreError:
                pass
            raise
        finally:
            for group in self.groups:  # nothing stays held for a scheduler that has ended
                group.deferred = False
                group.release()
            self.selector.close()  # its epoll: not left to a collector (the executor's
            # objects are frozen, ``gc.freeze``), which leaked one per attempt run in-process
        self._settle()
        if self.cancel_requested:
            return "cancelled"
        return accumulate(rec.status for rec in self.records.values())

    def request_cancel(self) -> None:
        """Cancel the attempt: kill unfinished tasks except ``always()`` ones."""
        self.cancel_requested = True
        self._start_cancelling()

    def _check_cancel(self, force: bool = False) -> None:
        if self.cancel_requested:
            return
        if self.external_cancel:
            self.reason = "the executor was terminated (SIGTERM)"
        elif self.deadline is not None and time.time() >= self.deadline:
            self.reason = "the bake's life_span ended"
        if self.reason:
            self.echo(f"Cancelling the attempt: {self.reason}")
            self.request_cancel()
            return
        now = time.monotonic()
        if not force and now - self.last_cancel_check < CANCEL_CHECK_INTERVAL:
            return
        self.last_cancel_check = now
        try:
            self.store.follow()  # a deleted store is written back, a new one gets the bake
            row = self.store.query_one(
                "SELECT result FROM attempts WHERE bake_id = ? AND number = ?",
                (self.bake.bake_id, self.attempt),
            )
        except StoreError as exc:  # unreadable for now: the bake goes on, its state in memory
            self.backoff.failed(exc)
            return
        if row is not None and row[0] == "cancelled" and not self.cancel_requested:
            self.echo("The attempt was cancelled")
            self.request_cancel()

    def _wait(self) -> None:
        timeout = IDLE_WAIT
        if self.polled:
            timeout = 0.05
        if self.dirty or self.cache_puts:  # unwritten changes go out within FLUSH_INTERVAL
            due = max(self.last_flush + FLUSH_INTERVAL, self.backoff.due)
            timeout = min(timeout, max(0.0, due - time.monotonic()))
        deadlines: list[float] = [
            d for ex in self.running.values() if (d := getattr(ex, "deadline", None))
        ]
        if deadlines:
            timeout = max(0.0, min(timeout, min(deadlines) - time.time()))
        if waiting := self._waiting():
            timeout = max(0.0, min(timeout, min(r.due or 0.0 for r in waiting.values())
                                   - time.monotonic()))
        released = 0
        for group in self.groups:  # what was started this round goes now: this thread waits
            released += group.release()
        if self._any_ready():
            if released:
                time.sleep(0)  # the launcher threads take the GIL for their spawns first
            self._prepare_ahead()
            self._assign_successors()
        depth = self._fed()
        if depth and self.task_time:  # no slot frees before its successors have run: tasks
            # that end meanwhile are handled together, in fewer rounds (~0.1 ms of CPU each)
            length = min(ROUND_PERIOD, depth * self.task_time * ROUND_SHARE)
            pause = min(timeout, self.round_start + length - time.monotonic())
            if pause > 0:
                time.sleep(pause)
        events = self.selector.select(timeout) if self.selector else _sleep(timeout)
        self.round_start = time.monotonic()
        for fd, (fid, is_output) in events:
            if fid is None:  # a group's tasks ended
                self._reap_group(fd)
                continue
            if fid not in self.running:  # reaped earlier in this loop
                continue
            if is_output:
                execution = self.running[fid]
                if not execution.pump():  # type: ignore[attr-defined]
                    self.selector.unregister(fd)  # before the pipe is closed
                    self.fds[fid].remove(fd)
                    execution.close_output()  # type: ignore[attr-defined]
                    exited = getattr(execution, "exited", None)
                    if exited is not None and exited():
                        self._reap(fid)  # mostly it has: no wake-up for its pidfd
            else:
                self._reap(fid)
        for fid in list(self.polled):
            self._reap(fid)
        if deadlines:
            for fid, ex in list(self.running.items()):
                deadline = getattr(ex, "deadline", None)
                if deadline and time.time() >= deadline:
                    self._reap(fid)

    def _fed(self) -> int:
        """How many successors are queued, at the least, after each running task (each
        starts in the slot when the one before it succeeds); 0 when a task has none."""
        least = 0
        for fid in self.running:
            depth = 0
            while (successor := self._successor_of.get(fid)) is not None:
                depth, fid = depth + 1, successor.fid
            if not depth:
                return 0
            least = depth if not least else min(least, depth)
        return least

    def _reap_group(self, fd: int) -> None:
        """Reap the tasks of the group on ``fd`` that ended."""
        group = self.groups_by_fd[fd]
        for execution in group.ended():
            fid = self.members.pop(execution, None)
            if fid is not None:
                self._reap(fid)

    def _reap(self, fid: FullID) -> None:
        execution = self.running.get(fid)
        if execution is None:
            return
        fds = self.fds.pop(fid, [])
        for fd in fds:  # before poll() closes them
            self.selector.unregister(fd)
        info = execution.poll()
        if info is None:
            if len(fds) > 1 and not getattr(execution, "output_open", True):
                execution.close_output()  # type: ignore[attr-defined]
                fds = fds[:1]  # the output ended (poll pumped it): only the pidfd is left
            for fd, is_output in zip(fds, (False, True), strict=False):
                self.selector.register(fd, (fid, is_output))
            if fds:
                self.fds[fid] = fds
            return
        del self.running[fid]
        if ran := getattr(execution, "ran", 0.0):
            self.task_time = ran if not self.task_time else 0.8 * self.task_time + 0.2 * ran
        self.polled.discard(fid)
        self.members.pop(execution, None)
        successor = self._successor_of.pop(fid, None)
        if successor is not None:
            del self._successor_for[successor.fid]
        self._finish_execution(fid, execution, info)
        if successor is None:
            return
        if getattr(execution, "successor_taken", False):  # it runs already, in this slot
            self._started(successor)
        else:  # not started (this one failed): started as usual, its evaluation kept
            self._ahead[successor.fid] = Ahead(successor.spec, successor.process,
                                               self.cancelling, successor.environment)
            following = self._successor_of.get(successor.fid)
            if following is not None:  # nor will the one after it
                self._withdraw(following)

    def _finish_execution(self, fid: FullID, execution: Execution, info: ExitInfo) -> None:
        """Record the end of a reaped task's process, or start it again (its restart policy)."""
        pid = getattr(execution, "pid", None)  # a launched task's is known once it has spawned
        error = getattr(execution, "start_error", "")
        if error:  # it never ran: failed as a start that fails at once (no restart)
            self._cache_policy.pop(fid, None)
            self._finish(self.levels[fid[:-1]], fid[-1], "failed", reason=error, ran=True)
            return
        restart = self._restarts.get(fid)
        if restart is None:
            self._finish_process(fid, info, getattr(execution, "has_output", True), pid=pid)
        elif not self._restart(fid, restart, execution, info):
            has_output = bool(restart.count) or getattr(execution, "has_output", True)
            self._finish_process(fid, info, has_output, output_from=restart.offset, pid=pid)

    def _waiting(self) -> dict[FullID, Restart]:
        """The tasks waiting to start again."""
        if not self._restarts:
            return {}
        return {fid: r for fid, r in self._restarts.items() if r.due is not None}

    def _restart(self, fid: FullID, restart: Restart, execution: Execution,
                 info: ExitInfo) -> bool:
        """Whether this exit is handled here: the task's ``restart`` policy runs it again (in
        a while, ``_start_again``) as Neu.ro restarts a job, not once cancelled or killed; or
        it would restart past its life span, which covers all its runs: then it failed.

        As the local supervisor does, what the run left behind (its process group) is killed
        first; the output of the runs before the last one is in the log, not in the outputs.
        """
        process = restart.process
        code = info.exit_code if info.exit_code is not None else -(info.signal or 1)
        if self.cancelling or fid in self.killed or not restarts(process.restart, code):
            return False
        execution.kill(grace=0)  # it has exited: only its leftovers get SIGKILL
        pause = delay(restart.count + 1)
        if past_life_span(self.records[fid].started_at or time.time(), process.life_span,
                          time.time() + pause):
            self._finish_process(fid, ExitInfo(exit_code=None, reason=life_span_ended(
                process.life_span)), output_from=restart.offset)
            self._update(fid, exit_code=info.exit_code)
            return True
        restart.count += 1
        status = exit_status(code)
        try:
            with open(process.log_path, "a", encoding="utf-8") as log:
                log.write(log_line(status, restart.count, pause, process.restart) + "\n")
        except OSError:
            pass
        text = restart_text(status, restart.count, pause, process.restart)
        self.echo(f"Task {dotted(fid)} {text}")
        restart.due, restart.last = time.monotonic() + pause, info
        self._update(fid, pid=None, pid_start="")  # no process until it starts again
        return True

    def _start_again(self) -> None:
        """Start the tasks whose restart pause has ended."""
        now = time.monotonic()
        for fid, restart in list(self._waiting().items()):
            if fid not in self._restarts or (restart.due or 0.0) > now:
                continue  # a failure below ended it, or not yet
            restart.due = restart.last = None
            process = restart.process
            try:
                restart.offset = process.log_path.stat().st_size
            except OSError:
                restart.offset = 0
            record = self.records[fid]
            if process.life_span:  # what is left of it
                left = (record.started_at or time.time()) + process.life_span - time.time()
                process = dataclasses.replace(process, life_span=max(left, 0.001))
            try:
                execution = self.backend.start(process, raw_id=record.raw_id or "",
                                               detached=False, labels=self._labels(fid))
            except NeuroJupyterError as exc:
                self._finish(self.levels[fid[:-1]], fid[-1], "failed", reason=str(exc),
                             ran=True)
                continue
            self._update(fid, pid=getattr(execution, "pid", None))
            self._watch(fid, execution)

    def _end_restarts(self, everything: bool) -> None:
        """No more restarts (cancelling): a task waiting for one is cancelled, or with
        ``always()`` (it runs while cancelling, unless ``everything``) ends with its last run,
        as a running one does."""
        for fid, restart in self._waiting().items():
            if fid not in self._restarts:  # a _finish below ended it already
                continue
            if not everything and self.levels[fid[:-1]].graph.runs_on_cancel(fid[-1]):
                assert restart.last is not None
                self._finish_process(fid, restart.last, output_from=restart.offset)
            else:
                self._finish(self.levels[fid[:-1]], fid[-1], "cancelled",
                             reason=self.fail_fast_reason or "cancelled", ran=True)

    def _any_ready(self) -> bool:
        return any(level.ready for level in self.levels.values())

    def _fail_stuck(self) -> None:
        """Nothing runs and nothing is ready: the remaining nodes can never start."""
        for level in list(self.levels.values()):
            for node_id in level.graph.nodes:
                if node_id not in level.results:
                    self._finish(level, node_id, "failed", reason="its needs can never be met")

    # --- scheduling ------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Process ready nodes in file order while their levels have free slots."""
        progress = True
        while progress:
            progress = False
            for level in list(self.levels.values()):
                blocked: list[str] = []
                while level.ready and self._level_free(level):
                    node_id = level.ready.popleft()
                    if node_id in level.results or node_id in level.started:
                        continue
                    if self._process(level, node_id):
                        progress = True
                    else:
                        blocked.append(node_id)
                level.ready.extendleft(reversed(blocked))

    def _level_free(self, level: Level) -> bool:
        """Whether a task may start in ``level`` (``max_parallel`` of it and its parents).

        In a parent level, the call that holds ``level`` is one of the running nodes: it does
        not count against its own inner tasks (else ``max_parallel: 1`` would deadlock).
        """
        current: Level | None = level
        holding = 0
        while current is not None:
            if current.running - holding >= max(1, current.graph.max_parallel):
                return False
            holding = 1
            current = self.levels[current.owner[:-1]] if current.owner is not None else None
        return True

    def _process(self, level: Level, node_id: str) -> bool:
        """Handle a ready node; False when it must wait for a free slot."""
        node = level.graph.nodes[node_id]
        fid = level.prefix + (node_id,)
        key = dotted(fid)
        if self._copy_previous(level, node, fid):
            return True
        needs = self._needs(level, node)
        if node_id in level.enabled:
            enabled = True
        else:
            try:
                enabled = level.graph.is_enabled(node_id, needs, self.cancelling)
                if self.cancelling and not level.graph.runs_on_cancel(node_id):
                    enabled = False
            except NeuroJupyterError as exc:
                self._finish(level, node_id, "failed", reason=str(exc), ran=True)
                return True
        if enabled:
            level.enabled.add(node_id)
        else:
            self._finish(level, node_id, "skipped")
            return True
        if node.kind in ("action", "module", "stateful"):
            try:
                sub = level.graph.subgraph(node_id, needs)
            except NeuroJupyterError as exc:
                self._finish(level, node_id, "failed", reason=str(exc), ran=True)
                return True
            self._mark_started(level, node, fid, status="running")
            parent_copied = level.inputs_copied and all(
                dotted(level.prefix + (dep,)) in self.copied for dep in node.needs
            )
            self._add_level(sub, owner=fid, inputs_copied=parent_copied)
            return True
        if not self._has_slot(level, node):
            return False
        successor = self._successor_for.get(fid)
        if successor is not None:  # a slot freed elsewhere first
            if not self._withdraw(successor):
                return True  # it has started already: recorded when its predecessor is reaped
        ahead = self._ahead.pop(fid, None)
        if ahead is not None and ahead.cancelling != self.cancelling:
            ahead = None  # evaluated before the cancel: again
        try:
            if ahead is not None:
                spec, environment = ahead.spec, ahead.environment
            else:
                environment, spec = self._evaluate(level, node_id, needs)
        except NeuroJupyterError as exc:
            self._finish(level, node_id, "failed", reason=str(exc), ran=True)
            return True
        if spec.cache.strategy == "default" and spec.caching_key and self.cache_possible:
            try:
                hit = rows.lookup_cache(
                    self.store, self.bake.project_pk, self.bake.batch, key, spec.caching_key,
                    spec.cache.life_span,
                )
                row = hit and self.store.query_one(
                    "SELECT log_path, notebook FROM tasks WHERE raw_id = ? LIMIT 1", (hit.raw_id,)
                )
            except StoreError:  # the cache cannot be read now: the task runs
                hit = None
            if hit is not None:
                self._update(fid, raw_id=hit.raw_id, cache_key=spec.caching_key,
                             log_path=row[0] if row else "", notebook=row[1] if row else "")
                self._finish(level, node_id, "cached", outputs=hit.outputs, state=hit.state)
                return True
        if environment is not None and not self.environments.ready(environment):  # type: ignore[union-attr]
            return self._wait_for_environment(fid, environment)
        raw_id = f"job-{rows.uuid4_text()}"
        log_name = f"{key}.log"
        log_path = self.log_dir / log_name
        try:
            process = ahead.process if ahead is not None and ahead.process is not None else (
                self._map(spec, environment, key, log_path))
            execution = self.backend.start(process, raw_id=raw_id, detached=False,
                                           labels=self._labels(fid))
        except NeuroJupyterError as exc:
            self._update(fid, cache_key=spec.caching_key, log_path=str(log_path))
            self._finish(level, node_id, "failed", reason=str(exc), ran=True)
            return True
        self._started(Successor(fid, (), spec, process, raw_id, log_name, execution))
        return True

    def _evaluate(self, level: Level, node_id: str, needs: Mapping[str, Any]
                  ) -> tuple[JobEnvironment | None, TaskSpec]:
        """A ready task evaluated, and its image's environment (then in its caching key)."""
        spec = level.graph.task(node_id, needs)
        if self.environments is None:
            return None, spec
        return self.environments.for_task(spec)

    def _map(self, spec: TaskSpec, environment: JobEnvironment | None, key: str,
             log_path: Path) -> ProcessSpec:
        """The process that runs a task here; what its log must say first (the environment
        it runs in, how a cluster preset was mapped) is written before it starts."""
        extra = task_env(self.bake.bake_id, self.attempt, key, self.project.root)
        if environment is None:
            process = self.mapper(spec, self.project, log_path, env_extra=extra)
        else:
            from ..envs.jobs import write_notes

            write_notes(log_path, self.environments.notes(environment))  # type: ignore[union-attr]
            process = self.mapper(spec, self.project, log_path, env_extra=extra,
                                  environment=environment)
        _note_preset(spec.preset, log_path)
        return process

    def _wait_for_environment(self, fid: FullID, environment: JobEnvironment) -> bool:
        """Hold a ready task until its environment is built (once per bake: the first task
        that needs it starts the build); the others go on meanwhile."""
        assert self.environments is not None
        key = environment.plan.key
        try:
            self.environments.start(environment)
        except NeuroJupyterError as exc:
            self._finish(self.levels[fid[:-1]], fid[-1], "failed", reason=str(exc), ran=True)
            return True
        if key not in self.env_waiting:
            self.echo(f"Task {dotted(fid)} waits for the environment of image "
                      f"{environment.plan.image_id} (so do the later tasks that need it)")
        self.env_waiting.setdefault(key, []).append(fid)
        return True

    def _check_environments(self) -> None:
        """Let the tasks whose environment is now built start; fail those whose build failed
        (with the build's log in theirs)."""
        assert self.environments is not None
        now = time.monotonic()
        if now - self.last_env_check < CANCEL_CHECK_INTERVAL:
            return
        self.last_env_check = now
        for key, (why, build_log) in self.environments.finished(list(self.env_waiting)).items():
            for fid in self.env_waiting.pop(key, []):
                level = self.levels[fid[:-1]]
                if fid[-1] in level.results:  # cancelled meanwhile
                    continue
                if not why:
                    level.ready.appendleft(fid[-1])
                    continue
                log_path = self.log_dir / f"{dotted(fid)}.log"
                _copy_log(Path(build_log), log_path, header=why)
                self._update(fid, log_path=str(log_path))
                self._finish(level, fid[-1], "failed", reason=why, ran=True)

    def _started(self, task: Successor) -> None:
        """Record a task whose process has been started, and wait for it (a successor that
        started while cancelling, and may not run then, is killed at once)."""
        fid = task.fid
        level = self.levels[fid[:-1]]
        node = level.graph.nodes[fid[-1]]
        self._mark_started(level, node, fid, status="running", changes={
            "raw_id": task.raw_id, "cache_key": task.spec.caching_key,
            "log_path": self._log_dir_text + task.log_name,
            "title": task.spec.title or self.records[fid].title,
            "pid": getattr(task.execution, "pid", None),
        })
        self._cache_policy[fid] = task.spec
        if task.process.restart != "never" and not self.backend.restarts_attached:
            self._restarts[fid] = Restart(task.process)
        self._watch(fid, task.execution)
        if task.after and self.cancelling and not level.graph.runs_on_cancel(fid[-1]):
            self._kill(fid)

    def _assign_successors(self) -> None:
        """Give the tasks prepared ahead to running tasks of their level that have none, to
        start in their slot as soon as they succeed (``Backend.start_after``)."""
        if self.cancelling or not self._ahead:
            return
        for level in self.levels.values():
            if not level.ready or self._level_free(level):
                continue
            free = [fid for fid, ex in self.running.items()
                    if fid[:-1] == level.prefix and fid not in self._successor_of
                    and fid not in self._restarts and fid not in self.killed
                    and hasattr(ex, "withdraw")]
            tails = self._tails(level)
            for node_id in level.ready:
                if not free and not tails:
                    break
                fid = level.prefix + (node_id,)
                ahead = self._ahead.get(fid)
                if ahead is None or fid in self._successor_for or node_id in level.started:
                    continue
                spec = ahead.spec
                if ahead.process is None or (spec.cache.strategy == "default"
                                             and spec.caching_key and self.cache_possible):
                    continue  # a cache lookup comes first: started by ``_process``
                node = level.graph.nodes[node_id]
                after = self._after(level, node, free) if free else None
                if after is None and node.matrix_group is None and tails:
                    after = tails[0]  # a running task's successor, in a row
                if after is None:
                    continue
                key = dotted(fid)
                raw_id = f"job-{rows.uuid4_text()}"
                before = self.running.get(after) or self._successor_for[after].execution
                try:
                    execution = self.backend.start_after(
                        ahead.process, raw_id=raw_id, after=before, labels=self._labels(fid))
                except NeuroJupyterError:  # reported when ``_process`` starts it
                    continue
                (free if after in free else tails).remove(after)
                if execution is None:
                    continue
                del self._ahead[fid]
                successor = Successor(fid, after, spec, ahead.process, raw_id, f"{key}.log",
                                      execution, ahead.environment)
                self._successor_of[after] = self._successor_for[fid] = successor
                if (node.matrix_group is None and ahead.process.restart == "never"
                        and self._depth(after) + 1 < CHAIN):
                    tails.append(fid)  # it may have one in turn

    def _tails(self, level: Level) -> list[FullID]:
        """The successors of ``level`` not started yet that may have a successor of their
        own: outside matrix groups (whose limits count running tasks), without a restart
        policy (a task that restarts has none), ``CHAIN`` deep at most."""
        if CHAIN < 2 or not self._successor_for:
            return []
        nodes = level.graph.nodes
        return [fid for fid, s in self._successor_for.items()
                if fid[:-1] == level.prefix and fid not in self._successor_of
                and nodes[fid[-1]].matrix_group is None and s.process.restart == "never"
                and hasattr(s.execution, "withdraw") and self._depth(fid) < CHAIN]

    def _depth(self, fid: FullID) -> int:
        """How many successors not started yet lead to ``fid`` from a running task (0: it
        runs)."""
        depth = 0
        while (pending := self._successor_for.get(fid)) is not None:
            depth += 1
            fid = pending.after
        return depth

    def _after(self, level: Level, node: GraphNode, free: list[FullID]) -> FullID | None:
        """A running task of ``free`` whose slot ``node`` may take when it ends: the level's
        count stays; a matrix group's limit must hold with the successors that will join the
        group counted, unless the task it follows is of the same group."""
        group = node.matrix_group
        if group is None:
            return free[0]
        for fid in free:
            if level.graph.nodes[fid[-1]].matrix_group == group:
                return fid
        if level.group_running[group] + self._joining(level, group) < max(1, node.max_parallel):
            return free[0]
        return None

    def _joining(self, level: Level, group: str, but: FullID | None = None) -> int:
        """How many successors of a matrix group follow a task of another group (each joins
        the group when it starts), ``but`` one."""
        if not self._successor_of:
            return 0
        nodes = level.graph.nodes
        return sum(1 for s in self._successor_of.values() if s.fid[:-1] == level.prefix
                   and s.fid != but and nodes[s.fid[-1]].matrix_group == group
                   and nodes[s.after[-1]].matrix_group != group)

    def _withdraw(self, successor: Successor) -> bool:
        """Take a successor back from the task it follows (and the successors that follow
        it, which then never start); False when it has started."""
        if self._successor_for.get(successor.fid) is not successor:
            return True  # taken back already (with the one it follows)
        before = self.running.get(successor.after)
        if before is None and (pending := self._successor_for.get(successor.after)):
            before = pending.execution  # a successor itself, not started yet
        if before is not None and not before.withdraw():  # type: ignore[attr-defined]
            return False
        del self._successor_of[successor.after], self._successor_for[successor.fid]
        self._ahead[successor.fid] = Ahead(successor.spec, successor.process, self.cancelling,
                                           successor.environment)
        following = self._successor_of.get(successor.fid)
        if following is not None:
            self._withdraw(following)
        return True

    def _prepare_ahead(self) -> None:
        """Evaluate and map the next ready tasks of levels whose slots are all taken, while
        their tasks run, so that a slot that frees is refilled at once (``_process`` uses
        them). Anything that fails here is left to ``_process``, which reports it."""
        for level in self.levels.values():
            if not level.ready or self._level_free(level):
                continue
            ready = level.ready
            while ready and (ready[0] in level.started or ready[0] in level.results):
                ready.popleft()  # started as successors: the queue stays short
            count = 0
            wanted = min(AHEAD, max(1, level.running) * CHAIN)  # CHAIN for each slot
            for node_id in ready:
                if count >= wanted:
                    break
                if node_id in level.results or node_id in level.started:
                    continue  # a successor that has started, behind one that has not
                fid = level.prefix + (node_id,)
                count += 1  # prepared or not: the first ``wanted`` ready nodes only
                node = level.graph.nodes[node_id]
                if (fid in self._ahead or fid in self._successor_for
                        or node.kind not in ("task", "local")):
                    continue
                if self.previous and level.inputs_copied:  # may be reused: not evaluated
                    continue
                needs = self._needs(level, node)
                try:
                    if node_id not in level.enabled:
                        if self.cancelling or not level.graph.is_enabled(node_id, needs, False):
                            continue
                        level.enabled.add(node_id)
                    environment, spec = self._evaluate(level, node_id, needs)
                    process = None
                    if environment is None or self.environments.ready(  # type: ignore[union-attr]
                            environment):  # else mapped once built, by ``_process``
                        key = dotted(fid)
                        process = self._map(spec, environment, key, self.log_dir / f"{key}.log")
                except NeuroJupyterError:
                    continue
                self._ahead[fid] = Ahead(spec, process, self.cancelling, environment)

    def _labels(self, fid: FullID) -> dict[str, str]:
        return {"project": self.project.id, "bake": self.bake.bake_id,
                "attempt": str(self.attempt), "task": dotted(fid)}

    def _watch(self, fid: FullID, execution: Execution) -> None:
        """Wait for the started task's end (and its output) with the others: through its
        ``group`` when it reports its end with others (a launched local task), else its own
        descriptors, else by polling."""
        self.running[fid] = execution
        group = getattr(execution, "group", None)
        if group is not None:
            if group not in self.groups:
                self.groups.append(group)
                self.groups_by_fd[group.fileno()] = group
                self.selector.register(group.fileno(), (None, False))
                group.deferred = True  # released by ``_wait``, before this thread waits
            self.members[execution] = fid
            return
        try:
            fd = execution.fileno()  # type: ignore[attr-defined]
            self.selector.register(fd, (fid, False))
            self.fds[fid] = [fd]
        except (AttributeError, NeuroJupyterError, OSError, ValueError):
            self.polled.add(fid)
        out_fd = getattr(execution, "out_fd", None)
        if out_fd is not None and fid in self.fds:
            self.selector.register(out_fd, (fid, True))
            self.fds[fid].append(out_fd)

    def _has_slot(self, level: Level, node: GraphNode) -> bool:
        """Whether ``node`` may start now: its level has a free slot and its matrix group
        (counting the successors about to join it) is under its limit."""
        group = node.matrix_group
        if group is not None and level.group_running[group] + self._joining(
                level, group, but=level.prefix + (node.id,)) >= max(1, node.max_parallel):
            return False
        return self._level_free(level)

    def _needs(self, level: Level, node: GraphNode) -> dict[str, DepResult]:
        """The ``needs`` context: finished ``completed`` needs; ``cached`` shows as succeeded."""
        needs: dict[str, DepResult] = {}
        for dep, how in node.needs.items():
            if how != "completed":
                continue
            result = level.results.get(dep)
            if result is None:
                continue
            if result.result == "cached":
                result = DepResult("succeeded", result.outputs, result.state)
            needs[dep] = result
        return needs

    def _copy_previous(self, level: Level, node: GraphNode, fid: FullID) -> bool:
        """Restart from failed: reuse a succeeded task whose needs were all reused too."""
        if not self.previous or not level.inputs_copied or node.kind not in ("task", "local"):
            return False
        key = dotted(fid)
        old = self.previous.get(key)
        if old is None or old.status != "succeeded":
            return False
        if not all(dotted(level.prefix + (dep,)) in self.copied for dep in node.needs):
            return False
        self._update(
            fid, raw_id=old.raw_id, exit_code=old.exit_code, cache_key=old.cache_key,
            log_path=old.log_path, notebook=old.notebook, title=old.title or self.records[fid].title,
            started_at=old.started_at, reason=f"reused from attempt #{self.previous_attempt}",
        )
        self.copied.add(key)
        self._finish(level, node.id, "succeeded", outputs=old.outputs, state=old.state,
                     finished_at=old.finished_at)
        return True

    # --- state changes ---------------------------------------------------------------------

    def _add_level(self, graph: BatchGraph, *, owner: FullID | None, inputs_copied: bool) -> None:
        prefix = tuple(graph.prefix) if owner is None else owner
        # no cycle check here: the workflow's graphs refuse cycles when they are made (and
        # nodes whose needs can never be met end as "failed", ``_fail_stuck``)
        level = Level(prefix=prefix, graph=graph, owner=owner, inputs_copied=inputs_copied)
        now = time.time()
        for node_id in graph.nodes:
            level.waiting[node_id] = 0
            level.dependents.setdefault(node_id, [])
        for node_id, node in graph.nodes.items():
            for dep, how in node.needs.items():
                level.waiting[node_id] += 1
                level.dependents.setdefault(dep, []).append((node_id, how))
        self.levels[prefix] = level
        pending = rows.TaskRecord(bake_id=self.bake.bake_id, attempt=self.attempt, full_id="",
                                  status="pending", created_at=now)
        head = dotted(prefix) + "." if prefix else ""  # ids inside a call: "<call id>.<id>"
        for node_id, node in graph.nodes.items():
            fid = prefix + (node_id,)
            self.seq += 1
            self.records[fid] = _replace(pending, {
                "full_id": head + node_id, "kind": node.kind, "title": node.title,
                "needs": rows.JsonMap(
                    {head + dep: how for dep, how in node.needs.items()} if head else node.needs
                ),
                "matrix_group": head + node.matrix_group if node.matrix_group else None,
                "seq": self.seq,
            })
            self.dirty.add(fid)
            if level.waiting[node_id] == 0:
                level.ready.append(node_id)
        if not graph.nodes and owner is not None:
            self._finish_level(level)

    def _update(self, fid: FullID, **changes: Any) -> None:
        self.records[fid] = _replace(self.records[fid], changes)
        self.dirty.add(fid)

    def _mark_started(self, level: Level, node: GraphNode, fid: FullID, *, status: str,
                      changes: dict[str, Any] | None = None) -> None:
        level.started.add(node.id)
        level.running += 1
        if node.matrix_group is not None:
            level.group_running[node.matrix_group] += 1
        changes = changes if changes is not None else {}
        changes["status"] = status
        changes["started_at"] = time.time()
        self._update(fid, **changes)
        self.echo(f"Task {dotted(fid)} is {status}")
        for child, how in level.dependents.get(node.id, ()):
            if how == "running":
                self._satisfy(level, child)

    def _satisfy(self, level: Level, node_id: str) -> None:
        level.waiting[node_id] -= 1
        if level.waiting[node_id] == 0 and node_id not in level.results:
            level.ready.append(node_id)

    def _finish_process(self, fid: FullID, info: ExitInfo, has_output: bool = True,
                        output_from: int = 0, pid: int | None = None) -> None:
        """Record the end of a task's process (``pid``, when its record has not got it yet),
        with the outputs its output (from byte ``output_from`` of its log: the last run's)
        sets."""
        level = self.levels[fid[:-1]]
        record = self.records[fid]
        outputs: dict[str, str] = {}
        state: dict[str, str] = {}
        extra: dict[str, Any] = {"exit_code": info.exit_code}
        if pid is not None and record.pid != pid:
            extra["pid"] = pid
        if record.log_path and has_output:
            try:
                path = Path(record.log_path)
                if path.stat().st_size:
                    text = path.read_bytes()[output_from:]
                    parsed = process_output(text.decode("utf-8", errors="replace"))
                    outputs, state = parsed.outputs, parsed.state
                    if parsed.notebook:
                        extra["notebook"] = parsed.notebook
            except OSError:
                pass
        reason = info.reason
        if info.ok:
            status = "succeeded"
        elif fid in self.killed:
            status = "cancelled"
            reason = self.fail_fast_reason or reason
        else:
            status = "failed"
        if fid[-1] in level.results:  # finished already: only its exit code is new
            self._update(fid, exit_code=info.exit_code)
        self._finish(level, fid[-1], status, outputs=outputs, state=state, reason=reason,
                     ran=True, extra=extra)
        spec = self._cache_policy.pop(fid, None)
        if status == "succeeded" and spec is not None and spec.cache.strategy == "default":
            self.cache_puts.append((dotted(fid), spec.caching_key, self.records[fid]))

    def _finish(
        self, level: Level, node_id: str, status: str, *, outputs: Mapping[str, str] | None = None,
        state: Mapping[str, str] | None = None, reason: str = "", ran: bool = False,
        finished_at: float | None = None, extra: Mapping[str, Any] | None = None,
    ) -> None:
        if node_id in level.results:
            return
        fid = level.prefix + (node_id,)
        if self._restarts:  # its restarts end with it
            self._restarts.pop(fid, None)
        node = level.graph.nodes[node_id]
        was_started = node_id in level.started
        if was_started:
            level.running -= 1
            if node.matrix_group is not None:
                level.group_running[node.matrix_group] -= 1
        changes: dict[str, Any] = dict(extra) if extra else {}  # e.g. the exit code: one copy
        changes["status"] = status
        changes["finished_at"] = finished_at or time.time()
        if outputs is not None:
            changes["outputs"] = dict(outputs)
        if state is not None:
            changes["state"] = dict(state)
        if reason:
            changes["reason"] = reason
        self._update(fid, **changes)
        self.echo(f"Task {dotted(fid)} is {status}" + (f" ({reason})" if reason else ""))
        level.results[node_id] = DepResult(status, dict(outputs or {}), dict(state or {}))
        for child, how in level.dependents.get(node_id, ()):
            if how == "completed" or not was_started:
                self._satisfy(level, child)
        if (ran or was_started) and status in ("failed", "cancelled") and node.fail_fast:
            if not self.cancelling:
                self.echo(f"Task {dotted(fid)} {status}: cancelling the unfinished tasks")
                self.fail_fast_reason = f"fail_fast: {dotted(fid)} {status}"
            self._start_cancelling()
        if level.done and level.owner is not None:
            self._finish_level(level)

    def _finish_level(self, level: Level) -> None:
        assert level.owner is not None
        parent = self.levels[level.owner[:-1]]
        try:
            outputs = level.graph.outputs(level.results)
            status = accumulate(r.result for r in level.results.values())
        except NeuroJupyterError as exc:
            self._finish(parent, level.owner[-1], "failed", reason=str(exc), ran=True)
            return
        self._finish(parent, level.owner[-1], status, outputs=outputs, ran=True)

    def _start_cancelling(self) -> None:
        if self.cancelling:
            return
        self.cancelling = True
        for successor in list(self._successor_of.values()):  # what started is killed when
            self._withdraw(successor)  # its predecessor is reaped (``_started``)
        for level in self.levels.values():
            level.enabled.clear()
        for fid in list(self.running):
            level = self.levels[fid[:-1]]
            if not level.graph.runs_on_cancel(fid[-1]):
                self._kill(fid)
        self._end_restarts(everything=False)
        for fids in self.env_waiting.values():  # not started: cancelled, except always() ones
            for fid in list(fids):
                level = self.levels[fid[:-1]]
                if not level.graph.runs_on_cancel(fid[-1]):
                    fids.remove(fid)
                    self._finish(level, fid[-1], "cancelled",
                                 reason=self.fail_fast_reason or "cancelled")
        # a build that no task waits for any more does not hold the attempt
        self.env_waiting = {key: fids for key, fids in self.env_waiting.items() if fids}

    def _kill(self, fid: FullID) -> None:
        execution = self.running.get(fid)
        if execution is None or fid in self.killed:
            return
        self.killed.add(fid)
        execution.kill(grace=KILL_GRACE)
        self._reap(fid)

    def _kill_all(self) -> None:
        for fid in list(self.running):
            self._kill(fid)
        self._end_restarts(everything=True)

    # --- the store -------------------------------------------------------------------------

    def _flush(self, force: bool = True) -> None:
        """Write the changes of the last rounds in one transaction, at most every
        FLUSH_INTERVAL while tasks run (short tasks finish many per interval).

        When the store refuses the write (a full disk, a damaged or replaced file), the
        changes stay in memory and are written with later ones, after the pause of
        ``self.backoff``; the bake goes on."""
        if not force and time.monotonic() - self.last_flush < FLUSH_INTERVAL:
            return
        if self.backoff.due and self.backoff.wait_left():
            return
        self.last_flush = time.monotonic()
        self.flush_echo()
        now = time.time()
        for fid, execution in self.running.items():
            record = self.records[fid]
            if record.pid is None and (pid := getattr(execution, "pid", None)):
                self._update(fid, pid=pid)  # spawned by a launcher thread since its start
                record = self.records[fid]
            if record.pid and not record.pid_start and now - (record.started_at or now) > 0.5:
                self._update(fid, pid_start=getattr(execution, "pid_start", ""))
        if not self.dirty and not self.cache_puts:
            return
        later = {fid for fid, execution in self.running.items()
                 if fid in self.dirty and getattr(execution, "spawning", False)}
        # a task a launcher thread has not spawned yet is written with its pid, next time
        dirty: set[FullID] | list[FullID] = self.dirty - later
        self.dirty = later
        if len(dirty) > FLUSH_CHUNK and self.running:  # the first write holds every task:
            # in file order, a part per round, so that the running tasks' successors are
            # given between the parts instead of their slots waiting for the whole write
            ordered = sorted(dirty, key=lambda fid: self.records[fid].seq)
            dirty = ordered[:FLUSH_CHUNK]
            self.dirty.update(ordered[FLUSH_CHUNK:])
            self.last_flush = 0.0  # the next part is due at once
        changed = [self.records[fid] for fid in dirty]
        puts, self.cache_puts = self.cache_puts, []
        try:
            with self.store.tx():
                rows.put_tasks(self.store, changed)
                rows.put_cache_many(self.store, self.bake.project_pk, self.bake.batch, [
                    (key, caching_key, record.raw_id, record.outputs, record.state)
                    for key, caching_key, record in puts
                ])
        except StoreError as exc:
            self.dirty.update(dirty)
            self.cache_puts[:0] = puts
            if not self.backoff.failures:
                self.echo(f"Cannot record the tasks' states now, trying again: {exc}")
            self.backoff.failed(exc)
            return
        if self.backoff.failures:
            self.echo("The tasks' states are recorded again")
            self.backoff.succeeded()

    def _settle(self) -> None:
        """Write every change, however long the store refuses them (the attempt's result
        must never be recorded before its tasks)."""
        self._flush()
        while self.dirty or self.cache_puts:
            time.sleep(self.backoff.wait_left() or FLUSH_INTERVAL)
            self._flush()


def _copy_log(source: Path, target: Path, *, header: str) -> None:
    """Write ``header`` and the log ``source`` (a failed environment build's) into a task's log."""
    try:
        text = source.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as log:
        log.write(f"neuro-jupyter: {header}\n{text}")


def _replace(record: rows.TaskRecord, changes: Mapping[str, Any]) -> rows.TaskRecord:
    """``dataclasses.replace`` without its per-field work (4 per task, 1000s of tasks)."""
    if not changes.keys() <= _RECORD_FIELDS:
        raise TypeError(f"unknown TaskRecord fields: {sorted(set(changes) - _RECORD_FIELDS)}")
    new = object.__new__(rows.TaskRecord)
    new.__dict__.update(record.__dict__)
    new.__dict__.update(changes)
    return new


_RECORD_FIELDS = frozenset(f.name for f in dataclasses.fields(rows.TaskRecord))


def _sleep(timeout: float) -> list[Any]:
    time.sleep(timeout)
    return []


class Readable:
    """Descriptors to wait on, each with its data: ``select.epoll`` itself where there is one
    (a selector's own bookkeeping costs as much per short task as the epoll calls), else a
    ``selectors`` selector. Any event counts as readable (a pidfd at exit, a pipe's data or end)."""

    def __init__(self) -> None:
        self._data: dict[int, tuple[FullID | None, bool]] = {}
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        self._selector = None if self._epoll is not None else selectors.DefaultSelector()

    def __bool__(self) -> bool:
        return bool(self._data)

    def close(self) -> None:
        """Close the epoll (or selector); nothing is waited on after this."""
        self._data.clear()
        if self._epoll is not None:
            self._epoll.close()
        elif self._selector is not None:
            self._selector.close()

    def register(self, fd: int, data: tuple[FullID | None, bool]) -> None:
        if self._epoll is not None:
            self._epoll.register(fd, select.EPOLLIN)
        else:
            assert self._selector is not None
            self._selector.register(fd, selectors.EVENT_READ)
        self._data[fd] = data

    def unregister(self, fd: int) -> None:
        del self._data[fd]
        if self._epoll is not None:
            try:
                self._epoll.unregister(fd)
            except OSError:  # closed already (as ``selectors`` does, ignored)
                pass
        else:
            assert self._selector is not None
            self._selector.unregister(fd)

    def select(self, timeout: float) -> list[tuple[int, tuple[FullID | None, bool]]]:
        """The ready descriptors with their data, after at most ``timeout`` seconds."""
        data = self._data
        if self._epoll is not None:
            return [(fd, data[fd]) for fd, _ in self._epoll.poll(timeout)]
        assert self._selector is not None
        return [(key.fd, data[key.fd]) for key, _ in self._selector.select(timeout)]


def _note_preset(preset: str | None, log_path: Path) -> None:
    """A cluster preset that presets.yml lacks: the task's first log line says how it was
    mapped (as a live job's does)."""
    if not preset:
        return
    from ..presets import choose_preset

    note = choose_preset(preset).note
    if note:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"neuro-jupyter: {note}\n")
