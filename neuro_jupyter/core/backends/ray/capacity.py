"""Whether a Ray cluster can ever start a job's entrypoint: a request no node can meet (a
cluster preset mapped to a GPU, on a cluster without GPUs) would stay pending for ever, and a
pending job cannot even be stopped. Such a request is refused before it is submitted, naming
what was asked and what the cluster has. A cluster that may add nodes (an autoscaler) or
whose nodes are not known yet is trusted."""

from __future__ import annotations

import time
from typing import Any

from ...errors import BackendError
from .client import RayUnreachableError, call

CACHE_FOR = 30.0  # seconds a cluster's nodes are taken as known (a bake submits many tasks)
_SEEN: dict[str, tuple[float, list[dict[str, float]], bool]] = {}

# Ray's names of the entrypoint's resources -> the nodes' resource names, and how to say them
_NEEDS = (("entrypoint_num_gpus", "GPU", "GPU"), ("entrypoint_num_cpus", "CPU", "CPU"),
          ("entrypoint_memory", "memory", "memory"))


class ClusterTooSmallError(BackendError):
    """No node of the cluster has the resources a job asks for."""


def check_fits(address: str, what: str, asked: dict[str, Any]) -> None:
    """Raise ``ClusterTooSmallError`` when no node of the cluster at ``address`` has what
    ``asked`` (``submit_job``'s entrypoint resources) requests."""
    if not asked:
        return
    nodes, scaling = _nodes(address)
    if scaling or not nodes:
        return
    for node in nodes:
        if all(float(asked.get(key) or 0) <= float(node.get(name) or 0) for key, name, _ in _NEEDS):
            return
    largest = max(nodes, key=lambda node: (node.get("GPU") or 0, node.get("CPU") or 0))
    raise ClusterTooSmallError(
        f"Cannot {what}: it asks the Ray cluster at {address} for {_say(asked, keys=True)}, "
        f"and none of its {len(nodes)} node{'s' if len(nodes) > 1 else ''} has that (the "
        f"largest: {_say(largest, keys=False)}), so it would wait for ever. Give it a preset "
        "the cluster can run (.neuro/presets.yml maps preset names to CPUs, memory and GPUs), "
        "or add such a node to the cluster")


def _nodes(address: str) -> tuple[list[dict[str, float]], bool]:
    now = time.monotonic()
    seen = _SEEN.get(address)
    if seen is not None and now < seen[0]:
        return seen[1], seen[2]
    try:
        nodes, scaling = call(address, "list the cluster's nodes", "cluster_nodes")
    except RayUnreachableError:
        raise
    except BackendError:  # a Ray without this API, or that refuses it: trust the cluster
        nodes, scaling = [], False
    if nodes:  # none yet (a head that has just started): asked again next time
        _SEEN[address] = (now + CACHE_FOR, nodes, scaling)
    return nodes, scaling


def _say(resources: dict[str, Any], *, keys: bool) -> str:
    """``1 GPU, 4 CPU, 32.0 GiB of memory``."""
    parts = []
    for key, name, word in _NEEDS:
        value = float(resources.get(key if keys else name) or 0)
        if word == "memory":
            parts.append(f"{value / (1 << 30):.1f} GiB of memory")
        elif value or word == "GPU":
            parts.append(f"{value:g} {word}")
    return ", ".join(parts)
