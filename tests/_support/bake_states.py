"""Views of a bake's state that several bake test modules assert on."""

from __future__ import annotations

from typing import Any


def tasks_by_id(state: Any) -> dict[str, Any]:
    """The attempt's task records by dotted id."""
    return {task.full_id: task for task in state.tasks}


def statuses(state: Any) -> dict[str, str]:
    """The attempt's task statuses by dotted id."""
    return {task.full_id: task.status for task in state.tasks}
