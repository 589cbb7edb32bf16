"""A bake attempt's graph as plain data for the browser's graph component (graph.json).

The browser lays the graph out (dagre, in a web worker) and draws it; this module says what
there is to draw, once for every front end (the REST route, the notebook widget):

- ``structure``: the tasks (ids, kinds, titles), the edges between them, and the groups that
  can be collapsed into one node (matrix groups, action/module calls) with readable labels.
  It changes only when tasks are added (an action call's inner tasks appear when it starts),
  so its ``key`` tells the browser when to lay the graph out again.
- ``tasks``: each task's state, column by column (status, times, exit code, ...), sent on
  every refresh; the browser recolours nodes in place from it.

Columns rather than one object per task keep a 10,000-task answer small; a browser that has
the structure is not sent it again (``known_key``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .graph import CALL_KINDS

if TYPE_CHECKING:
    from .bake.api import BakeState
    from .store.bakes import AttemptRecord, TaskRecord

_SEPARATORS = "_-."

NotebookOf = Callable[["TaskRecord"], "Mapping[str, Any] | None"]


def graph_data(
    state: BakeState, attempts: Sequence[AttemptRecord] = (), *,
    notebook_of: NotebookOf | None = None, known_key: str = "", structure: bool = True,
) -> dict[str, Any]:
    """Everything the graph view shows of an attempt: the bake, the attempt, the other
    attempts, the graph's structure (unless ``structure`` is False: a caller that keeps it)
    and its tasks' state.

    A browser that already has the structure says so with its key (``known_key``): while the
    key is the same, the structure is answered as ``{"key"}`` alone (half of a 10,000-task
    answer, which a view polls every few seconds)."""
    bake, att = state.bake, state.attempt
    shape: dict[str, Any] | None = None
    if structure:
        shape = graph_structure(state.tasks)
        if known_key and shape["key"] == known_key:
            shape = {"key": known_key}
    data = {
        "bake": {
            "bake_id": bake.bake_id, "name": bake.name, "batch": bake.batch,
            "project_pk": bake.project_pk,
        },
        "attempt": attempt_data(att),
        "attempts": [attempt_data(a) for a in attempts] or [attempt_data(att)],
        "structure": shape,
        "tasks": task_columns(state.tasks, notebook_of),
    }
    if not structure:
        del data["structure"]
    return data


def attempt_data(att: AttemptRecord) -> dict[str, Any]:
    """An attempt as the graph view shows it."""
    return {"number": att.number, "result": att.result, "reason": att.reason,
            "finished_at": att.finished_at}


def task_columns(
    tasks: Sequence[TaskRecord], notebook_of: NotebookOf | None = None
) -> dict[str, list[Any]]:
    """The tasks' state, one list per field, in the order of ``structure["ids"]``.

    ``notebook`` is present when a task wrote an executed notebook: ``null`` or
    ``{"path", "lab_url", "html_url"}`` per task (see the brief's shared contract)."""
    columns: dict[str, list[Any]] = {
        "status": [t.status for t in tasks],
        "raw_id": [t.raw_id for t in tasks],
        "exit_code": [t.exit_code for t in tasks],
        "reason": [t.reason for t in tasks],
        "started_at": [t.started_at for t in tasks],
        "finished_at": [t.finished_at for t in tasks],
    }
    if notebook_of is not None:
        notebooks = [notebook_of(t) for t in tasks]
        if any(notebooks):
            columns["notebook"] = [dict(n) if n else None for n in notebooks]
    return columns


def changed_tasks(
    before: Mapping[str, Sequence[Any]], after: Mapping[str, Sequence[Any]]
) -> list[int] | None:
    """The indexes of the tasks whose state differs between two ``task_columns``, or None
    when they do not line up (other columns or another number of tasks): then only the
    whole state will do."""
    if before.keys() != after.keys():
        return None
    columns = [(before[name], after[name]) for name in after]
    if any(len(old) != len(new) for old, new in columns):
        return None
    return [i for i in range(len(after["status"])) if any(old[i] != new[i] for old, new in columns)]


def graph_structure(tasks: Sequence[TaskRecord]) -> dict[str, Any]:
    """Ids, kinds, titles, edges (flat index pairs, from a need to the task that needs it) and
    collapsible groups of an attempt's tasks, with a ``key`` that changes with any of them.

    A call's inner tasks that need nothing hang off the call's node, and what needs a call
    comes after the call's last inner tasks (as in the DOT export's clusters)."""
    ids = [t.full_id for t in tasks]
    index = {fid: i for i, fid in enumerate(ids)}
    kinds = [t.kind for t in tasks]
    children: dict[int, list[int]] = {}
    for i, fid in enumerate(ids):
        parent = index.get(fid.rpartition(".")[0])
        if parent is not None and kinds[parent] in CALL_KINDS:
            children.setdefault(parent, []).append(i)
    exits = _call_exits(tasks, index, children)
    edges: list[int] = []
    seen: set[tuple[int, int]] = set()
    for i, task in enumerate(tasks):
        deps = [index[d] for d in task.needs if d in index]
        parent = index.get(task.full_id.rpartition(".")[0])
        if not deps and parent is not None and parent in children:
            deps = [parent]
        else:
            deps = [e for d in deps for e in exits.get(d, (d,))]
        for dep in deps:
            if dep != i and (dep, i) not in seen:
                seen.add((dep, i))
                edges += (dep, i)
    groups = _groups(tasks, index, children)
    structure: dict[str, Any] = {
        "ids": ids,
        "kinds": kinds,
        "titles": [t.title for t in tasks],
        "edges": edges,
        "groups": groups,
    }
    digest = hashlib.sha1(json.dumps(structure, separators=(",", ":")).encode()).hexdigest()
    structure["key"] = digest[:16]
    return structure


def _call_exits(
    tasks: Sequence[TaskRecord], index: Mapping[str, int], children: Mapping[int, list[int]]
) -> dict[int, list[int]]:
    """For each call with inner tasks: the inner tasks nothing inside the call needs (its last
    tasks), calls among them replaced by their own last tasks."""
    exits: dict[int, list[int]] = {}

    def resolve(call: int) -> list[int]:
        if call not in exits:
            inner = children[call]
            needed = {index[d] for c in inner for d in tasks[c].needs if d in index}
            last = [c for c in inner if c not in needed]
            exits[call] = [e for c in last for e in (resolve(c) if c in children else [c])]
        return exits[call]

    for call in children:
        resolve(call)
    return exits


def _groups(
    tasks: Sequence[TaskRecord], index: Mapping[str, int], children: Mapping[int, list[int]]
) -> list[dict[str, Any]]:
    """Collapsible groups, each ``{"id", "kind", "label", "members", "parent"}``: action and
    module calls (the call's node and everything inside it) and matrix groups of two or more
    tasks. ``parent`` is the index of the enclosing group (a matrix inside a call), or -1;
    a group comes after its parent."""
    def with_inner(nodes: Sequence[int]) -> list[int]:
        """The nodes and, for calls among them, everything inside the calls."""
        out: list[int] = []
        stack = list(nodes)
        while stack:
            i = stack.pop()
            out.append(i)
            stack += children.get(i, ())
        return sorted(out)

    found: list[tuple[str, str, list[int], list[int]]] = []  # (id, kind, members, heads)
    for call in children:
        found.append((tasks[call].full_id, tasks[call].kind, with_inner([call]), [call]))
    matrices: dict[str, list[int]] = {}
    for i, task in enumerate(tasks):
        if task.matrix_group:
            matrices.setdefault(task.matrix_group, []).append(i)
    for group, heads in matrices.items():
        if len(heads) > 1:
            found.append((group, "matrix", with_inner(heads), heads))
    # outer groups first; groups nest (calls in calls, matrices in calls, calls in a matrix),
    # so a group's parent is the innermost group seen so far that holds its first member
    found.sort(key=lambda g: -len(g[2]))
    groups: list[dict[str, Any]] = []
    owner = [-1] * len(tasks)
    for gid, kind, members, heads in found:
        label = group_label(gid, kind, [tasks[i] for i in heads], len(members))
        groups.append({"id": gid, "kind": kind, "label": label, "members": members,
                       "parent": owner[members[0]]})
        for i in members:
            owner[i] = len(groups) - 1
    return groups


def group_label(group_id: str, kind: str, heads: Sequence[TaskRecord], size: int) -> str:
    """A collapsed group's label: ``train (matrix, 2)``, ``deploy (action, 3 tasks)``
    (``heads``: the matrix's tasks or the call; ``size``: the nodes the group holds).

    A matrix group's name is what its tasks' ids share (``train_0``, ``train_1`` → ``train``);
    Neu.ro's auto ids (``task-2-a``) share ``task-2``, which is what the workflow calls them."""
    local = group_id.rpartition(".")[2]
    if kind == "matrix":
        names = [m.full_id.rpartition(".")[2] for m in heads]
        shared = os.path.commonprefix(names)
        if shared[-1:] not in tuple(_SEPARATORS) and any(
            len(n) > len(shared) and n[len(shared)] not in _SEPARATORS for n in names
        ):  # the ids differ inside a word ("fit_200", "fit_299"): keep whole words ("fit")
            shared = shared[:max(shared.rfind(c) for c in _SEPARATORS) + 1]
        shared = shared.rstrip(_SEPARATORS)
        return f"{shared or local} (matrix, {len(heads)})"
    inner = size - 1
    return f"{local} ({kind}, {inner} task{'s' if inner != 1 else ''})"
