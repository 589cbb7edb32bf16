"""Plain-text views of bakes: the progress lines the CLI prints while it follows a bake."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from neuro_jupyter.core.bake.render import (
    progress_line,
    progress_lines,
    show_header,
    show_task,
    show_text,
)
from neuro_jupyter.core.errors import UnknownNameError
from neuro_jupyter.core.store.bakes import TaskRecord


def task(full_id: str, status: str, **kw: object) -> TaskRecord:
    return TaskRecord("bake-1", 1, full_id, status, **kw)  # type: ignore[arg-type]


def test_each_status_reads_as_english_with_neuro_flows_words() -> None:
    assert progress_line(task("prep", "running", raw_id="job-1")) == "Task prep [job-1] is running"
    assert progress_line(task("prep", "succeeded", raw_id="job-1", outputs={"n": "5"})) == (
        "Task prep [job-1] succeeded\n  n: 5"
    )
    assert progress_line(task("fit", "failed", raw_id="job-2", reason="exit code 4")) == (
        "Task fit [job-2] failed (exit code 4)"
    )
    assert progress_line(task("nap", "cancelled", raw_id="job-3")) == "Task nap [job-3] was cancelled"
    # a reason that only repeats the status is not printed twice
    assert progress_line(task("nap", "cancelled", raw_id="job-3", reason="cancelled")) == (
        "Task nap [job-3] was cancelled"
    )
    assert progress_line(task("after", "skipped")) == "Task after was skipped"
    assert progress_line(task("prep", "cached", raw_id="job-0")) == "Task prep [job-0] is cached"


def test_only_changes_are_printed_in_the_order_they_happened() -> None:
    seen: dict[str, str] = {}
    first = [task("a", "running", raw_id="job-a", started_at=1.0), task("b", "pending")]
    assert progress_lines(first, seen) == ["Task a [job-a] is running"]
    assert progress_lines(first, seen) == []
    # an action call and the task inside it finish at once: the inner task comes first
    later = [
        task("call", "failed", kind="action", finished_at=5.0),
        task("b", "succeeded", raw_id="job-b", finished_at=4.0),
        task("call.inner", "failed", raw_id="job-i", reason="exit code 2", finished_at=5.0),
        task("a", "running", raw_id="job-a", started_at=1.0),
    ]
    assert progress_lines(later, seen) == [
        "Task b [job-b] succeeded",
        "Task call.inner [job-i] failed (exit code 2)",
        "Task call failed",
    ]


def test_show_of_an_action_call_names_its_tasks() -> None:
    tasks = [task("outer", "failed", kind="action"), task("outer.inner", "failed"),
             task("outer.innerish.x", "failed"), task("last", "skipped")]
    state: Any = SimpleNamespace(attempt=SimpleNamespace(number=1, result="failed"), tasks=tasks)
    assert show_header(state, tasks[0]) == (
        "Attempt #1 failed\nTask outer failed\n"
        "It is an action call with no log of its own; its tasks: outer.inner"
    )
    assert show_header(state, tasks[3]) == "Attempt #1 failed\nTask last skipped"


def test_every_front_end_gets_the_same_header_note_and_log(tmp_path: Path) -> None:
    """``show_task`` is what the CLI, the magics, the widget and the REST API show of a task:
    a call names its tasks (it has no log), a task's log follows its header."""
    log = tmp_path / "inner.log"
    log.write_text("::set-output name=n::1\ninner ran\n")
    tasks = [task("outer", "failed", kind="module"),
             task("outer.inner", "failed", reason="exit code 2", log_path=str(log))]
    state: Any = SimpleNamespace(attempt=SimpleNamespace(number=2, result="failed"), tasks=tasks,
                                 bake=SimpleNamespace(bake_id="bake-1"))
    call = show_task(state, "outer")
    assert call.header == (
        "Attempt #2 failed\nTask outer failed\n"
        "It is a module call with no log of its own; its tasks: outer.inner"
    )
    assert call.log == ""
    inner = show_task(state, "outer.inner")
    assert inner.header == "Attempt #2 failed\nTask outer.inner failed (exit code 2)"
    assert inner.log == "inner ran\n"
    assert show_text(state, "outer.inner") == inner.text == f"{inner.header}\ninner ran\n"
    assert show_task(state, "outer.inner", raw=True).log.startswith("::set-output name=n::1\n")
    note, _, tail = show_task(state, "outer.inner", limit=4).log.partition("\n")
    assert tail == "ran\n" and note.startswith("[the beginning of this 33-byte log is not shown")
    with pytest.raises(UnknownNameError, match="outer.inner"):
        show_task(state, "nope")
