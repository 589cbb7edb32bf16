"""The batch-graph contract the bake orchestrator drives (§2): one level of a bake at a time.

A bake is a tree of graphs: the top level holds tasks, action calls and module calls; an
action or module call expands into a nested ``BatchGraph`` once it is ready to run (its args
may use ``needs``). Matrix instances are expanded statically at each level (matrix values may
use ``params`` but not ``needs``), so ``nodes`` is complete before anything runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .model import DepResult, FullID, NeedLevel, TaskSpec


@dataclass(frozen=True)
class GraphNode:
    """A node of one level: a task, or a call that expands into a subgraph."""

    id: str  # local id at this level (matrix instances have their own ids)
    kind: Literal["task", "action", "module", "local", "stateful"]
    needs: Mapping[str, NeedLevel] = field(default_factory=dict)  # local ids at this level
    max_parallel: int = 10  # the node's strategy (matrix) limit, shared by its matrix siblings
    fail_fast: bool = True
    matrix_group: str | None = None  # the original task id/ordinal for matrix siblings
    matrix: Mapping[str, object] = field(default_factory=dict)
    title: str = ""


class BatchGraph(ABC):
    """One level of a bake's graph (top level, or the inside of an action/module call)."""

    prefix: FullID  # () at top level, ("act",) inside action call "act"
    nodes: Mapping[str, GraphNode]  # in file order
    max_parallel: int  # this level's limit (flow defaults at top; the call's strategy inside)
    fail_fast: bool

    @abstractmethod
    def is_enabled(self, node_id: str, needs: Mapping[str, DepResult], cancelling: bool) -> bool:
        """Evaluate ``enable`` (default ``success()``) against the results of the node's needs.

        While ``cancelling``, only nodes whose enable uses ``always()`` run.
        """

    @abstractmethod
    def runs_on_cancel(self, node_id: str) -> bool:
        """Whether the node's ``enable`` calls ``always()`` (it still runs during cancel)."""

    @abstractmethod
    def task(self, node_id: str, needs: Mapping[str, DepResult]) -> TaskSpec:
        """Evaluate a ``task`` (or ``local``) node into a runnable spec, with its caching key."""

    @abstractmethod
    def subgraph(self, node_id: str, needs: Mapping[str, DepResult]) -> BatchGraph:
        """Expand an ``action``/``module``/``stateful`` call into the graph of its inside."""

    @abstractmethod
    def outputs(self, results: Mapping[str, DepResult]) -> dict[str, str]:
        """This level's outputs (an action's ``outputs``) from its nodes' results; {} at top."""


@dataclass(frozen=True)
class BatchPlan:
    """A loaded, checked batch workflow ready to bake."""

    batch: str  # the batch name (file stem)
    flow_id: str
    title: str
    params: Mapping[str, str]  # resolved params (defaults filled in)
    config_files: Mapping[str, str]  # workspace-relative path -> text of every file read
    root: BatchGraph
    life_span: float | None = None
    images: Mapping[str, Mapping[str, object]] = field(default_factory=dict)  # images.<id>
