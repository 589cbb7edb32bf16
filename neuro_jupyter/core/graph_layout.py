"""A layered left-to-right layout of a bake's graph in pure Python (no Graphviz needed).

Layers are longest paths from the sources; the order inside a layer comes from a few
barycenter sweeps. Linear-ish in nodes + edges, so 1000 tasks lay out in milliseconds.
Matrix instances can be collapsed into one node per matrix group (with a count).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .graph import CALL_KINDS, statuses_summary

if TYPE_CHECKING:
    from .store.bakes import TaskRecord

NODE_W = 150
NODE_H = 26
GAP_X = 50
GAP_Y = 10
MARGIN = 10
SWEEPS = 4
MAX_ROWS = 40  # nodes per column before a layer wraps


@dataclass(frozen=True)
class NodeIn:
    """What the layout needs to know about a node."""

    id: str
    label: str
    needs: Sequence[str] = ()
    group: str | None = None  # matrix group (dotted), for collapsing
    kind: str = "task"


def task_nodes(tasks: Iterable[TaskRecord]) -> list[NodeIn]:
    """The layout's nodes for an attempt's task records (labelled by their local id)."""
    return [
        NodeIn(t.full_id, t.full_id.rpartition(".")[2], tuple(t.needs), t.matrix_group, t.kind)
        for t in tasks
    ]


@dataclass
class Layout:
    """Positions for drawing: node i at (x[i], y[i]); edges as index pairs."""

    ids: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)  # >1 for a collapsed matrix group
    members: list[list[str]] = field(default_factory=list)  # node ids behind each drawn node
    x: list[int] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)
    width: int = 0
    height: int = 0

    def statuses(self, status_of: Mapping[str, str]) -> list[str]:
        """The status of each drawn node (a collapsed group shows a summary)."""
        return [
            status_of.get(m[0], "unknown") if len(m) == 1
            else statuses_summary(status_of.get(i, "unknown") for i in m)
            for m in self.members
        ]

    def to_json(self) -> dict[str, object]:
        """Compact data for the widget: one list per attribute."""
        return {
            "ids": self.ids, "labels": self.labels, "counts": self.counts, "x": self.x,
            "y": self.y, "edges": [i for pair in self.edges for i in pair],
            "width": self.width, "height": self.height, "node_w": NODE_W, "node_h": NODE_H,
        }


def layout(nodes: Sequence[NodeIn], *, collapse: bool = False) -> Layout:
    """Lay out the graph; with ``collapse``, each matrix group becomes one node."""
    # 1. what is drawn: nodes (or groups), each with the members it stands for
    drawn_of: dict[str, str] = {}
    order: list[str] = []
    members: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for node in nodes:
        key = node.group if collapse and node.group else node.id
        drawn_of[node.id] = key
        if key not in members:
            members[key] = []
            order.append(key)
            labels[key] = node.group.rpartition(".")[2] if key == node.group else node.label
        members[key].append(node.id)
    if collapse:  # a group is labelled by what its members' ids share ("train_0_1" → "train")
        for key, names in members.items():
            if len(names) > 1:
                locals_ = [name.rpartition(".")[2] for name in names]
                shared = os.path.commonprefix(locals_).rstrip("_-.")
                labels[key] = shared or labels[key]
    # 2. edges between drawn nodes; a call's inner sources hang off the call node, and what
    #    needs a call comes after the call's last inner tasks (as the DOT's cluster edges)
    index = {key: i for i, key in enumerate(order)}
    known = set(drawn_of)
    kind_of = {node.id: node.kind for node in nodes}
    exits = _call_exits(nodes, known, kind_of)
    edge_set: set[tuple[int, int]] = set()
    for node in nodes:
        target = index[drawn_of[node.id]]
        deps = [d for d in node.needs if d in known]
        parent = node.id.rpartition(".")[0]
        if not deps and parent and kind_of.get(parent) in CALL_KINDS and parent in known:
            deps = [parent]
        else:
            deps = [e for d in deps for e in exits.get(d, (d,))]
        for dep in deps:
            source = index[drawn_of[dep]]
            if source != target:
                edge_set.add((source, target))
    edges = sorted(edge_set)
    count = len(order)
    preds: list[list[int]] = [[] for _ in range(count)]
    succs: list[list[int]] = [[] for _ in range(count)]
    for a, b in edges:
        preds[b].append(a)
        succs[a].append(b)
    # 3. layers: longest path from the sources (Kahn's order; cycles are broken by file order)
    layer = [0] * count
    indegree = [len(p) for p in preds]
    queue = [i for i in range(count) if indegree[i] == 0]
    seen = 0
    head = 0
    while head < len(queue):
        i = queue[head]
        head += 1
        seen += 1
        for j in succs[i]:
            layer[j] = max(layer[j], layer[i] + 1)
            indegree[j] -= 1
            if indegree[j] == 0:
                queue.append(j)
    if seen < count:  # pragma: no cover - the workflow checks refuse cycles
        for i in range(count):
            if indegree[i] > 0:
                queue.append(i)
    columns: dict[int, list[int]] = {}
    for i in range(count):
        columns.setdefault(layer[i], []).append(i)
    # 4. order inside layers: barycenter sweeps, left to right then right to left
    pos = [0.0] * count
    for column in columns.values():
        for rank, i in enumerate(column):
            pos[i] = float(rank)
    depth = max(columns) + 1 if columns else 0
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        for c in range(1, depth) if forward else range(depth - 2, -1, -1):
            column = columns.get(c, [])
            near = preds if forward else succs

            bary = {
                i: sum(pos[j] for j in near[i]) / len(near[i]) if near[i] else pos[i]
                for i in column
            }
            column.sort(key=bary.__getitem__)
            for rank, i in enumerate(column):
                pos[i] = float(rank)
    # 5. coordinates
    result = Layout(
        ids=order, labels=[labels[k] for k in order], counts=[len(members[k]) for k in order],
        members=[members[k] for k in order], x=[0] * count, y=[0] * count, edges=edges,
    )
    # a layer taller than MAX_ROWS wraps into several sub-columns (1000 independent tasks
    # would otherwise make one column 36 000 px tall)
    tallest = min(MAX_ROWS, max((len(col) for col in columns.values()), default=0))
    x_col = 0
    for c in range(depth):
        column = columns.get(c, [])
        subs = max(1, -(-len(column) // MAX_ROWS))
        for rank, i in enumerate(column):
            sub, row = divmod(rank, MAX_ROWS)
            in_sub = min(MAX_ROWS, len(column) - sub * MAX_ROWS)
            offset = (tallest - in_sub) * (NODE_H + GAP_Y) // 2
            result.x[i] = MARGIN + (x_col + sub) * (NODE_W + GAP_X)
            result.y[i] = MARGIN + offset + row * (NODE_H + GAP_Y)
        x_col += subs
    result.width = MARGIN * 2 + max(x_col, 1) * (NODE_W + GAP_X) - GAP_X
    result.height = MARGIN * 2 + max(tallest, 1) * (NODE_H + GAP_Y) - GAP_Y
    return result


def _call_exits(
    nodes: Sequence[NodeIn], known: set[str], kind_of: Mapping[str, str]
) -> dict[str, list[str]]:
    """For each action/module call with inner nodes: the inner nodes nothing inside the call
    needs (its last tasks), calls among them replaced by their own last tasks."""
    children: dict[str, list[NodeIn]] = {}
    for node in nodes:
        parent = node.id.rpartition(".")[0]
        if parent and parent in known and kind_of.get(parent) in CALL_KINDS:
            children.setdefault(parent, []).append(node)
    exits: dict[str, list[str]] = {}

    def resolve(call: str) -> list[str]:
        if call not in exits:
            inner = children[call]
            needed = {dep for child in inner for dep in child.needs}
            last = [child.id for child in inner if child.id not in needed]
            exits[call] = [e for c in last for e in (resolve(c) if c in children else [c])]
        return exits[call]

    for call in children:
        resolve(call)
    return exits
