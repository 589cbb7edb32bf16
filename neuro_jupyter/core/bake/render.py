"""Plain-text views of bakes as neuro-flow prints them (§4.1), shared by every front end."""

from __future__ import annotations

import math
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from ..backends.target import BackendTarget
from ..graph import CALL_KINDS
from ..store.bakes import BakeRecord, TaskRecord
from ..tables import humanize, text_table
from .api import BakeState, find_task, read_task_log

BAKES_COLUMNS = ("ID", "NAME", "BATCH", "EXECUTOR", "STATUS", "WHEN")
TASKS_COLUMNS = ("ID", "STATUS", "RAW ID", "STARTED", "FINISHED")


def when(stamp: float | None) -> str:
    """A moment as a date and time, or N/A."""
    if stamp is None:
        return "N/A"
    return _second(int(stamp))


@lru_cache(maxsize=4096)
def _second(second: int) -> str:
    """A second's text, made once (a 10,000-task table has few distinct ones)."""
    return datetime.fromtimestamp(second).strftime("%Y-%m-%d %H:%M:%S")


def bakes_text(bakes: Sequence[BakeRecord]) -> str:
    """The ``bakes`` table: ID NAME BATCH EXECUTOR STATUS WHEN."""
    now = time.time()
    rows = []
    for bake in bakes:
        att = bake.last_attempt
        rows.append([
            bake.bake_id, bake.name or "", bake.batch, (att.executor_id if att else "") or "N/A",
            att.result if att else "malformed", humanize(att.created_at if att else None, now),
        ])
    return text_table(BAKES_COLUMNS, rows)


def task_rows(tasks: Sequence[TaskRecord]) -> list[list[str]]:
    """Rows of the tasks table."""
    return [
        [t.full_id, t.status, t.raw_id or "N/A", when(t.started_at), when(t.finished_at)]
        for t in tasks
    ]


def inspect_text(state: BakeState) -> str:
    """``inspect``: the bake id, the attempt and its executor, then the tasks table."""
    att = state.attempt
    lines = [f"Bake id: {state.bake.bake_id}"]
    if state.bake.name:
        lines.append(f"Bake name: {state.bake.name}")
    lines.append(f"Attempt #{att.number} {att.result}" + (f": {att.reason}" if att.reason else ""))
    lines.append(f"Executor {att.executor_id or 'N/A'} {state.executor_status}")
    if state.bake.backend != "local":
        lines.append(f"Tasks run on: {BackendTarget.parse(state.bake.backend).label}")
    lines.append("Tasks:")
    lines.append(text_table(TASKS_COLUMNS, task_rows(state.tasks)))
    return "\n".join(lines)


def reason_note(task: TaskRecord) -> str:
    """`` (reason)`` after a task's status, when the reason says more than the status."""
    return f" ({task.reason})" if task.reason and task.reason != task.status else ""


def show_header(state: BakeState, task: TaskRecord) -> str:
    """The two lines ``show`` prints before a task's log."""
    head = (f"Attempt #{state.attempt.number} {state.attempt.result}\n"
            f"Task {task.full_id} {task.status}{reason_note(task)}")
    inner = [t.full_id for t in state.tasks if t.full_id.rpartition(".")[0] == task.full_id]
    if task.kind in CALL_KINDS and inner:
        article = "an" if task.kind[0] in "aeiou" else "a"
        head += (f"\nIt is {article} {task.kind} call with no log of its own; "
                 f"its tasks: {', '.join(inner)}")
    if task.notebook:
        head += f"\n{notebook_note(state, task)}"
    return head


def notebook_note(state: BakeState, task: TaskRecord) -> str:
    """The line that names the executed notebook a task wrote (``nbrun``)."""
    from ..notebooks.links import task_notebook

    if state.root is None:
        return f"Executed notebook: {task.notebook}"
    found = task_notebook(state.root, task)
    if found is None:
        return f"Executed notebook: {task.notebook} (outside the project: not shown)"
    missing = "" if found.exists else " (not in the project on this machine)"
    return f"Executed notebook: {found.path}{missing}"


@dataclass(frozen=True)
class TaskShow:
    """What every front end shows of a task: the header lines (with the note that names an
    action or module call's tasks, which has no log of its own) and the task's log."""

    header: str
    log: str

    @property
    def text(self) -> str:
        """The header lines, then the log: what ``show`` prints."""
        return f"{self.header}\n{self.log}"


def show_task(
    state: BakeState, task_id: str, *, raw: bool = False, limit: int | None = None
) -> TaskShow:
    """A task's header and log (the last ``limit`` characters if given); the error of an
    unknown id lists the valid ones."""
    task = find_task(state, task_id)
    return TaskShow(show_header(state, task), read_task_log(task, raw=raw, limit=limit))


def show_text(state: BakeState, task_id: str, *, raw: bool = False) -> str:
    """What ``show`` prints: the header lines, then the task's log."""
    return show_task(state, task_id, raw=raw).text


STATUS_PHRASES = {
    "pending": "is pending", "running": "is running", "succeeded": "succeeded",
    "failed": "failed", "cancelled": "was cancelled", "skipped": "was skipped",
    "cached": "is cached",
}
"""How a progress line words each status: neuro-flow's words, read as English."""


def progress_line(task: TaskRecord) -> str:
    """One progress line, as neuro-flow prints it: ``Task ID [RAW ID] succeeded``, a
    reason in brackets, then the task's outputs indented below."""
    raw = f" [{task.raw_id}]" if task.raw_id else ""
    phrase = STATUS_PHRASES.get(task.status, f"is {task.status}")
    outputs = "".join(f"\n  {k}: {v}" for k, v in task.outputs.items())
    return f"Task {task.full_id}{raw} {phrase}{reason_note(task)}{outputs}"


def progress_lines(tasks: Sequence[TaskRecord], seen: MutableMapping[str, str]) -> list[str]:
    """The progress lines of the tasks whose status changed since ``seen`` (updated in place),
    in the order things happened; a finished action call after the tasks inside it."""
    changed = [t for t in tasks if seen.get(t.full_id) != t.status]
    for task in tasks:
        seen[task.full_id] = task.status

    def order(task: TaskRecord) -> tuple[float, int]:
        stamp = task.finished_at or task.started_at
        return (math.inf if stamp is None else stamp, -task.full_id.count("."))

    return [progress_line(t) for t in sorted(changed, key=order) if t.status != "pending"]
